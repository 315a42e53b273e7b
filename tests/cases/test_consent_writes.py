"""Issue 15, the gaps closed after the family page: writes into what a consent does not cover are
refused (403 with the field and the reason, a Norwegian form message, nothing stored), and the
lists across families (*Mine familier*, *Mine oppgaver*), the spend form, the progress report's
spend and the privacy export follow the consent per person and kind of information.

Two readers besides the issue's NAV Arbeid caseworker (Jonas's own consent, work and school only):
Siri of *Skolen*, whose agency holds the household's consent for school and meeting notes only.
Runs on SQLite and PostgreSQL (the suite's ``backend`` fixture).
"""

from __future__ import annotations

import io
from datetime import timedelta
from types import SimpleNamespace

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from tests import factories
from tests.cases.test_consent_per_person import nav  # noqa: F401 - the issue's NAV Arbeid reader
from tests.cases.world import ratings
from tests.reports import factories as rf
from velferdslab.audit.models import AuditEvent
from velferdslab.budget import services as budget
from velferdslab.cases.consent import services as consent_services
from velferdslab.cases.gate import family_access
from velferdslab.cases.journey.models import JourneyAssessment, ThemeRating
from velferdslab.cases.journey.services import create_assessment
from velferdslab.cases.meetings.models import Meeting
from velferdslab.cases.plan.models import Action, Goal
from velferdslab.cases.plan.services import create_action, create_goal
from velferdslab.core.errors import ForbiddenError
from velferdslab.extensions import db

SCHOOL_AND_NOTES = ["skole", "meeting_notes"]


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def skole(world):
    """Siri of Skolen on the team; the household (Anne) consented to Skolen for school and meeting notes."""
    agency = factories.agency(world.lab, "Skolen", "skole")
    user = factories.user(world.lab, ("caseworker",), agency, name="Siri Skole")
    factories.team_member(world.family, user, start=world.today - timedelta(days=30))
    consent_services.give_consent(world.access(world.lead), actor=world.lead, agency=agency.id,
                                  given_by=world.members()["Anne"].id, purpose="work_school",
                                  categories=SCHOOL_AND_NOTES, valid_from=world.today - timedelta(days=3))
    return SimpleNamespace(agency=agency, user=user)


@pytest.fixture
def plan(world, skole):
    """The lead's assessment and goals in school and health, each with an action Siri owns."""
    access = world.access(world.lead)
    create_assessment(access, actor=world.lead, assessed_on=world.today - timedelta(days=1),
                      ratings=ratings({"helse": 1, "skole": 3}))
    school = create_goal(access, actor=world.lead, theme="skole", horizon="short", text="Skolemål-synlig")
    health = create_goal(access, actor=world.lead, theme="helse", horizon="short", text="Helsemål-HEMMELIG")
    create_action(access, actor=world.lead, title="Skoletiltak-synlig", owner_user_id=skole.user.id,
                  goal_id=school.id, due_on=world.today - timedelta(days=2))
    create_action(access, actor=world.lead, title="Helsetiltak-HEMMELIG", owner_user_id=skole.user.id,
                  goal_id=health.id, due_on=world.today - timedelta(days=2))
    return SimpleNamespace(school=school, health=health)


# --- writes --------------------------------------------------------------------------------------------------


def _refused(response, field: str, *texts: str) -> None:
    assert response.status_code == 403, response.get_data(as_text=True)[:500]
    errors = response.get_json()["errors"]
    assert field in errors, errors
    for text in texts:
        assert text in errors[field][0], errors


def test_a_young_persons_consent_writes_nothing_about_the_household(world, nav, login):  # noqa: F811
    """NAV Arbeid holds Jonas's consent only: every household write is refused, nothing is stored."""
    client = login(nav.user)
    base = f"/api/v1/families/{world.family.id}"
    before = {m: _count(m) for m in (Goal, Action, JourneyAssessment, ThemeRating, Meeting)}
    _refused(client.post(f"{base}/goals", json={"theme": "helse", "horizon": "short", "text": "x"}), "theme",
             "Ikke lagret: mangler samtykke fra husstanden til NAV Arbeid for Helse.")
    _refused(client.post(f"{base}/actions", json={"title": "x", "owner_is_family": True}), "goal_id",
             "for Felles plan og samlet nivå")
    _refused(client.post(f"{base}/assessments", json={"assessed_on": world.today.isoformat(),
                                                      "ratings": ratings()}), "team_bolig", "for Bolig")
    _refused(client.post(f"{base}/meetings", json={"held_on": world.today.isoformat(), "notes": "x"}), "notes",
             "for Møtenotater og beslutninger")
    assert {m: _count(m) for m in before} == before
    outcomes = db.session.scalars(select(AuditEvent.summary).where(AuditEvent.action == "family.gated_denied"))
    assert sum(1 for s in outcomes if s.get("outcome") == "write_not_covered") == 4


