"""The access matrix: every family route (HTML and API) of the cases and teams packages, walked from
``app.url_map``, for a team member, a team member without consent for their agency, the lead of
another team, a manager, an administrator and an anonymous visitor.

Off the team the answer is the 404 of a family that does not exist, and the attempt is audited;
a gated member gets the family's name, team and meetings and 403 for the rest.
"""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.cases.world import ratings
from velferdslab.audit.models import AuditEvent
from velferdslab.cases.consent.models import Consent
from velferdslab.cases.enrolment.services import current_enrolment
from velferdslab.cases.journey.services import create_assessment
from velferdslab.cases.meetings.services import record_meeting
from velferdslab.cases.plan.services import create_action, create_goal
from velferdslab.extensions import db
from velferdslab.teams.models import TeamMembership

BLUEPRINTS = ("cases.", "cases_api.", "teams.", "teams_api.")
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MISSING = 987654

# What a gated member (no valid consent for their agency) may still reach.
GATED_ALLOWED_GET = {
    "cases.family_page", "cases.consents", "cases.consent_withdraw", "cases.meetings", "cases.meeting_detail",
    "teams.team", "cases_api.FamilyById", "cases_api.Members", "cases_api.Consents", "cases_api.Meetings",
    "cases_api.MeetingById", "teams_api.Team",
    # The consent form to print and sign (issue 15): the consent record, which the gated member sees too.
    "cases.consent_form_pdf",
}
GATED_ALLOWED_WRITE = {"cases.consents", "cases_api.Consents", "cases.consent_withdraw",
                       "cases_api.ConsentWithdraw", "cases.consent_confirm", "cases_api.ConsentConfirm",
                       # Undoing one's own withdrawal or handover (issue 13): consent and team, not case
                       # content; without a change of one's own to undo it is refused and changes nothing.
                       "cases.consent_withdraw_undo", "teams.undo_transfer_lead"}


@pytest.fixture
def objects(world):
    """One of everything in the family, so every route has a real object to point at."""
    access = world.access(world.lead)
    members = world.members()
    meeting = record_meeting(access, actor=world.lead, held_on=world.today - timedelta(days=2),
                             attendee_user_ids=[world.lead.id], attendee_member_ids=[members["Anne"].id],
                             notes="Hemmelig notat", decisions="Beslutning")
    assessment = create_assessment(access, actor=world.lead, assessed_on=world.today - timedelta(days=2),
                                   ratings=ratings(), meeting_id=meeting.id)
    goal = create_goal(access, actor=world.lead, theme="bolig", horizon="short", text="Egen leilighet")
    action = create_action(access, actor=world.lead, title="Søke bolig", owner_is_family=True)
    consent = db.session.scalar(select(Consent).where(Consent.family_id == world.family.id))
    membership = db.session.scalar(select(TeamMembership).where(TeamMembership.user_id == world.member.id,
                                                                TeamMembership.family_id == world.family.id))
    return {"family_id": world.family.id, "member_id": members["Anne"].id,
            "enrolment_id": current_enrolment(world.family.id).id, "consent_id": consent.id,
            "assessment_id": assessment.id, "meeting_id": meeting.id, "goal_id": goal.id, "action_id": action.id,
            "membership_id": membership.id, "theme": "bolig"}


