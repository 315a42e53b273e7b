"""Assumption sets for the benefit model: create, revise (a new version), retire, read.

Every change is a new row or a flag, never an edit of a version a report may have used; every
change writes an audit row. Services validate, change, audit and flush — the request commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction
from velferdslab.auth.models import Agency, Lab, User
from velferdslab.core.errors import ConflictError, ForbiddenError, ServiceError
from velferdslab.core.routing import MAX_ID
from velferdslab.core.text import short_text
from velferdslab.extensions import db
from velferdslab.reports.benefit import MAX_HORIZON, MAX_YEARLY_COST_ORE
from velferdslab.reports.models import BASIS_POINTS, RATE_FIELDS, AssumptionCost, AssumptionSet

DEFAULTS = {"deadweight": Fraction(1, 5), "drop_off": Fraction(1, 10), "discount_rate": Fraction(1, 25),
            "success_rate": Fraction(1, 2), "horizon_years": 5, "target_level": 3,
            "staff_cost_per_family_month": None, "source_note": None}
FIELDS = ("name", "source_note", *RATE_FIELDS, "horizon_years", "target_level", "staff_cost_per_family_month",
          "costs")


# --- reading ------------------------------------------------------------------------------------

def current_sets(lab_id: int, *, include_retired: bool = False) -> list[AssumptionSet]:
    query = select(AssumptionSet).where(AssumptionSet.lab_id == lab_id, AssumptionSet.is_current.is_(True))
    if not include_retired:
        query = query.where(AssumptionSet.retired.is_(False))
    return list(db.session.scalars(query.order_by(AssumptionSet.name, AssumptionSet.id)))


def get_set(lab_id: int, set_id: int) -> AssumptionSet | None:
    """Any version of a set in the lab (None for another lab's, or for an id no key can hold)."""
    if isinstance(set_id, bool) or not isinstance(set_id, int) or not 0 < set_id <= MAX_ID:
        return None
    row = db.session.get(AssumptionSet, set_id)
    return row if row is not None and row.lab_id == lab_id else None


def default_set(lab_id: int) -> AssumptionSet | None:
    """The set reports use unless told otherwise: the most recently changed set in use."""
    return db.session.scalar(select(AssumptionSet).where(
        AssumptionSet.lab_id == lab_id, AssumptionSet.is_current.is_(True), AssumptionSet.retired.is_(False))
        .order_by(AssumptionSet.created_at.desc(), AssumptionSet.id.desc()).limit(1))


def versions(row: AssumptionSet) -> list[AssumptionSet]:
    return list(db.session.scalars(select(AssumptionSet).where(AssumptionSet.series_id == row.series_id)
                                   .order_by(AssumptionSet.version.desc())))


# --- validation ---------------------------------------------------------------------------------

def to_basis_points(value, field: str) -> int:
    """A rate in [0, 1] with at most four decimals (0.04 → 400). Floats are refused by the schemas;
    here they would lose exactness, so only Decimal, Fraction, int and text are read."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ServiceError(_("Må være et tall mellom 0 og 1."), field)
    try:
        rate = Fraction(Decimal(value) if isinstance(value, str) else value)
    except (InvalidOperation, TypeError, ValueError):
        raise ServiceError(_("Må være et tall mellom 0 og 1."), field) from None
    if not 0 <= rate <= 1:
        raise ServiceError(_("Må være mellom 0 og 1."), field)
    points = rate * BASIS_POINTS
    if points.denominator != 1:
        raise ServiceError(_("Bruk høyst fire desimaler (hele hundredels prosent)."), field)
    return int(points)


def _whole(value, field: str, low: int, high: int, message: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ServiceError(message, field)
    return value


def _costs(lab_id: int, costs: Iterable[dict]) -> list[AssumptionCost]:
    agencies = {a.id for a in db.session.scalars(select(Agency).where(Agency.lab_id == lab_id))}
    rows, seen = [], set()
    for item in costs:
        level, agency_id, amount = item.get("level"), item.get("agency_id"), item.get("yearly_cost")
        _whole(level, "costs", 1, 4, _("Nivå må være 1–4."))
        if agency_id not in agencies:
            raise ServiceError(_("Ukjent etat."), "costs")
        _whole(amount, "costs", 0, MAX_YEARLY_COST_ORE, _("Kostnader må være beløp i øre, 0 eller mer."))
        if (level, agency_id) in seen:
            raise ServiceError(_("Samme nivå og etat er oppgitt to ganger."), "costs")
        seen.add((level, agency_id))
        rows.append(AssumptionCost(level=level, agency_id=agency_id, yearly_cost=amount))
    if not rows:
        raise ServiceError(_("Oppgi minst én kostnad."), "costs")
    return rows


def _clean(lab_id: int, data: dict) -> dict:
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise ServiceError(_("Ukjent felt."), sorted(unknown)[0])
    name = short_text(data.get("name") or "", "name")
    if not name or len(name) > 120:
        raise ServiceError(_("Navnet må ha 1–120 tegn."), "name")
    note = (data.get("source_note") or "").strip() or None
    if note is not None and len(note) > 1000:
        raise ServiceError(_("Kildenotatet kan ha høyst 1000 tegn."), "source_note")
    clean = {"name": name, "source_note": note,
             "horizon_years": _whole(data.get("horizon_years"), "horizon_years", 1, MAX_HORIZON,
                                     _("Horisonten må være et helt antall år fra 1 til %(max)s.", max=MAX_HORIZON)),
             "target_level": _whole(data.get("target_level"), "target_level", 2, 4,
                                    _("Målnivået må være utsatt, stabil eller bærekraftig.")),
             "costs": _costs(lab_id, data.get("costs") or [])}
    for rate in RATE_FIELDS:
        clean[f"{rate}_bp"] = to_basis_points(data.get(rate), rate)
    staff = data.get("staff_cost_per_family_month")
    clean["staff_cost_per_family_month"] = None if staff is None else _whole(
        staff, "staff_cost_per_family_month", 0, MAX_YEARLY_COST_ORE,
        _("Personalkostnaden må være et beløp i øre, 0 eller mer."))
    return clean


def as_input(row: AssumptionSet) -> dict:
    """A version as service input (to merge partial changes into)."""
    return {"name": row.name, "source_note": row.source_note, "horizon_years": row.horizon_years,
            "target_level": row.target_level, "staff_cost_per_family_month": row.staff_cost_per_family_month,
            **{rate: row.rate(rate) for rate in RATE_FIELDS},
            "costs": [{"level": c.level, "agency_id": c.agency_id, "yearly_cost": c.yearly_cost} for c in row.costs]}


# --- changing -----------------------------------------------------------------------------------

def _summary(row: AssumptionSet) -> dict:
    return {"series_id": row.series_id, "version": row.version}


def create_set(lab: Lab, data: dict, *, actor: User | None) -> AssumptionSet:
    """A new named set (version 1)."""
    clean = _clean(lab.id, {**DEFAULTS, **data})
    costs = clean.pop("costs")
    row = AssumptionSet(lab_id=lab.id, version=1, is_current=True, retired=False,
                        created_by_id=actor.id if actor else None, **clean)
    row.costs = costs
    db.session.add(row)
    db.session.flush()
    row.series_id = row.id
    db.session.flush()
    audit.record(AuditAction.REPORT_ASSUMPTIONS_CREATED, actor=actor, lab_id=lab.id, object_type="assumption_set",
                 object_id=row.id, summary=_summary(row))
    return row


def revise_set(row: AssumptionSet, changes: dict, *, actor: User, expected_version: int | None = None) -> AssumptionSet:
    """A new version with ``changes`` applied; the old version stays, no longer current.

    Two administrators revising the same version at once: one wins, the other gets 409 (the
    unique (series, version) key decides, whatever the timing).
    """
    if not row.is_current or row.retired:
        raise ConflictError(_("Dette er ikke gjeldende versjon. Last siden på nytt."), "version")
    if expected_version is not None and expected_version != row.version:
        raise ConflictError(_("Forutsetningene er endret av noen andre. Last siden på nytt."), "version")
    clean = _clean(row.lab_id, {**as_input(row), **changes})
    costs = clean.pop("costs")
    new = AssumptionSet(lab_id=row.lab_id, series_id=row.series_id, version=row.version + 1, supersedes_id=row.id,
                        is_current=True, retired=False, created_by_id=actor.id, **clean)
    new.costs = costs
    try:
        with db.session.begin_nested():
            row.is_current = False
            db.session.add(new)
    except IntegrityError:
        raise ConflictError(_("Forutsetningene er endret av noen andre. Last siden på nytt."), "version") from None
    audit.record(AuditAction.REPORT_ASSUMPTIONS_REVISED, actor=actor, lab_id=row.lab_id, object_type="assumption_set",
                 object_id=new.id, summary={**_summary(new), "supersedes_id": row.id})
    return new


def retire_set(row: AssumptionSet, *, actor: User) -> AssumptionSet:
    """Take a set out of use. Its versions stay, so reports that used it can still name it."""
    if not row.is_current:
        raise ConflictError(_("Dette er ikke gjeldende versjon. Last siden på nytt."), "version")
    if row.retired:
        raise ConflictError(_("Forutsetningene er allerede tatt ut av bruk."), "retired")
    row.retired = True
    db.session.flush()
    audit.record(AuditAction.REPORT_ASSUMPTIONS_RETIRED, actor=actor, lab_id=row.lab_id, object_type="assumption_set",
                 object_id=row.id, summary=_summary(row))
    return row


# --- labs of the report across labs (role ``region``) ----------------------------------------------
# One set of rules for the command line (``velferdslab report-access``, the operator: no actor) and
# the administrators' page (``reports.views.report_access``: the actor, for their own lab only).

def _may_manage(actor: User | None, lab: Lab) -> None:
    from velferdslab.core import policy
    from velferdslab.reports import policy as _rules  # noqa: F401 - registers the rule asked here

    if actor is not None and not policy.can(actor, "manage_report_access", lab):
        raise ForbiddenError(_("Bare laben selv kan bestemme hvem som leser resultatrapporten dens."), "lab")


def grant_lab_access(user: User, lab: Lab, *, actor: User | None = None) -> None:
    """Let a county or national user (role ``region``) read ``lab``'s outcome report, with their other
    labs, as one report (``reports.policy``). Audited; refused for a user without the role, and for
    an actor who is not the lab's administrator."""
    from velferdslab.core.permissions import Permission
    from velferdslab.reports.models import ReportLabAccess

    _may_manage(actor, lab)
    if not user.active:
        raise ServiceError(_("Brukeren er deaktivert."), "user")
    if not user.has_permission(Permission.REPORTS_ACROSS_LABS):
        raise ServiceError(_("Brukeren har ikke rollen «Fylke eller nasjonalt nivå» (region)."), "user")
    if db.session.get(ReportLabAccess, (user.id, lab.id)) is not None:
        raise ServiceError(_("Brukeren leser allerede rapporten for denne laben."), "lab")
    db.session.add(ReportLabAccess(user_id=user.id, lab_id=lab.id))
    db.session.flush()
    audit.record(AuditAction.REPORT_LAB_ACCESS_GRANT, actor=actor, lab_id=lab.id, object_type="user",
                 object_id=user.id, summary={"lab_id": lab.id, "user_lab_id": user.lab_id})


def revoke_lab_access(user: User, lab: Lab, *, actor: User | None = None) -> None:
    """Take ``lab`` out of the user's report across labs. Audited."""
    from velferdslab.reports.models import ReportLabAccess

    _may_manage(actor, lab)
    row = db.session.get(ReportLabAccess, (user.id, lab.id))
    if row is None:
        raise ServiceError(_("Brukeren leser ikke rapporten for denne laben."), "lab")
    db.session.delete(row)
    db.session.flush()
    audit.record(AuditAction.REPORT_LAB_ACCESS_REVOKE, actor=actor, lab_id=lab.id, object_type="user",
                 object_id=user.id, summary={"lab_id": lab.id, "user_lab_id": user.lab_id})


def lab_access(user: User) -> list[Lab]:
    """The labs assigned to ``user`` for the report across labs, by name."""
    from velferdslab.reports.models import ReportLabAccess

    return list(db.session.scalars(select(Lab).join(ReportLabAccess, ReportLabAccess.lab_id == Lab.id)
                                   .where(ReportLabAccess.user_id == user.id).order_by(Lab.name)))


def lab_readers(lab: Lab) -> list[tuple[User, list[Lab]]]:
    """The region users who read ``lab``'s outcome report, by name, each with every lab of their
    report (two statements)."""
    from velferdslab.reports.models import ReportLabAccess

    users = list(db.session.scalars(
        select(User).join(ReportLabAccess, ReportLabAccess.user_id == User.id)
        .where(ReportLabAccess.lab_id == lab.id).order_by(User.name, User.id)))
    labs: dict[int, list[Lab]] = {user.id: [] for user in users}
    if users:
        for user_id, each in db.session.execute(
                select(ReportLabAccess.user_id, Lab).join(Lab, Lab.id == ReportLabAccess.lab_id)
                .where(ReportLabAccess.user_id.in_(list(labs))).order_by(Lab.name)):
            labs[user_id].append(each)
    return [(user, labs[user.id]) for user in users]


def all_labs() -> list[Lab]:
    """Every lab, by name: the list an administrator names a region user's own lab from."""
    return list(db.session.scalars(select(Lab).order_by(Lab.name, Lab.id)))


def region_user(email: str, user_lab_id: int | None = None) -> User:
    """The county or national user (role ``region``) with this e-mail address, for an administrator
    to give their lab: only users with the role are looked for, so the answer says nothing of the
    addresses other labs' staff use. ``user_lab_id`` says which when several labs have one."""
    from velferdslab.auth.models import UserRole
    from velferdslab.auth.services import normalise_email
    from velferdslab.core.permissions import Role

    query = (select(User).join(UserRole, UserRole.user_id == User.id)
             .where(User.email == normalise_email(email), UserRole.role == Role.REGION.value))
    if user_lab_id:
        query = query.where(User.lab_id == user_lab_id)
    users = list(db.session.scalars(query.order_by(User.id)))
    if not users:
        raise ServiceError(_("Ingen bruker med rollen «Fylke eller nasjonalt nivå» har denne e-postadressen."),
                           "email")
    if len(users) > 1:
        raise ServiceError(_("Flere brukere med rollen «Fylke eller nasjonalt nivå» har denne e-postadressen: "
                             "velg brukerens lab."), "user_lab_id")
    return users[0]