def test_a_rating_about_the_young_person_needs_his_consent(world, nav):  # noqa: F811
    """The lead's household consent (NAV) does not cover Jonas's own matters: a team rating about him
    is refused; NAV Arbeid cannot rate the household, so it cannot record the assessment either."""
    jonas = world.members()["Jonas"].id
    about_jonas = [*ratings(), {"theme": "skole", "perspective": "team", "level": 3, "subject": jonas}]
    with pytest.raises(ForbiddenError) as refused:
        create_assessment(world.access(world.lead), actor=world.lead, assessed_on=world.today, ratings=about_jonas)
    assert refused.value.field == "about_skole"
    assert "Jonas Berg" in refused.value.message and "for Skole" in refused.value.message
    assert _count(JourneyAssessment) == 0


def test_writes_follow_the_kinds_a_household_consent_covers(world, skole, plan, login):
    client = login(skole.user)
    base = f"/api/v1/families/{world.family.id}"
    goals = _count(Goal)
    assert client.post(f"{base}/goals", json={"theme": "skole", "horizon": "short", "text": "Lese mer"}) \
        .status_code == 201
    _refused(client.post(f"{base}/goals", json={"theme": "helse", "horizon": "short", "text": "x"}), "theme",
             "Ikke lagret: mangler samtykke fra husstanden til Skolen for Helse.")
    assert _count(Goal) == goals + 1
    actions = _count(Action)
    assert client.post(f"{base}/actions", json={"title": "Leksehjelp", "owner_is_family": True,
                                                "goal_id": plan.school.id}).status_code == 201
    _refused(client.post(f"{base}/actions", json={"title": "x", "owner_is_family": True,
                                                  "goal_id": plan.health.id}), "goal_id", "for Helse")
    health_action = db.session.scalars(select(Action).where(Action.goal_id == plan.health.id)).one()
    school_action = db.session.scalars(select(Action).where(Action.goal_id == plan.school.id)).first()
    # Moving a covered action under a goal in an uncovered theme is a write into that theme.
    _refused(client.patch(f"{base}/actions/{school_action.id}", json={"goal_id": plan.health.id}), "goal_id")
    assert client.patch(f"{base}/actions/{health_action.id}", json={"status": "done"}).status_code == 403
    assert _count(Action) == actions + 1
    # Meeting notes are covered: a meeting with notes is recorded.
    assert client.post(f"{base}/meetings", json={"held_on": world.today.isoformat(), "notes": "Notat"}) \
        .status_code == 201


def test_the_form_refuses_in_norwegian_and_stores_nothing(world, skole, plan, login):
    client = login(skole.user)
    url = f"/familier/{world.family.id}/plan"
    page = client.get(url).get_data(as_text=True)
    assert 'value="skole"' in page and 'value="helse"' not in page  # only covered themes offered
    goals = _count(Goal)
    page = client.get(url)
    token = factories.csrf_from(page.get_data(as_text=True))
    response = client.post(f"{url}/mal", data={"csrf_token": token, "theme": "helse", "horizon": "short",
                                               "text": "Nytt helsemål"})
    assert response.status_code == 422  # the plan page with the form's message
    assert "Ikke lagret: mangler samtykke fra husstanden til Skolen for Helse." in response.get_data(as_text=True)
    assert _count(Goal) == goals


