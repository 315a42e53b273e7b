"""The consent gate is in the queries: a gated member's page never selects case content."""

from datetime import timedelta

import pytest

from tests.cases.world import ratings
from velferdslab.cases.household.services import add_member
from velferdslab.cases.journey.services import create_assessment, set_theme_applicability
from velferdslab.cases.meetings.services import record_meeting
from velferdslab.cases.overview import queries
from velferdslab.cases.plan.services import create_action, create_goal
from velferdslab.core.errors import ForbiddenError


@pytest.fixture
def history(world):
    access = world.access(world.lead)
    record_meeting(access, actor=world.lead, held_on=world.today - timedelta(days=1),
                   attendee_user_ids=[world.gated.id], notes="Notat om helse", decisions="Vedtak",
                   assessment={"ratings": ratings()},
                   new_actions=[{"title": "Tiltak", "owner_is_family": True}])
    create_goal(access, actor=world.lead, theme="bolig", horizon="dream", text="Drøm")


def test_the_gated_page_model_holds_no_case_content(world, history):
    page = queries.family_page(world.access(world.gated))
    assert page.gated and page.history is None and page.goals == [] and page.open_actions == []
    assert page.meetings and page.meetings[0].staff[0].id == world.gated.id
    assert page.assessment_due == []


def test_no_statement_of_the_gated_page_reads_case_content(world, history, count_queries, db_session):
    access = world.access(world.gated)
    db_session.expire_all()
    with count_queries() as counter:
        queries.family_page(access)
    sql = "\n".join(counter.statements).lower()
    for forbidden in ("journey_assessment", "theme_rating", "goal.", "action.", "meeting.notes",
                      "meeting.decisions", "referral_reason"):
        assert forbidden not in sql, forbidden
    with count_queries() as counter:
        queries.family_page(world.access(world.member))
    sql = "\n".join(counter.statements).lower()
    assert "meeting.notes" in sql and "theme_rating" in sql  # the same page with consent does read them


@pytest.mark.parametrize("call", [
    lambda w, a: create_assessment(a, actor=w.gated, assessed_on=w.today, ratings=ratings()),
    lambda w, a: create_goal(a, actor=w.gated, theme="bolig", horizon="short", text="x"),
    lambda w, a: create_action(a, actor=w.gated, title="x", owner_is_family=True),
    lambda w, a: record_meeting(a, actor=w.gated, held_on=w.today),
    lambda w, a: add_member(a, actor=w.gated, first_name="A", last_name="B", birth_year=2000,
                            role="other"),
    lambda w, a: set_theme_applicability(a, "arbeid", False, actor=w.gated),
])
def test_gated_services_refuse(world, call):
    with pytest.raises(ForbiddenError):
        call(world, world.access(world.gated))


def test_my_families_shows_a_gated_family_without_levels(world, history):
    summaries = queries.my_families(world.gated)
    assert len(summaries) == 1 and summaries[0].access.gated
    assert summaries[0].level is None and summaries[0].overdue_actions == 0
    assert summaries[0].last_meeting_on == world.today - timedelta(days=1)
    lead = queries.my_families(world.lead)[0]
    assert lead.level == 2 and lead.open_actions == 1


def test_the_gated_html_page_says_why(world, history, login):
    page = login(world.gated).get(f"/familier/{world.family.id}").get_data(as_text=True)
    assert "Familien har ikke gitt gyldig samtykke til din etat." in page
    assert "Notat om helse" not in page and "Vedtak" not in page and "Drøm" not in page
    assert world.gated.name in page  # the meeting's attendee list is shown
