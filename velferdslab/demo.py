"""The demo lab: an Asker-like welfare lab with agencies and staff in every role.

The generator is a list of steps over one shared context, so later domains add their own step
(families and journeys, budgets, …) with :func:`step`. A fixed seed makes every run the same; the
``size`` parameter scales it up for benchmarks (``size=1`` is one realistic lab).
"""

from __future__ import annotations

import random

from sqlalchemy import func, select

from velferdslab.auth import services as auth
from velferdslab.auth.models import Agency, Lab, User
from velferdslab.auth.passwords import DEMO_PASSWORD
from velferdslab.core.demo import FIRST_NAMES, LAST_NAMES, STEPS, DemoContext, step
from velferdslab.extensions import db

DEMO_DOMAIN = "demo.velferdslab.no"

AGENCIES = [
    ("NAV Asker", "nav"),
    ("Barnevernstjenesten", "barnevern"),
    ("Bolig og eiendom", "bolig"),
    ("Skole og PPT", "skole"),
    ("Helse og psykisk helse", "helse"),
    ("Rus og avhengighet", "rus"),
    ("Økonomisk rådgivning", "okonomi"),
]

# (local part, name, roles, agency kind or None). The first of each role is the printed login.
NAMED_STAFF = [
    ("admin", "Astrid Admin", {"admin"}, None),
    ("leder", "Lena Lableder", {"manager"}, None),
    ("okonomisjef", "Per Økonomisjef", {"manager"}, "okonomi"),
    ("investeringsleder", "Ivar Investeringsleder", {"team_lead"}, "nav"),
    ("teammedlem", "Tina Teammedlem", {"caseworker"}, "barnevern"),
]
ROLE_LOGIN_ORDER = ("caseworker", "team_lead", "manager", "admin")


def is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(Lab))


def load(seed: int = 2026, size: int = 1) -> DemoContext:
    """Build the demo installation. ``size`` labs; the first is the Asker-like demo lab."""
    _register_domain_steps()
    ctx = DemoContext(rng=random.Random(seed), size=size)
    for _order, run_step in STEPS:
        run_step(ctx)
        db.session.flush()
    return ctx


def _register_domain_steps() -> None:
    """Import the modules that add demo steps, so a CLI run sees every domain."""
    import importlib

    for module in ("velferdslab.cases.demo", "velferdslab.budget.demo", "velferdslab.reports.demo",
                   "velferdslab.audit.demo"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name != module:
                raise


def _email(local: str, lab: Lab) -> str:
    return f"{local}@{lab.slug}.{DEMO_DOMAIN}"


@step(10)
def labs_and_staff(ctx: DemoContext) -> None:
    for index in range(ctx.size):
        if index == 0:
            lab = auth.create_lab(slug="asker", name="Asker velferdslab", municipality="Asker kommune")
        else:
            lab = auth.create_lab(slug=f"lab{index:03d}", name=f"Velferdslab {index:03d}",
                                  municipality=f"Kommune {index:03d}")
        ctx.labs.append(lab)
        agencies = [auth.create_agency(lab, name=name, kind=kind) for name, kind in AGENCIES]
        ctx.agencies[lab.id] = agencies
        by_kind = {a.kind: a for a in agencies}
        password_hash = auth.hash_password(DEMO_PASSWORD)
        staff: list[User] = []
        for local, name, roles, kind in NAMED_STAFF:
            home = by_kind.get(kind) if kind is not None else None
            staff.append(_user(lab, _email(local, lab), name, roles, home, password_hash))
        # About 25 staff per lab: 4 team leads and caseworkers spread over the agencies.
        used = {u.name for u in staff}
        for n in range(20):
            name = _unique_name(ctx.rng, used)
            role = {"team_lead"} if n < 3 else {"caseworker"}
            agency = agencies[n % len(agencies)]
            local = name.lower().replace(" ", ".").replace("ø", "o").replace("å", "a").replace("æ", "ae")
            staff.append(_user(lab, _email(local, lab), name, role, agency, password_hash))
        ctx.staff[lab.id] = staff
        if index == 0:
            for login_role in ROLE_LOGIN_ORDER:
                ctx.logins[login_role] = next(u.email for u in staff if login_role in u.roles)


def _unique_name(rng: random.Random, used: set[str]) -> str:
    while True:
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        if name not in used:
            used.add(name)
            return name


def _user(lab: Lab, email: str, name: str, roles: set[str], agency: Agency | None, password_hash: str) -> User:
    # Hashing ~25 passwords with argon2 costs seconds; the demo shares one hash of the one password.
    user = User(lab=lab, name=name, email=email, password_hash=password_hash,
                agency_id=agency.id if agency else None, active=True)
    user.set_roles(roles)
    db.session.add(user)
    db.session.flush()
    return user


def logins_text(lab_slug: str = "asker") -> str:
    """The printed demo logins: one per role, from the database, with the shared password."""
    from velferdslab.core.permissions import Role

    lab = db.session.scalar(select(Lab).where(Lab.slug == lab_slug))
    if lab is None:
        return "Ingen demodata er lastet."
    lines = [f"Demo-innlogginger for {lab.name} (passord for alle: {DEMO_PASSWORD}):"]
    users = db.session.scalars(select(User).where(User.lab_id == lab.id, User.active.is_(True))
                               .order_by(User.id)).all()
    for role in ROLE_LOGIN_ORDER:
        user = next((u for u in users if role in u.roles), None)
        if user:
            lines.append(f"  {Role(role).label:<18} {user.email}")
    return "\n".join(lines)