def test_a_spend_in_an_uncovered_theme_is_refused(world, skole, plan):
    data = {"amount": 10_000, "payee": "Apotek", "purpose": "Medisin", "category": "equipment", "theme": "helse",
            "goal_id": plan.health.id, "expected_effect": "Bedre", "level_from": 1, "level_to": 2,
            "wanted_on": world.today}
    with pytest.raises(ForbiddenError) as refused:
        budget.create_spend(world.family.id, skole.user, data)
    assert refused.value.field == "theme" and "Skolen for Helse" in refused.value.message


# --- reads across families ----------------------------------------------------------------------------------


def test_mine_familier_hides_the_level_and_counts_only_covered_actions(world, skole, plan, login):
    client = login(skole.user)
    html = client.get("/familier").get_data(as_text=True)
    assert "Skjult: mangler samtykke fra husstanden til Skolen for Felles plan og samlet nivå." in html
    assert "Skjult: mangler samtykke fra husstanden til Skolen for Helse." in html
    row = next(r for r in client.get("/api/v1/families").get_json() if r["id"] == world.family.id)
    assert row["overall_level"] is None and row["trend"] is None
    assert row["open_actions"] == 1 and row["overdue_actions"] == 1  # the school action only
    assert any("for Helse" in reason for reason in row["hidden"])
    lead_row = next(r for r in login(world.lead).get("/api/v1/families").get_json() if r["id"] == world.family.id)
    assert lead_row["overall_level"] is not None and lead_row["open_actions"] == 2 and lead_row["hidden"] == []


def test_mine_oppgaver_keeps_the_task_but_not_its_title(world, skole, plan, login):
    html = login(skole.user).get("/oppgaver").get_data(as_text=True)
    assert "Skoletiltak-synlig" in html and "Helsetiltak-HEMMELIG" not in html
    assert "Skjult: mangler samtykke fra husstanden til Skolen for Helse." in html


def test_the_spend_form_offers_only_covered_goals_and_levels(world, skole, plan, login):
    html = login(skole.user).get(f"/familier/{world.family.id}/budsjett/ny").get_data(as_text=True)
    assert "Skolemål-synlig" in html and "Helsemål-HEMMELIG" not in html
    assert 'value="helse"' not in html and "helse&#34;" not in html and '"helse"' not in html
    assert "Skjult: mangler samtykke fra husstanden til Skolen for Helse." in html


def test_the_progress_report_lists_spend_only_in_covered_themes(world, skole, login):
    rf.paid_spend(world.lab, world.family, world.nav, 5_000 * rf.KR, theme="helse", category="equipment")
    pdf = login(skole.user).get(f"/familier/{world.family.id}/fremdriftsrapport.pdf")
    assert pdf.status_code == 200
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Innkjøp" not in text and "Bedre hverdag" not in text and "5 000" not in text
    assert "Skjult: mangler samtykke fra husstanden til Skolen for Helse." in text
    lead_pdf = login(world.lead).get(f"/familier/{world.family.id}/fremdriftsrapport.pdf")
    lead_text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(lead_pdf.data)).pages)
    assert "Innkjøp" in lead_text and "Bedre hverdag" in lead_text


# --- the privacy export ----------------------------------------------------------------------------------------


def test_the_export_has_each_persons_consents_and_own_ratings(world, nav, login):  # noqa: F811
    members = world.members()
    lise, jonas = members["Lise"].id, members["Jonas"].id
    create_assessment(world.access(world.lead), actor=world.lead, assessed_on=world.today, ratings=[
        *ratings(), {"theme": "skole", "perspective": "member", "given_by": lise, "level": 1, "scale": "child"}])
    client = login(world.lead)
    data = client.get(f"/api/v1/families/{world.family.id}/export").get_json()
    rows = data["tables"]["theme_rating"]
    assert any(r["given_by_member_id"] == lise and r["scale"] == "child" for r in rows)
    persons = {p["member_id"]: p for p in data["persons"]}
    assert [r["level"] for r in persons[lise]["ratings_given"]] == [1]
    consent = persons[jonas]["consents_about"][0]
    assert consent["id"] == nav.consent.id and consent["given_by_member_id"] == jonas
    assert consent["categories"] == sorted(["arbeid", "skole"])
    assert persons[jonas]["consents_given"][0]["id"] == nav.consent.id
    pdf = client.get(f"/familier/{world.family.id}/eksport.pdf")
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Per person: samtykker og vurderinger" in text and "Samtykker om Jonas Berg: NAV Arbeid" in text


