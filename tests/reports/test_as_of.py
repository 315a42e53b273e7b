"""The outcome report as of a past day (issue 14): only what had been recorded by the end of that
day counts, so a report read then can be reproduced exactly after data was added or corrected."""

from __future__ import annotations

from dataclasses import fields, replace

from sqlalchemy import update

from tests import factories
from tests.reports import factories as rf
from velferdslab.cases.journey.models import JourneyAssessment, ThemeRating
from velferdslab.core.models import utcnow
from velferdslab.extensions import db
from velferdslab.reports import outcome
from velferdslab.reports.outcome import OutcomeFilter

KR = 100


def _same(a: outcome.OutcomeData, b: outcome.OutcomeData) -> bool:
    return all(getattr(a, f.name) == getattr(b, f.name) for f in fields(a) if f.name != "filter")


def _later_changes(lab_data) -> None:
    """Data added and corrected today, most of it dated before yesterday."""
    lab, groups = lab_data["lab"], lab_data["groups"]
    # A correction of an A family's latest assessment (now at uholdbar).
    old = db.session.scalars(JourneyAssessment.__table__.select()
                             .where(JourneyAssessment.family_id == groups["A"][0].id)
                             .order_by(JourneyAssessment.assessed_on.desc())).first()
    db.session.execute(update(JourneyAssessment).where(JourneyAssessment.id == old).values(is_current=False))
    row = db.session.get(JourneyAssessment, old)
    fix = JourneyAssessment(family_id=row.family_id, enrolment_id=row.enrolment_id, assessed_on=row.assessed_on,
                            kind=row.kind, version=2, supersedes_id=row.id, is_current=True, overall_level=1,
                            suggested_level=1, correction_reason="Feil nivå")
    db.session.add(fix)
    db.session.flush()
    db.session.add(ThemeRating(assessment_id=fix.id, theme="bolig", perspective="team", level=1))
    # A late entry: an assessment dated ten days ago, recorded today.
    factories.assessment(groups["B"][0], {"bolig": 4}, assessed_on=rf.day(-10), overall=4)
    # A closure backdated twenty days.
    enrolment = rf.enrolment_of(groups["D"][0])
    enrolment.status, enrolment.closed_on, enrolment.close_reason = "closed", rf.day(-20), "moved"
    enrolment.closed_at = utcnow()
    # A family registered today, referred and started weeks ago.
    rf.journey(lab, [(0, 1)], started=-50)
    # A payment recorded now.
    rf.paid_spend(lab, groups["B"][1], lab_data["x"], 3_000 * KR)
    db.session.flush()


def test_a_report_as_of_an_earlier_time_is_the_report_read_then(lab_data):
    lab = lab_data["lab"]
    today = rf.day(0)
    filters = [OutcomeFilter(lab_id=lab.id, start=rf.day(-700), end=today),
               OutcomeFilter(lab_id=lab.id, start=rf.day(-700), end=today, theme="bolig"),
               OutcomeFilter(lab_id=lab.id, start=rf.day(-700), end=today, agency_id=lab_data["x"].id),
               OutcomeFilter(lab_id=lab.id, start=rf.day(-700), end=today, cohort=rf.day(-400).year)]
    before = [outcome.run(f) for f in filters]
    read_at = utcnow()
    _later_changes(lab_data)
    now = [outcome.run(f) for f in filters]
    assert not _same(before[0], now[0])  # the changes do change today's reading
    assert (now[0].families, now[0].paid) == (before[0].families + 1, before[0].paid + 3_000 * KR)
    for f, first in zip(filters, before, strict=True):
        again = outcome.run(replace(f, as_of=read_at))
        assert _same(first, again), f


def test_as_of_today_is_the_report_as_recorded_now(lab_data):
    f = OutcomeFilter(lab_id=lab_data["lab"].id, start=rf.day(-700), end=rf.day(0))
    assert _same(outcome.run(f), outcome.run(replace(f, as_of=rf.day(0))))


def test_as_of_on_the_api_and_the_page(lab_data, login):
    client = login(factories.user(lab_data["lab"], roles=("manager",)))
    future = rf.day(1).isoformat()
    response = client.get(f"/api/v1/reports/outcome?as_of={future}")
    assert response.status_code == 422 and "as_of" in response.get_json()["errors"]
    yesterday = rf.day(-1)
    body = client.get(f"/api/v1/reports/outcome?as_of={yesterday.isoformat()}").get_json()
    assert body["filters"]["as_of"] == yesterday.isoformat()
    assert body["filters"]["end"] <= yesterday.isoformat()
    # the per-person section reads the assessments as recorded by then too
    assert client.get(f"/api/v1/reports/outcome/persons?as_of={yesterday.isoformat()}").status_code == 200
    page = client.get(f"/rapporter/resultater?as_of={yesterday.isoformat()}")
    assert page.status_code == 200
    assert "Slik tallene sto ved utgangen av" in page.get_data(as_text=True)
    assert client.get(f"/rapporter/resultater.csv?as_of={yesterday.isoformat()}").status_code == 200
    bad = client.get(f"/rapporter/resultater?as_of={future}")
    assert bad.status_code == 422 and "fram i tid" in bad.get_data(as_text=True)
