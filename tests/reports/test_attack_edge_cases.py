"""The attacker (``tests/reports/attacker.py``) on the edge cases of issue 14's *Done when*: a lab
with families assessed only once, a reopened enrolment (re-referral), a corrected assessment,
restricted and erased families, and follow-ups late or missing. Each report alone must pin
nothing, and a report before and after one such event (a family restricted, erased, its assessment
corrected, a late follow-up recorded, an enrolment reopened) differenced together must pin nothing
either — the report as a manager reads it through the API, with the cell-key noise."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests import factories
from tests.reports import attacker
from tests.reports import factories as rf
from velferdslab.core.models import today_local, utcnow
from velferdslab.extensions import db
from velferdslab.reports import cellkey, outcome

pytestmark = pytest.mark.cell_key


@pytest.fixture
def edge_lab(lab):
    """Families of every edge case, 30 in all, with a few ordinary ones around them."""
    made: dict[str, object] = {}
    for index in range(8):  # ordinary: intake, a regular assessment, some closed with follow-ups
        closed = -250 if index % 2 else None
        rf.journey(lab, [(0, 1 + index % 2), (120, 3)], started=-500, closed=closed,
                   follow_ups={"follow_up_6": 3} if closed else None)
    for _ in range(4):  # one assessment only
        rf.journey(lab, [(0, 2)], started=-400)
    made["once"] = rf.journey(lab, [(0, 1)], started=-300)
    for _ in range(3):  # closed, follow-up missing
        rf.journey(lab, [(0, 1), (100, 3)], started=-600, closed=-400)
    for _ in range(3):  # closed, follow-up late: a "6-month" one made after 10 months
        fam = rf.journey(lab, [(0, 2), (100, 3)], started=-700, closed=-400)
        factories.assessment(fam, {"bolig": 2}, assessed_on=rf.day(-400) + timedelta(days=300), overall=2,
                             kind="follow_up_6")
    made["late"] = rf.journey(lab, [(0, 2), (100, 3)], started=-700, closed=-400)
    for _ in range(3):  # to be corrected
        rf.journey(lab, [(0, 1), (150, 2)], started=-400)
    made["corrected"] = rf.journey(lab, [(0, 1), (150, 2)], started=-400)
    made["reopened"] = rf.journey(lab, [(0, 1), (100, 2)], started=-500, closed=-300)
    made["restricted"] = rf.journey(lab, [(0, 1), (100, 4)], started=-450)
    made["erased"] = rf.journey(lab, [(0, 2), (100, 1)], started=-450, closed=-100, reason="withdrew")
    already = rf.journey(lab, [(0, 1), (100, 3)], started=-450)
    rf.restrict(already)
    gone = rf.journey(lab, [(0, 3), (100, 3)], started=-450, closed=-200)
    gone.erased_at = utcnow()
    db.session.flush()
    return lab, made


def _correct(fam) -> None:
    from sqlalchemy import select

    from velferdslab.cases.journey.models import JourneyAssessment, ThemeRating

    old = db.session.scalars(select(JourneyAssessment).where(JourneyAssessment.family_id == fam.id,
                                                             JourneyAssessment.is_current.is_(True))
                             .order_by(JourneyAssessment.assessed_on.desc())).first()
    old.is_current = False
    db.session.flush()
    new = JourneyAssessment(family_id=fam.id, enrolment_id=old.enrolment_id, assessed_on=old.assessed_on,
                            kind=old.kind, overall_level=4, suggested_level=4, supersedes_id=old.id,
                            correction_reason="Feil nivå registrert")
    db.session.add(new)
    db.session.flush()
    db.session.add(ThemeRating(assessment_id=new.id, theme="bolig", perspective="team", level=4))
    db.session.flush()


def _reopen(lab, fam) -> None:
    from velferdslab.cases.enrolment.models import Enrolment
    from velferdslab.teams.models import InvestmentTeam

    again = Enrolment(family_id=fam.id, lab_id=lab.id, status="active", referred_on=rf.day(-60),
                      started_on=rf.day(-50))
    db.session.add(again)
    db.session.flush()
    db.session.add(InvestmentTeam(lab_id=lab.id, enrolment_id=again.id, family_id=fam.id))
    db.session.flush()
    factories.assessment(fam, {"bolig": 2}, assessed_on=rf.day(-50), kind="intake")


def _late_follow_up(fam) -> None:
    factories.assessment(fam, {"bolig": 3}, assessed_on=rf.day(-400) + timedelta(days=300), overall=3,
                         kind="follow_up_6")


def _restrict(fam) -> None:
    rf.restrict(fam)


def _erase(fam) -> None:
    fam.erased_at = utcnow()
    db.session.flush()


def _second_assessment(fam) -> None:
    factories.assessment(fam, {"bolig": 3}, assessed_on=rf.day(-10), overall=3)


def _queries() -> list[str]:
    today = today_local()
    start = outcome.quarter_start(today - timedelta(days=900)).isoformat()
    return [f"start={start}", f"start={start}&cohort={today.year - 1}", f"start={start}&theme=bolig"]


def _bodies(client) -> list[dict]:
    return [client.get(f"/api/v1/reports/outcome?{query}").get_json() for query in _queries()]


def test_each_report_of_the_edge_cases_pins_nothing(edge_lab, login):
    lab, _ = edge_lab
    client = login(factories.user(lab, roles=("manager",)))
    bodies = _bodies(client)
    assert bodies[0]["families"]
    for query, body in zip(_queries(), bodies, strict=True):
        assert attacker.pinned(attacker.report_model(body)) == {}, query


def _exact_bodies(app, client) -> list[dict]:
    """The same reports without the noise: the test's truth, never the attacker's."""
    app.config["REPORT_CELL_KEY"] = False
    try:
        return _bodies(client)
    finally:
        app.config["REPORT_CELL_KEY"] = True


# Found by this test before the report published closed quarters only: a cell holding the same
# families publishes the same value in both of two readings, so a reader who read the live report
# just before and just after one event saw which cells changed — and so where the one family went
# (after its second assessment its level now, after a restriction its intake level, with other ids a
# reopened enrolment). The report is now a fixed release of the last published quarter, computed as
# recorded at its release instant (reports.releases): the event shows in no reading of it.
@pytest.mark.slow
@pytest.mark.parametrize("event", ["once", "late", "corrected", "reopened", "restricted", "erased"])
def test_a_report_before_and_after_an_edge_event_differenced_pins_nothing(app, edge_lab, login, event):
    lab, made = edge_lab
    client = login(factories.user(lab, roles=("manager",)))
    before, before_exact = _bodies(client), _exact_bodies(app, client)
    fam = made[event]
    {"once": _second_assessment, "late": _late_follow_up, "corrected": _correct, "restricted": _restrict,
     "erased": _erase}.get(event, lambda f: _reopen(lab, f))(fam)
    after, after_exact = _bodies(client), _exact_bodies(app, client)
    for query, one, two, one_exact, two_exact in zip(_queries(), before, after, before_exact, after_exact,
                                                     strict=True):
        if one["families"] and two["families"]:
            found = attacker.pinned(attacker.difference_model(one, two, k=1))
            # A pin from the bounded noise's alignment alone (docs/reports.md, *Limits*) is the
            # lesser, documented limit; any other pin is the leak above.
            alignment = attacker.aligned((one_exact, two_exact), (one, two), cellkey.NOISE)
            assert found == {} or alignment, (event, query, found)