def test_access_is_unchanged_for_the_household_consent(world):
    """The members of before (household consents, every kind) write as before."""
    access = family_access(world.member, world.family.id)
    goal = create_goal(access, actor=world.member, theme="helse", horizon="short", text="Helsemål")
    assert create_action(access, actor=world.member, title="Tiltak", owner_is_family=True, goal_id=goal.id)


def test_the_family_budget_shows_uncovered_spend_as_a_summary(world, skole, login):
    rf.paid_spend(world.lab, world.family, world.nav, 5_000 * rf.KR, theme="helse", category="equipment")
    reason = "Skjult: mangler samtykke fra husstanden til Skolen for Helse."
    client = login(skole.user)
    for path in (f"/familier/{world.family.id}/budsjett", f"/familier/{world.family.id}"):
        html = client.get(path).get_data(as_text=True)
        assert "Leverandør AS" not in html and reason in html, path
    body = client.get(f"/api/v1/families/{world.family.id}/budget").get_json()
    assert body["spend_requests"] == [] and len(body["spend_summaries"]) == 1 and body["hidden"] == [reason]
    assert "payee" not in body["spend_summaries"][0]
    lead = login(world.lead).get(f"/api/v1/families/{world.family.id}/budget").get_json()
    assert lead["spend_requests"][0]["payee"] == "Leverandør AS" and lead["hidden"] == []


def test_a_spend_in_an_uncovered_theme_is_not_opened(world, skole, login):
    spend = rf.paid_spend(world.lab, world.family, world.nav, 5_000 * rf.KR, theme="helse", category="equipment")
    client = login(skole.user)
    response = client.get(f"/api/v1/spend-requests/{spend.id}")
    assert response.status_code == 403
    assert response.get_json()["errors"]["consent"] == ["Skjult: mangler samtykke fra husstanden til Skolen for Helse."]
    page = client.get(f"/budsjett/utgifter/{spend.id}")
    assert page.status_code == 403 and "Leverandør AS" not in page.get_data(as_text=True)
    assert login(world.lead).get(f"/api/v1/spend-requests/{spend.id}").status_code == 200


def test_every_handler_of_an_uncovered_spend_is_refused_by_the_gate(world, skole, login):
    spend = rf.paid_spend(world.lab, world.family, world.nav, 5_000 * rf.KR, theme="helse", category="equipment")
    client = login(skole.user)
    for path in (f"/budsjett/utgifter/{spend.id}/endre", f"/budsjett/utgifter/{spend.id}/avbryt",
                 f"/budsjett/utgifter/{spend.id}/revider"):
        page = client.get(path)
        assert page.status_code == 403, path
        body = page.get_data(as_text=True)
        assert "mangler samtykke fra husstanden til Skolen for Helse" in body and "Leverandør AS" not in body, path
    api = client.post(f"/api/v1/spend-requests/{spend.id}/cancel", json={"reason": "Feil beløp"})
    assert api.status_code == 403 and "consent" in api.get_json()["errors"], api.get_data(as_text=True)[:300]


def test_an_approval_queue_shows_an_uncovered_spend_without_payee_or_effect(world, skole):
    from velferdslab.budget import queries

    spend = rf.paid_spend(world.lab, world.family, world.nav, 5_000 * rf.KR, theme="helse", category="equipment")
    reason = "Skjult: mangler samtykke fra husstanden til Skolen for Helse."
    assert queries.read_queue(skole.user, [spend]).hidden == {spend.id: reason}
    assert queries.read_queue(world.lead, [spend]).hidden == {}


def test_turning_a_theme_off_needs_consent_for_it(world, skole):
    from velferdslab.cases.journey.models import FamilyTheme
    from velferdslab.cases.journey.services import set_theme_applicability

    access = world.access(skole.user)
    with pytest.raises(ForbiddenError) as refused:
        set_theme_applicability(access, "helse", False, actor=skole.user)
    assert refused.value.field == "theme" and "Helse" in refused.value.message
    assert db.session.get(FamilyTheme, (world.family.id, "helse")) is None
    set_theme_applicability(access, "skole", True, actor=skole.user)  # unchanged: passes
    set_theme_applicability(access, "helse", True, actor=skole.user)  # unchanged: passes
