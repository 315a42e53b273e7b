"""Test data. Factories flush; the test's transaction is rolled back afterwards."""

from __future__ import annotations

import itertools
import re

from velferdslab.auth.models import Agency, Lab, User
from velferdslab.auth.services import hash_password
from velferdslab.extensions import db

PASSWORD = "correct horse battery staple"
_PASSWORD_HASH = None
_counter = itertools.count(1)


def _password_hash(password: str) -> str:
    global _PASSWORD_HASH
    if password != PASSWORD:
        return hash_password(password)
    if _PASSWORD_HASH is None:
        _PASSWORD_HASH = hash_password(PASSWORD)
    return _PASSWORD_HASH


def lab(**kwargs) -> Lab:
    n = next(_counter)
    obj = Lab(slug=kwargs.pop("slug", f"lab{n}"), name=kwargs.pop("name", f"Testlab {n}"),
              municipality=kwargs.pop("municipality", f"Kommune {n}"), consent_age=kwargs.pop("consent_age", 15),
              **kwargs)
    db.session.add(obj)
    db.session.flush()
    return obj


def agency(lab: Lab, name: str | None = None, kind: str = "nav") -> Agency:
    obj = Agency(lab=lab, name=name or f"Etat {next(_counter)}", kind=kind, active=True)
    db.session.add(obj)
    db.session.flush()
    return obj


def user(lab: Lab, roles=("caseworker",), agency: Agency | None = None, password: str = PASSWORD,
         active: bool = True, name: str | None = None, email: str | None = None) -> User:
    n = next(_counter)
    obj = User(lab=lab, name=name or f"Bruker {n}", email=email or f"user{n}@test.example",
               password_hash=_password_hash(password), agency_id=agency.id if agency else None, active=active)
    obj.set_roles(set(roles))
    db.session.add(obj)
    db.session.flush()
    return obj


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


class SignedInClient:
    """A Flask test client that carries the CSRF token of its session on every write."""

    def __init__(self, client, csrf: str):
        self.client = client
        self.csrf = csrf

    def __getattr__(self, name):
        return getattr(self.client, name)

    def _write(self, method, url, **kwargs):
        headers = dict(kwargs.pop("headers", {}) or {})
        headers.setdefault("X-CSRFToken", self.csrf)
        return getattr(self.client, method)(url, headers=headers, **kwargs)

    def post(self, url, **kwargs):
        return self._write("post", url, **kwargs)

    def put(self, url, **kwargs):
        return self._write("put", url, **kwargs)

    def patch(self, url, **kwargs):
        return self._write("patch", url, **kwargs)

    def delete(self, url, **kwargs):
        return self._write("delete", url, **kwargs)


def login_client(client, email: str, password: str):
    page = client.get("/logg-inn")
    token = csrf_from(page.get_data(as_text=True))
    return client.post("/logg-inn", data={"email": email, "password": password, "csrf_token": token})


def signed_in_client(app, user: User, password: str = PASSWORD) -> SignedInClient:
    client = app.test_client()
    response = login_client(client, user.email, password)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    page = client.get("/konto/passord")
    return SignedInClient(client, csrf_from(page.get_data(as_text=True)))


# --- families, teams, journeys (model level; the cases services have their own tests) ----------

def family(lab: Lab, *, name: str | None = None, members=None, status: str = "active", started_on=None,
           referred_on=None, agency: Agency | None = None):
    """A family with an enrolment and an (empty) investment team. Returns the Family.

    ``members``: list of (first, last, birth_year, role); default two parents and a child.
    """
    from datetime import date, timedelta

    from velferdslab.cases.enrolment.models import Enrolment
    from velferdslab.cases.household.models import Family, FamilyMember
    from velferdslab.teams.models import InvestmentTeam

    n = next(_counter)
    fam = Family(lab_id=lab.id, household_name=name or f"Familien Test{n}", language="norsk")
    db.session.add(fam)
    db.session.flush()
    for first, last, year, role in members or [("Anne", f"Test{n}", 1985, "parent"),
                                               ("Per", f"Test{n}", 1983, "parent"),
                                               ("Lise", f"Test{n}", 2012, "child")]:
        db.session.add(FamilyMember(family_id=fam.id, first_name=first, last_name=last, birth_year=year,
                                    role=role))
    referred_on = referred_on or (date.today() - timedelta(days=400))
    started_on = started_on or (referred_on + timedelta(days=14) if status != "referred" else None)
    enrolment = Enrolment(family_id=fam.id, lab_id=lab.id, status=status, referred_on=referred_on,
                          referred_by_agency_id=agency.id if agency else None, started_on=started_on)
    db.session.add(enrolment)
    db.session.flush()
    db.session.add(InvestmentTeam(lab_id=lab.id, family_id=fam.id, enrolment_id=enrolment.id))
    db.session.flush()
    return fam


