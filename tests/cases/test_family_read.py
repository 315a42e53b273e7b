"""Issue 19: the family API read reads only what it returns, and neither it nor the family page grows
with the family's history.

- the API read's JSON is the very JSON the family page's read model gave before (compared for
  every reader of the issue-15 family: lead, member, gated, no agency, and a NAV reader whose consent
  covers work and school of one young person only);
- with 1 and with 20 years of assessments the API read and the family page cost the same number of
  SQL statements (a SQLAlchemy statement counter on the engine), the API read never selects a
  rating's level or note, and the page renders a bounded number of history rows with a link to
  the rest;
- the API read reads the family in one statement after the gate's lookup (one ``UNION ALL``), the
  sign-in in one, and writes its audit event and seal: a fixed handful in all.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests import factories
from tests.cases.test_consent_per_person import content, nav  # noqa: F401 - fixtures
from velferdslab.cases.consent.schemas import _consent_out
from velferdslab.cases.enrolment.schemas import _enrolment_out
from velferdslab.cases.gate import family_access
from velferdslab.cases.household.models import FamilyMember
from velferdslab.cases.household.schemas import _member_out
from velferdslab.cases.journey import section
from velferdslab.cases.meetings.models import Meeting, MeetingAttendee
from velferdslab.cases.overview import queries, summary
from velferdslab.cases.overview.api import _family_out, _membership_out
from velferdslab.cases.plan.models import Action, Goal
from velferdslab.cases.themes import THEMES
from velferdslab.extensions import db


def _page_out(page: queries.FamilyPage) -> dict:
    """The API's answer as it was built from the whole family-page model (before issue 19)."""
    access, gated = page.access, page.gated
    out = {"id": access.family.id, "household_name": access.family.household_name,
           "language": access.family.language, "interpreter_needed": access.family.interpreter_needed,
           "gated": gated, "is_lead": access.is_lead, "members": [_member_out(m, gated) for m in page.members],
           "enrolment": _enrolment_out(page.enrolment, gated), "team": [_membership_out(m) for m in page.current_team],
           "consents": [_consent_out(c, page.superseded_consent_ids, page.today) for c in page.current_consents],
           "next_meeting_on": page.next_meeting_on}
    if not gated:
        latest = page.history.latest if page.history else None
        out.update(themes=page.themes, overall_level=latest.overall_level if latest else None, trend=page.trend,
                   overdue_actions=len(page.overdue_actions), hidden=page.hidden)
    return out


def _same_answer(user, family_id: int) -> dict:
    access = family_access(user, family_id)
    assert access is not None
    old, new = _page_out(queries.family_page(access)), _family_out(summary.family_read(access))
    assert new == old
    return new


def test_the_api_read_answers_as_the_page_model_did(world, nav, content):  # noqa: F811 - fixtures
    goals = {g.theme: g for g in db.session.query(Goal).filter_by(family_id=world.family.id)}
    goals.setdefault("arbeid", Goal(family_id=world.family.id, theme="arbeid", horizon="short", text="Jobb"))
    db.session.add_all(goals.values())
    db.session.flush()
    for i, (goal, days, status) in enumerate([(goals.get("helse"), -3, "planned"), (None, -1, "in_progress"),
                                              (goals["arbeid"], -9, "planned"), (goals["arbeid"], None, "planned"),
                                              (goals.get("helse"), 5, "planned"), (None, -2, "done")]):
        db.session.add(Action(family_id=world.family.id, goal_id=goal.id if goal else None, title=f"T{i}",
                              owner_user_id=world.lead.id, owner_is_family=False, status=status,
                              due_on=world.today + timedelta(days=days) if days is not None else None))
    db.session.flush()
    for user in (world.lead, world.member, world.gated, world.no_agency, nav.user):
        _same_answer(user, world.family.id)
    partial = _same_answer(nav.user, world.family.id)
    assert partial["hidden"]  # the NAV reader's consent covers Jonas's work and school only
    assert _same_answer(world.gated, world.family.id)["gated"] is True


