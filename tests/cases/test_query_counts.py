"""The family page and *Mine familier* cost a fixed number of SQL statements, whatever the history:
three years (36 assessments × 7 themes × 2 perspectives, 200 actions, 40 meetings) costs no more
than one month."""

from datetime import timedelta

import pytest

from tests import factories
from velferdslab.cases.household.models import FamilyMember
from velferdslab.cases.meetings.models import Meeting, MeetingAttendee
from velferdslab.cases.plan.models import Action, Goal
from velferdslab.cases.themes import THEMES
from velferdslab.extensions import db


def _family_with_history(world, *, months: int, actions: int, meetings: int, name: str):
    today = world.today
    family = factories.family(world.lab, name=name, agency=world.nav,
                              referred_on=today - timedelta(days=31 * months + 30),
                              started_on=today - timedelta(days=31 * months + 20))
    user = factories.user(world.lab, ("caseworker",), world.nav)
    factories.team_member(family, user, start=today - timedelta(days=31 * months + 25))
    factories.team_member(family, world.lead, "lead", start=today - timedelta(days=31 * months + 25))
    factories.consent(family, world.nav, given_on=today - timedelta(days=31 * months + 20))
    members = db.session.query(FamilyMember).filter_by(family_id=family.id).all()
    enrolment = factories.current_enrolment(family)
    for i in range(months):
        level = 1 + (i * 3 // max(months, 1)) % 4
        factories.assessment(family, {t.code: level for t in THEMES},
                             family_levels={t.code: max(1, level - (i % 2)) for t in THEMES},
                             assessed_on=today - timedelta(days=31 * (months - i)))
    for i in range(meetings):
        meeting = Meeting(family_id=family.id, enrolment_id=enrolment.id, held_on=today - timedelta(days=28 * i + 1),
                          notes="Notat", decisions="Beslutning", next_meeting_on=today + timedelta(days=10))
        meeting.attendees = [MeetingAttendee(user_id=user.id), MeetingAttendee(member_id=members[0].id)]
        db.session.add(meeting)
    db.session.add_all(Goal(family_id=family.id, theme=t.code, horizon="short", text="Mål") for t in THEMES)
    db.session.add_all(Action(family_id=family.id, title=f"Tiltak {i}", owner_user_id=user.id if i % 2 else None,
                              owner_is_family=not i % 2, due_on=today - timedelta(days=i - 50),
                              status=("planned", "in_progress", "done")[i % 3]) for i in range(actions))
    db.session.flush()
    return family, user


@pytest.fixture
def small_and_large(world):
    small = _family_with_history(world, months=1, actions=2, meetings=1, name="Familien Kort")
    large = _family_with_history(world, months=36, actions=200, meetings=40, name="Familien Lang")
    return small, large


def _statements(count_queries, client, url: str) -> int:
    assert client.get(url).status_code == 200  # warm up: session, CSRF, caches
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200
    return counter.count


@pytest.mark.parametrize("path", ["/familier/{id}", "/", "/familier", "/oppgaver", "/api/v1/families/{id}",
                                  "/api/v1/families"])
def test_statements_do_not_grow_with_history(small_and_large, login, count_queries, path):
    (small, small_user), (large, large_user) = small_and_large
    few = _statements(count_queries, login(small_user), path.format(id=small.id))
    many = _statements(count_queries, login(large_user), path.format(id=large.id))
    assert many <= few, (path, few, many)
    assert few < 40  # and the fixed number is small


def test_the_large_family_page_shows_its_whole_history(small_and_large, login):
    _small, (large, user) = small_and_large
    page = login(user).get(f"/familier/{large.id}").get_data(as_text=True)
    assert page.count('class="journey-chart"') == 8  # overall + 7 themes
    assert "Tiltak 199" in page or "Tiltak 197" in page
    assert "(12 av 40)" in page