def family_routes(app):
    """(endpoint, method, rule) for every route of ours that names a family."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(BLUEPRINTS) and "family_id" in rule.arguments:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((rule.endpoint, method, rule))
    return found


def build_url(rule, values: dict) -> str:
    url = rule.rule
    for name in rule.arguments:
        for converter in ("int:", "string:", ""):
            url = url.replace(f"<{converter}{name}>", str(values[name]))
    return url


def body_for(endpoint: str, world, objects) -> dict:
    """A well-formed body for each API write, so the answer is about access, not about shape."""
    today = world.today.isoformat()
    members = world.members()
    return {
        "cases_api.FamilyById": {"language": "norsk"},
        "cases_api.Members": {"first_name": "Ny", "last_name": "Berg", "birth_year": 2001, "role": "other"},
        "cases_api.MemberById": {"first_name": "Anne"},
        "cases_api.Enrolments": {"referred_on": today},
        "cases_api.EnrolmentActivate": {"started_on": today},
        "cases_api.EnrolmentClose": {"closed_on": today, "reason": "moved"},
        "cases_api.Consents": {"agency": world.barnevern.id, "purpose": "team", "categories": ["bolig"],
                               "given_by": members["Anne"].id, "valid_from": today},
        "cases_api.ConsentWithdraw": {"withdrawn_on": today, "withdrawn_by": members["Anne"].id},
        "cases_api.ThemeByCode": {"applicable": True},
        "cases_api.Assessments": {"assessed_on": today, "ratings": ratings()},
        "cases_api.AssessmentCorrections": {"assessed_on": today, "ratings": ratings(), "correction_reason": "Feil"},
        "cases_api.Goals": {"theme": "bolig", "horizon": "dream", "text": "Hus"},
        "cases_api.GoalById": {"status": "reached"},
        "cases_api.Actions": {"title": "Ring", "owner_is_family": True},
        "cases_api.ActionById": {"status": "done"},
        "cases_api.Meetings": {"held_on": today, "notes": "x"},
        "cases_api.MeetingById": {"notes": "x"},
        "teams_api.Memberships": {"user_id": world.outsider.id, "start_date": today},
        "teams_api.MembershipEnd": {"end_date": today},
        "teams_api.Lead": {"user_id": world.other_lead.id, "on": today},
    }.get(endpoint, {})


def request(client, method: str, url: str, endpoint: str, world, objects):
    send = getattr(client, method.lower())  # the signed-in client adds the CSRF header on writes
    if url.startswith("/api/"):
        return send(url, json=body_for(endpoint, world, objects))
    return send(url, data={})


def test_the_walk_finds_every_family_route(app):
    endpoints = {e for e, _m, _r in family_routes(app)}
    # A sample of what must be there; a renamed or dropped route shows up here.
    assert {"cases.family_page", "cases.meeting_new", "cases.plan", "teams.team", "cases_api.FamilyById",
            "cases_api.Assessments", "cases_api.Meetings", "teams_api.Team", "teams_api.Memberships"} <= endpoints
    assert len(family_routes(app)) >= 50


def _denied_count(family_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.family_id == family_id, AuditEvent.action == "family.denied"))


@pytest.mark.parametrize("role", ["other_lead", "manager", "admin"])
def test_outsiders_get_the_404_of_a_family_that_does_not_exist(app, world, objects, login, role):
    client = login(getattr(world, role))
    for endpoint, method, rule in family_routes(app):
        real = request(client, method, build_url(rule, objects), endpoint, world, objects)
        missing = request(client, method, build_url(rule, {**objects, "family_id": MISSING}), endpoint, world,
                          objects)
        assert real.status_code == 404, (role, method, rule.rule, real.status_code)
        assert missing.status_code == real.status_code, (role, method, rule.rule)
        if rule.rule.startswith("/api/"):
            assert real.get_json() == missing.get_json()
    db.session.expire_all()
    assert _denied_count(world.family.id) >= len(family_routes(app))


def test_anonymous_visitors_are_sent_to_sign_in(app, world, objects, client):
    for _endpoint, method, rule in family_routes(app):
        url = build_url(rule, objects)
        response = client.open(url, method=method)
        if method == "GET":
            expected = 401 if url.startswith("/api/") else 302
        else:
            # No session, no CSRF token: refused before anything else. A page's form goes to the
            # sign-in page (whose ``next`` leads back to it: the cookie may have ended with the session).
            expected = 400 if url.startswith("/api/") else 302
        assert response.status_code == expected, (method, url, response.status_code)
        if expected == 302:
            assert "/logg-inn" in response.headers["Location"]


def test_a_team_member_reaches_every_page_and_api_read(app, world, objects, login):
    client = login(world.member)
    for _endpoint, method, rule in family_routes(app):
        if method != "GET":
            continue
        response = client.get(build_url(rule, objects))
        assert response.status_code == 200, (rule.rule, response.status_code)


def test_a_gated_member_sees_name_team_and_meetings_only(app, world, objects, login):
    client = login(world.gated)
    for endpoint, method, rule in family_routes(app):
        if method != "GET":
            continue
        response = client.get(build_url(rule, objects))
        expected = 200 if endpoint in GATED_ALLOWED_GET else 403
        assert response.status_code == expected, (rule.rule, response.status_code)
        text = response.get_data().decode("utf-8", "replace")  # the consent form is a PDF
        assert "Hemmelig notat" not in text and "Beslutning" not in text and "Egen leilighet" not in text


def test_a_gated_member_cannot_write_case_content(app, world, objects, login):
    client = login(world.gated)
    before = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.family_id == world.family.id, AuditEvent.action.not_like("%denied%"),
        AuditEvent.action.not_like("%.view"), AuditEvent.action.not_like("%.list")))
    for endpoint, method, rule in family_routes(app):
        if method == "GET" or endpoint in GATED_ALLOWED_WRITE:
            continue
        url = build_url(rule, objects)
        response = request(client, method, url, endpoint, world, objects)
        assert response.status_code == 403, (method, url, response.status_code, response.get_data(as_text=True)[:300])
    db.session.expire_all()
    after = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.family_id == world.family.id, AuditEvent.action.not_like("%denied%"),
        AuditEvent.action.not_like("%.view"), AuditEvent.action.not_like("%.list")))
    assert after == before  # no change recorded


def test_a_member_without_agency_is_gated_like_one_without_consent(world, objects, login):
    client = login(world.no_agency)
    assert client.get(f"/familier/{world.family.id}").status_code == 200
    assert client.get(f"/familier/{world.family.id}/plan").status_code == 403
    assert client.get(f"/api/v1/families/{world.family.id}/assessments").status_code == 403


def test_a_member_who_has_left_the_team_gets_404(world, objects, login):
    row = db.session.scalar(select(TeamMembership).where(TeamMembership.user_id == world.member.id,
                                                         TeamMembership.family_id == world.family.id))
    row.end_date = world.today - timedelta(days=1)
    db.session.flush()
    client = login(world.member)
    assert client.get(f"/familier/{world.family.id}").status_code == 404
    assert client.get(f"/api/v1/families/{world.family.id}").status_code == 404


def test_a_future_member_cannot_see_the_family_yet(world, login):
    newcomer = factories.user(world.lab, ("caseworker",), world.nav)
    factories.team_member(world.family, newcomer, start=world.today + timedelta(days=3))
    assert login(newcomer).get(f"/familier/{world.family.id}").status_code == 404


def test_every_read_of_a_family_is_audited(world, objects, login):
    client = login(world.member)
    for url in (f"/familier/{world.family.id}", f"/api/v1/families/{world.family.id}/assessments",
                f"/familier/{world.family.id}/plan"):
        before = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                   .where(AuditEvent.family_id == world.family.id))
        assert client.get(url).status_code == 200
        db.session.expire_all()
        after = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.family_id == world.family.id))
        assert after == before + 1, url


def test_an_emergency_grant_opens_the_family_and_its_team_read_only(world, objects, login):
    from velferdslab.cases.emergency import services as emergency

    emergency.grant(world.manager, world.family.id, reason="Akutt bekymring meldt fra legevakten", hours=2)
    client = login(world.manager)
    page = client.get(f"/familier/{world.family.id}")
    assert page.status_code == 200 and "Hemmelig notat" not in page.get_data(as_text=True)
    assert client.get(f"/familier/{world.family.id}/plan").status_code == 200
    team = client.get(f"/familier/{world.family.id}/team")
    assert team.status_code == 200 and "Legg til i teamet" not in team.get_data(as_text=True)
    assert client.post(f"/api/v1/families/{world.family.id}/team/memberships",
                       json={"user_id": world.outsider.id,
                             "start_date": world.today.isoformat()}).status_code == 404
    assert login(world.admin).get(f"/familier/{world.family.id}/team").status_code == 404


def test_emergency_access_shows_no_write_action_on_any_page(app, world, objects, login):
    """Issue 13: emergency access is for looking, so no family page it opens offers a form or a
    link to one that the gate would refuse (lifting a restriction and erasure are its own doors)."""
    import re

    from velferdslab.cases.emergency import services as emergency

    emergency.grant(world.manager, world.family.id, reason="Akutt bekymring meldt fra legevakten", hours=2)
    client = login(world.manager)
    allowed = ("/logg-ut", "/personvern/", "/slett", "/opphev", "/sperr")
    seen = 0
    for endpoint, method, rule in family_routes(app):
        if method != "GET" or endpoint.endswith("_api") or "_api." in endpoint:
            continue
        response = client.get(build_url(rule, objects))
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        seen += 1
        html = response.get_data(as_text=True)
        for form in re.findall(r'<form method="post"[^>]*>', html):
            action = re.search(r'action="([^"]*)"', form)
            assert action and any(a in action.group(1) for a in allowed), (rule.rule, form)
        links = [h for h in re.findall(r'href="([^"]*)"', html) if not h.startswith("/sprak/")]
        writes = [h for h in links if h.endswith(("/moter/ny", "/vurderinger/ny", "/budsjett/ny", "/endre",
                                                  "/medlemmer/ny", "/rett", "/temaer"))]
        assert writes == [], (rule.rule, writes)
        if rule.rule.endswith(("/moter/ny", "/vurderinger/ny", "/budsjett/ny", "/endre")):
            assert "bare innsyn" in html, rule.rule
    assert seen > 10
    # Hiding the links hides no content: the plan still shows the goal and the action, by name.
    plan = client.get(f"/familier/{world.family.id}/plan").get_data(as_text=True)
    assert "Egen leilighet" in plan and "Søke bolig" in plan and "Nytt mål" not in plan
    family = client.get(f"/familier/{world.family.id}").get_data(as_text=True)
    assert "Anne" in family and "Søke bolig" in family