def _family_with_years(world, years: int, name: str):
    """A family with ``years`` of monthly assessments (every theme, two perspectives), meetings,
    goals and actions."""
    today = world.today
    months = 12 * years
    start = today - timedelta(days=31 * months + 30)
    family = factories.family(world.lab, name=name, agency=world.nav, referred_on=start, started_on=start)
    user = factories.user(world.lab, ("caseworker",), world.nav)
    factories.team_member(family, user, start=start)
    factories.team_member(family, world.lead, "lead", start=start)
    factories.consent(family, world.nav, given_on=start)
    member = db.session.query(FamilyMember).filter_by(family_id=family.id).first()
    enrolment = factories.current_enrolment(family)
    for i in range(months):
        level = 1 + (i * 3 // months) % 4
        factories.assessment(family, {t.code: level for t in THEMES},
                             family_levels={t.code: max(1, level - (i % 2)) for t in THEMES},
                             assessed_on=today - timedelta(days=31 * (months - i)))
        meeting = Meeting(family_id=family.id, enrolment_id=enrolment.id, held_on=today - timedelta(days=31 * i + 1),
                          notes="Notat", decisions="Beslutning", next_meeting_on=today + timedelta(days=10))
        meeting.attendees = [MeetingAttendee(user_id=user.id), MeetingAttendee(member_id=member.id)]
        db.session.add(meeting)
    db.session.add_all(Goal(family_id=family.id, theme=t.code, horizon="short", text="Mål") for t in THEMES)
    db.session.add_all(Action(family_id=family.id, title=f"Tiltak {i}", owner_user_id=user.id,
                              owner_is_family=False, due_on=today - timedelta(days=i - 5),
                              status=("planned", "done")[i % 2]) for i in range(4 * years))
    db.session.flush()
    return family, user


@pytest.fixture
def one_and_twenty_years(world):
    return _family_with_years(world, 1, "Familien Ett"), _family_with_years(world, 20, "Familien Tjue")


def _count(count_queries, client, url: str, headers=None):
    assert client.get(url, headers=headers).status_code == 200  # warm up: session, CSRF, caches
    with count_queries() as counter:
        response = client.get(url, headers=headers)
    assert response.status_code == 200
    return counter, response


def test_the_api_read_does_not_grow_with_history(one_and_twenty_years, login, count_queries):
    (short, short_user), (long, long_user) = one_and_twenty_years
    few, _r = _count(count_queries, login(short_user), f"/api/v1/families/{short.id}")
    many, answer = _count(count_queries, login(long_user), f"/api/v1/families/{long.id}")
    assert many.count == few.count, (few.statements, many.statements)
    # It reads what it returns: no rating's level or note, no meeting notes, no action titles.
    for statement in many.statements:
        assert not re.search(r"theme_rating\.(level|note)\b", statement), statement
        assert "meeting.notes" not in statement and "action.title" not in statement, statement
    assert answer.get_json()["overall_level"] is not None
    page, _r = _count(count_queries, login(long_user), f"/familier/{long.id}")
    assert many.count < page.count  # fewer statements than the page it used to share its model with


def test_the_family_page_does_not_grow_with_history(one_and_twenty_years, login, count_queries):
    (short, short_user), (long, long_user) = one_and_twenty_years
    few, _r = _count(count_queries, login(short_user), f"/familier/{short.id}")
    many, response = _count(count_queries, login(long_user), f"/familier/{long.id}")
    assert many.count == few.count, (few.statements, many.statements)
    html = response.get_data(as_text=True)
    journey = html[html.index('id="family-journey"'):html.index("</section>", html.index('id="family-journey"'))]
    rows = re.findall(r'<tr><th scope="row">', journey)
    assert 0 < len(rows) <= section.HISTORY_ON_PAGE  # 240 assessments, a bounded table
    assert f"/familier/{long.id}/vurderinger" in journey  # and a link to the whole history


def test_the_journey_section_is_kept_per_view_and_language(world, nav, content, login):  # noqa: F811
    from flask_babel import force_locale

    from velferdslab.cases.journey.queries import journey_history

    section.clear()
    lead, reader = family_access(world.lead, world.family.id), family_access(nav.user, world.family.id)
    assert lead is not None and reader is not None

    def key(access):
        history = journey_history(world.family.id, ["bolig", "arbeid", "skole"], access)
        return section.cache_key(access, history)

    from flask import current_app
    with current_app.test_request_context("/"):
        before = key(lead)
        assert key(lead) == before                       # the same inputs, the same key
        assert key(reader) != before                     # another agency's consents: never shared
        with force_locale("en"):
            assert key(lead) != before                   # another language
        factories.assessment(world.family, {"bolig": 3}, assessed_on=world.today)
        assert key(lead) != before                       # the data changed

    client = login(world.lead)
    hits = section.stats["hits"]
    first = client.get(f"/familier/{world.family.id}").get_data(as_text=True)
    second = client.get(f"/familier/{world.family.id}").get_data(as_text=True)

    def journey_of(html: str) -> str:
        return html[html.index('id="family-journey"'):].split("</section>")[0]

    assert section.stats["hits"] == hits + 1 and journey_of(first) == journey_of(second)
    # The NAV reader sees only Jonas's work and school: their section is not the lead's.
    reader_html = login(nav.user).get(f"/familier/{world.family.id}").get_data(as_text=True)
    assert journey_of(reader_html) != journey_of(second)
    assert "Ingen vurderinger" not in journey_of(second)


def _family_statements(statements: list[str]) -> list[str]:
    """The statements that read the family (not the sign-in, not the audit write and its seal)."""
    own = ("api_token", "audit_event", "audit_chain_head")
    return [s for s in statements if not any(table in s.split("WHERE")[0] for table in own)]


def test_the_api_read_reads_the_family_in_one_statement_after_the_gate(app, one_and_twenty_years, count_queries):
    """Issue 19: the gate's lookup, then one statement for the whole answer (members, enrolment,
    consents and their categories, themes, team, meetings, levels, rated pairs, plan and the reader's
    consent scope), whatever the history; the sign-in is one statement, the audit its insert and seal."""
    from velferdslab.auth import services

    for family, user in one_and_twenty_years:
        _row, plain = services.create_api_token(user, "test")
        db.session.flush()
        client, headers = app.test_client(), {"Authorization": f"Bearer {plain}"}
        counter, response = _count(count_queries, client, f"/api/v1/families/{family.id}", headers)
        statements = [" ".join(s.split()) for s in counter.statements]
        reads = _family_statements(statements)
        assert len(reads) == 2, reads  # the gate, the read
        assert "FROM family JOIN team_membership" in reads[0], reads[0]
        assert reads[1].count("UNION ALL") >= 10, reads[1]
        assert len([s for s in statements if "FROM api_token" in s]) == 1, statements
        assert len(statements) - len(reads) <= 5, statements  # token; audit insert, head lock, link (+ head)
        assert response.get_json()["overall_level"] is not None
