"""Issue 15, outcomes per person: young people in the configured age band at *stabil* or better on
the team's ratings about them, now and held at the follow-ups, with the report's suppression."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests import factories
from tests.reports import factories as rf
from velferdslab.cases.journey.models import ThemeRating
from velferdslab.core.models import today_local
from velferdslab.extensions import db
from velferdslab.reports import outcome, persons

YEAR = today_local().year


def _family(
    lab,
    age: int,
    about: list[dict[str, int]],
    *,
    own: int | None = None,
    closed: int | None = None,
    follow_up: int | None = None,
):
    """A family with a parent and a young person of ``age``; ``about`` is the team's ratings about the
    young person at each assessment (intake, then regular); ``own`` the young person's own view."""
    start = rf.day(-500)
    fam = factories.family(
        lab,
        referred_on=start - timedelta(days=10),
        started_on=start,
        members=[
            ("Mor", f"P{age}{len(about)}{id(about)}", 1980, "parent"),
            ("Ung", f"P{age}{len(about)}{id(about)}", YEAR - age, "young_person"),
        ],
    )
    young = next(m for m in fam.members if m.first_name == "Ung")
    enrolment = factories.current_enrolment(fam)
    if closed is not None:
        enrolment.status, enrolment.closed_on, enrolment.close_reason = "closed", rf.day(closed), "goals_reached"
    for index, levels in enumerate(about):
        row = factories.assessment(
            fam,
            {"bolig": 2},
            assessed_on=start + timedelta(days=100 * index),
            kind="intake" if index == 0 else "regular",
        )
        db.session.add_all(
            [
                ThemeRating(assessment_id=row.id, theme=t, perspective="team", level=lv, subject_member_id=young.id)
                for t, lv in levels.items()
            ]
        )
        if own is not None:
            db.session.add(
                ThemeRating(
                    assessment_id=row.id,
                    theme="skole",
                    perspective="member",
                    level=own,
                    given_by_member_id=young.id,
                    subject_member_id=young.id,
                )
            )
    if follow_up is not None:
        row = factories.assessment(
            fam, {"bolig": 2}, assessed_on=enrolment.closed_on + timedelta(days=186), kind="follow_up_6"
        )
        db.session.add(
            ThemeRating(
                assessment_id=row.id, theme="skole", perspective="team", level=follow_up, subject_member_id=young.id
            )
        )
    db.session.flush()
    return fam


@pytest.fixture
def young_people(lab):
    for _ in range(6):
        _family(lab, 18, [{"skole": 2}, {"skole": 3, "arbeid": 3}])
    for _ in range(5):  # the lowest about them is utsatt (their own view, bærekraftig, does not count)
        _family(lab, 19, [{"skole": 2}, {"skole": 3, "arbeid": 2}], own=4)
    _family(lab, 30, [{"skole": 3}])  # outside the age band
    _family(lab, 17, [])  # in the band, never rated about themselves
    _family(lab, 20, [{"skole": 2}, {"skole": 3}], closed=-200, follow_up=3)  # held it
    _family(lab, 21, [{"skole": 2}, {"skole": 3}], closed=-200, follow_up=2)  # did not
    _family(lab, 22, [{"skole": 2}, {"skole": 2}], closed=-200, follow_up=4)  # not stabil at closure
    return lab


def _filter(lab):
    today = today_local()
    start, end = outcome.reporting_period(rf.day(-300), today, today)
    return outcome.OutcomeFilter(lab_id=lab.id, start=start, end=end)


def test_young_people_are_counted_on_the_teams_ratings_about_them(young_people, app):
    data = persons.run(_filter(young_people), (16, 25))
    assert (data.people, data.rated, data.stable) == (15, 14, 8)
    assert data.follow_ups == {"follow_up_6": (2, 1)}
    # The band is configured: 16–19 leaves out the closed ones (20–22).
    narrow = persons.run(_filter(young_people), (16, 19))
    assert (narrow.people, narrow.rated, narrow.stable) == (12, 11, 6) and narrow.follow_ups == {}


def test_small_counts_are_suppressed_and_the_section_protected_together(young_people, app):
    report = persons.build(persons.run(_filter(young_people), (16, 25)), threshold=5)
    # 15 young people, 14 rated: the one never rated about themselves would be 15 − 14 = 1. The
    # section is one linked table (persons.linked_table), so the rated (and with it the rest of the
    # row) is hidden rather than let that one be worked out.
    assert (report.people.text, report.now.yes.text) == ("15", "8")
    assert report.now.total.hidden and report.now.no.hidden and report.now.share is None
    held = report.follow_ups[0]  # 2 rated, 1 held: fewer than five
    assert held.total.hidden and held.yes.hidden and held.no.hidden and held.share is None
    body = report.json()
    assert body["age_band"] == [16, 25] and body["young_people"] == 15
    assert body["now"]["label"] == "Nå (siste vurdering i perioden)" and body["now"]["stable"] == 8
    assert body["now"]["rated"] == "×" and body["now"]["share"] is None
    assert body["follow_ups"]["follow_up_6"]["rated"] == "<5"
    assert body["disclosure"] == {"cell_key": False, "noise": 0}
    # With a threshold of 1 nothing is hidden: the follow-up is 1 of 2 held.
    low = persons.build(persons.run(_filter(young_people), (16, 25)), threshold=1)
    assert (low.follow_ups[0].yes.text, low.follow_ups[0].total.text) == ("1", "2")
    assert (low.now.yes.text, low.now.no.text, low.now.total.text, low.now.share) == ("8", "6", "14", "57 %")


def test_person_keys_are_their_own_namespace(young_people, app):
    from sqlalchemy import literal, select

    from velferdslab.reports import cellkey

    assert cellkey.coefficients("person") != cellkey.coefficients("enrolment")
    enrolment, person = db.session.execute(
        select(cellkey.record_key(literal(7)), cellkey.record_key(literal(7), kind="person"))).one()
    assert enrolment != person
    data = persons.run(_filter(young_people), (16, 25))
    assert data.keys["people"] and data.keys["rated"] and data.keys["stable"]
    with pytest.raises(ValueError):
        cellkey.coefficients("spend")


def test_the_api_and_the_page_show_the_section(young_people, login):
    client = login(factories.user(young_people, roles=("manager",)))
    start = rf.day(-300).isoformat()
    body = client.get(f"/api/v1/reports/outcome/persons?start={start}").get_json()
    assert body["now"]["stable"] == 8 and body["age_band"] == [16, 25]
    page = client.get(f"/rapporter/resultater?start={start}").get_data(as_text=True)
    assert 'id="persons"' in page and "Unge 16–25 år" in page
    assert client.get("/api/v1/reports/outcome/persons?start=2026-13-01").status_code == 422


def test_only_management_reads_outcomes_per_person(young_people, login):
    client = login(factories.user(young_people, roles=("caseworker",)))
    assert client.get("/api/v1/reports/outcome/persons").status_code == 403
