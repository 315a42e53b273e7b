"""Report test data: families with a journey on given dates, closed families with follow-ups, and
paid spend (through the budget services, so the ledger is real)."""

from __future__ import annotations

from datetime import date, timedelta

from tests import factories
from velferdslab.budget import services as budget
from velferdslab.cases.enrolment.models import Enrolment
from velferdslab.core.models import today_local
from velferdslab.extensions import db
from velferdslab.reports import services as report_services

KR = 100


def day(offset: int) -> date:
    """A date relative to today (negative: in the past)."""
    return today_local() + timedelta(days=offset)


def journey(lab, points: list[tuple[int, int]], *, started: int, closed: int | None = None,
            reason: str = "goals_reached", themes: dict[str, list[int]] | None = None,
            follow_ups: dict[str, int] | None = None, status: str | None = None, name: str | None = None):
    """A family whose enrolment started ``started`` days from today, with team assessments at
    (days after the start, overall level). ``themes`` gives extra theme levels per point;
    ``follow_ups`` maps follow_up_6/follow_up_12 to the level found then."""
    start = day(started)
    fam = factories.family(lab, name=name, referred_on=start - timedelta(days=14), started_on=start,
                           status=status or "active")
    enrolment = factories.current_enrolment(fam)
    if closed is not None:
        enrolment.status, enrolment.closed_on, enrolment.close_reason = "closed", day(closed), reason
        db.session.flush()
    for index, (after, level) in enumerate(points):
        levels = {"bolig": level}
        for theme, theme_levels in (themes or {}).items():
            levels[theme] = theme_levels[index]
        factories.assessment(fam, levels, assessed_on=start + timedelta(days=after), overall=level,
                             kind="intake" if index == 0 else "regular")
    for kind, level in (follow_ups or {}).items():
        months = 6 if kind == "follow_up_6" else 12
        factories.assessment(fam, {"bolig": level}, assessed_on=enrolment.closed_on + timedelta(days=31 * months),
                             overall=level, kind=kind)
    return fam


def referred(lab, *, referred: int):
    fam = factories.family(lab, status="referred", referred_on=day(referred))
    return fam


def paid_spend(lab, fam, agency, amount: int, *, theme: str = "bolig", category: str = "deposit"):
    """A spend paid today out of ``agency``'s money, requested and approved by the family's team."""
    factories.consent(fam, agency)
    lead = factories.user(lab, roles=("team_lead",), agency=agency)
    member = factories.user(lab, roles=("caseworker",), agency=agency)
    factories.team_member(fam, lead, role="lead")
    factories.team_member(fam, member)
    goal = factories.goal(fam, theme=theme)
    year = today_local().year
    budget.delegate(lab, agency_id=agency.id, year=year, amount=amount, decision_reference="2026/1",
                    decided_on=date(year, 1, 2), actor=None)
    budget.allocate(lab, family_id=fam.id, agency_id=agency.id, year=year, amount=amount, actor=None)
    spend = budget.create_spend(fam.id, member, {
        "amount": amount, "payee": "Leverandør AS", "purpose": "Innkjøp", "category": category, "theme": theme,
        "goal_id": goal.id, "expected_effect": "Bedre hverdag", "level_from": 1, "level_to": 3,
        "wanted_on": today_local()}, submit=True)
    budget.approve_spend(spend.id, lead)
    budget.pay_spend(spend.id, lead, paid_on=today_local(), reference="Bilag 1")
    return spend


def restrict(fam) -> None:
    from velferdslab.core.models import utcnow

    fam.restricted_at = utcnow()
    db.session.flush()


def enrolment_of(fam) -> Enrolment:
    return factories.current_enrolment(fam)


COSTS_KR = {1: 1_000_000, 2: 500_000, 3: 150_000, 4: 25_000}


def assumption_set(lab, agency, **overrides):
    """A set whose whole cost per level sits with ``agency``."""
    data = {"name": overrides.pop("name", "Test"),
            "costs": [{"level": level, "agency_id": agency.id, "yearly_cost": kr * KR}
                      for level, kr in COSTS_KR.items()],
            **overrides}
    return report_services.create_set(lab, data, actor=None)