def current_enrolment(fam):
    from sqlalchemy import select

    from velferdslab.cases.enrolment.models import Enrolment

    return db.session.scalar(select(Enrolment).where(Enrolment.family_id == fam.id)
                             .order_by(Enrolment.referred_on.desc(), Enrolment.id.desc()).limit(1))


def team_member(fam, user: User, role: str = "member", start=None, end=None):
    """Put ``user`` on the family's current team (from ``start``, default a year ago)."""
    from datetime import date, timedelta

    from sqlalchemy import select

    from velferdslab.teams.models import InvestmentTeam, TeamMembership

    enrolment = current_enrolment(fam)
    team = db.session.scalar(select(InvestmentTeam).where(InvestmentTeam.enrolment_id == enrolment.id))
    row = TeamMembership(team_id=team.id, family_id=fam.id, user_id=user.id, agency_id=user.agency_id,
                         role=role, start_date=start or date.today() - timedelta(days=365), end_date=end)
    db.session.add(row)
    db.session.flush()
    return row


def consent(fam, agency: Agency, *, given_on=None, expires_on=None, withdrawn_on=None, purpose="team",
            subject=None, given_by=None, categories=None, method="migrated"):
    """A consent row as it stood before consent per person: for the household, covering every kind of
    information (``categories``: all), unless ``subject`` (a member), ``given_by`` or ``categories`` say otherwise."""
    from datetime import date, timedelta

    from velferdslab.cases.consent.models import CATEGORY_CODES, Consent, ConsentCategory
    from velferdslab.cases.household.models import FamilyMember

    adult = given_by or next(m for m in db.session.query(FamilyMember).filter_by(family_id=fam.id)
                             if m.role == "parent")
    row = Consent(family_id=fam.id, agency_id=agency.id, purpose=purpose, given_by_member_id=adult.id,
                  subject_member_id=subject.id if subject is not None else None,
                  given_on=given_on or date.today() - timedelta(days=300), expires_on=expires_on,
                  withdrawn_on=withdrawn_on, method=method)
    row.category_rows = [ConsentCategory(category=c) for c in (CATEGORY_CODES if categories is None else categories)]
    db.session.add(row)
    db.session.flush()
    return row


def assessment(fam, levels: dict[str, int], *, assessed_on=None, family_levels: dict[str, int] | None = None,
               overall: int | None = None, kind: str = "regular"):
    """A current journey assessment with team ratings (and family ratings if given)."""
    from datetime import date

    from velferdslab.cases.journey.models import JourneyAssessment, ThemeRating
    from velferdslab.cases.themes import suggest_overall_level

    enrolment = current_enrolment(fam)
    suggested = suggest_overall_level(list(levels.values()))
    overall = overall or suggested
    row = JourneyAssessment(family_id=fam.id, enrolment_id=enrolment.id, assessed_on=assessed_on or date.today(),
                            kind=kind, overall_level=overall, suggested_level=suggested,
                            override_reason=None if overall == suggested else "Teamets helhetsvurdering")
    db.session.add(row)
    db.session.flush()
    for theme, level in levels.items():
        db.session.add(ThemeRating(assessment_id=row.id, theme=theme, perspective="team", level=level))
    for theme, level in (family_levels or {}).items():
        db.session.add(ThemeRating(assessment_id=row.id, theme=theme, perspective="family", level=level))
    db.session.flush()
    return row


def goal(fam, theme: str = "bolig", text: str = "Få en fast bolig", horizon: str = "short"):
    from velferdslab.cases.plan.models import Goal

    row = Goal(family_id=fam.id, theme=theme, horizon=horizon, text=text, status="open")
    db.session.add(row)
    db.session.flush()
    return row
