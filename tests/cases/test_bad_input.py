"""Bad input gets a Norwegian message (form) or 422 (API) and changes nothing."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.cases.world import ratings
from velferdslab.cases.consent.models import Consent
from velferdslab.cases.enrolment.services import current_enrolment
from velferdslab.cases.household.models import FamilyMember
from velferdslab.cases.journey.models import JourneyAssessment, ThemeRating
from velferdslab.cases.journey.services import create_assessment, set_theme_applicability
from velferdslab.cases.meetings.models import Meeting
from velferdslab.cases.plan.models import Action
from velferdslab.core.errors import ServiceError
from velferdslab.extensions import db
from velferdslab.teams.models import TeamMembership


def count(model, **where) -> int:
    db.session.expire_all()
    query = select(func.count()).select_from(model)
    for key, value in where.items():
        query = query.where(getattr(model, key) == value)
    return db.session.scalar(query)


def form_post(client, url: str, data: dict):
    page = client.get(url)
    assert page.status_code == 200, url
    token = factories.csrf_from(page.get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def assert_422(response, *texts: str) -> None:
    assert response.status_code == 422, response.get_data(as_text=True)[:500]
    body = response.get_data(as_text=True)
    for text in texts:
        assert text in body, (text, body[:2000])


# --- levels, themes and dates of an assessment ---------------------------------------------------

@pytest.mark.parametrize("level", [0, 5, -1, "3", 2.5, True])
def test_api_level_outside_the_scale(world, login, level):
    client = login(world.member)
    body = {"assessed_on": world.today.isoformat(), "ratings": ratings()}
    body["ratings"][0]["level"] = level
    response = client.post(f"/api/v1/families/{world.family.id}/assessments", json=body)
    assert response.status_code == 422
    assert count(JourneyAssessment, family_id=world.family.id) == 0


def test_service_level_outside_the_scale(world):
    bad = ratings()
    bad[2]["level"] = 7
    with pytest.raises(ServiceError) as error:
        create_assessment(world.access(world.member), actor=world.member, assessed_on=world.today,
                          ratings=bad)
    assert error.value.field == "team_skole" and "uholdbar" in error.value.message


def test_form_level_outside_the_scale(world, login):
    client = login(world.member)
    data = {f"team_{r['theme']}": "2" for r in ratings()} | {"assessed_on": world.today.isoformat(),
                                                             "kind": "regular", "team_bolig": "5"}
    response = form_post(client, f"/familier/{world.family.id}/vurderinger/ny", data)
    assert_422(response, "Ikke et gyldig valg")
    assert count(JourneyAssessment, family_id=world.family.id) == 0


def test_theme_not_applicable(world, login):
    set_theme_applicability(world.access(world.lead), "arbeid", False, actor=world.lead)
    client = login(world.member)
    response = client.post(f"/api/v1/families/{world.family.id}/assessments",
                           json={"assessed_on": world.today.isoformat(), "ratings": ratings()})
    assert response.status_code == 422
    assert "gjelder ikke" in response.get_json()["errors"]["team_arbeid"][0]
    assert count(JourneyAssessment, family_id=world.family.id) == 0
    response = client.post(f"/api/v1/families/{world.family.id}/goals",
                           json={"theme": "arbeid", "horizon": "short", "text": "Jobb"})
    assert response.status_code == 422


@pytest.mark.parametrize("when, message", [
    ("future", "fram i tid"),
    ("before_start", "før deltakelsen startet"),
])
def test_assessment_dates(world, login, when, message):
    enrolment = current_enrolment(world.family.id)
    day = world.today + timedelta(days=2) if when == "future" else enrolment.started_on - timedelta(days=1)
    client = login(world.member)
    response = client.post(f"/api/v1/families/{world.family.id}/assessments",
                           json={"assessed_on": day.isoformat(), "ratings": ratings()})
    assert response.status_code == 422
    assert message in response.get_json()["errors"]["assessed_on"][0]
    data = {f"team_{r['theme']}": "2" for r in ratings()} | {"assessed_on": day.isoformat(), "kind": "regular"}
    assert_422(form_post(client, f"/familier/{world.family.id}/vurderinger/ny", data), message)
    assert count(JourneyAssessment, family_id=world.family.id) == 0
    assert count(ThemeRating) == 0


def test_a_meeting_with_a_bad_assessment_keeps_nothing(world, login):
    client = login(world.member)
    data = {"held_on": world.today.isoformat(), "notes": "Skal ikke lagres", "team_bolig": "3",
            "new_0_title": "Skal heller ikke lagres", "new_0_owner": "family", "new_0_goal_id": "0"}
    response = form_post(client, f"/familier/{world.family.id}/moter/ny", data)
    assert_422(response, "Teamet må vurdere alle temaene")
    assert count(JourneyAssessment, family_id=world.family.id) == 0
    assert count(Action, family_id=world.family.id) == 0
    assert count(Meeting, family_id=world.family.id) == 0


# --- actions -------------------------------------------------------------------------------------

def test_action_owner_not_on_the_team(world, login):
    client = login(world.member)
    response = client.post(f"/api/v1/families/{world.family.id}/actions",
                           json={"title": "Søke bolig", "owner_user_id": world.outsider.id})
    assert response.status_code == 422
    assert "teamet" in response.get_json()["errors"]["owner"][0]
    # The form offers only the team and the family; anything else is not a valid choice.
    page = client.get(f"/familier/{world.family.id}/plan")
    token = factories.csrf_from(page.get_data(as_text=True))
    response = client.post(f"/familier/{world.family.id}/plan/tiltak",
                           data={"csrf_token": token, "title": "Søke", "owner": str(world.outsider.id),
                                 "goal_id": "0", "status": "planned"})
    assert_422(response, "Ikke et gyldig valg")
    # In the meeting form too, and the row is named.
    response = client.post(f"/api/v1/families/{world.family.id}/meetings",
                           json={"held_on": world.today.isoformat(),
                                 "new_actions": [{"title": "x", "owner_user_id": world.other_lead.id}]})
    assert response.status_code == 422 and "new_actions.0.owner" in response.get_json()["errors"]
    assert count(Action, family_id=world.family.id) == 0


# --- members -------------------------------------------------------------------------------------

def test_member_added_twice(world, login):
    client = login(world.member)
    body = {"first_name": "Anne", "last_name": "Berg", "birth_year": 1985, "role": "parent"}
    response = client.post(f"/api/v1/families/{world.family.id}/members", json=body)
    assert response.status_code == 422
    assert "allerede" in response.get_json()["errors"]["first_name"][0]
    response = form_post(client, f"/familier/{world.family.id}/medlemmer/ny",
                         {**{k: str(v) for k, v in body.items()}})
    assert_422(response, "er allerede med i familien")
    assert count(FamilyMember, family_id=world.family.id) == 4


# --- team memberships ----------------------------------------------------------------------------

def test_membership_ending_before_it_began(world, login):
    client = login(world.lead)
    row = db.session.scalar(select(TeamMembership).where(TeamMembership.user_id == world.member.id,
                                                         TeamMembership.family_id == world.family.id))
    before = (row.start_date - timedelta(days=1)).isoformat()
    response = client.post(f"/api/v1/families/{world.family.id}/team/memberships/{row.id}/end",
                           json={"end_date": before})
    assert response.status_code == 422
    assert "før det begynte" in response.get_json()["errors"]["end_date"][0]
    page = client.get(f"/familier/{world.family.id}/team")
    token = factories.csrf_from(page.get_data(as_text=True))
    response = client.post(f"/familier/{world.family.id}/team/medlemmer/{row.id}/avslutt",
                           data={"csrf_token": token, "end_date": before})
    assert_422(response, "Medlemskapet kan ikke slutte før det begynte.")
    response = client.post(f"/api/v1/families/{world.family.id}/team/memberships",
                           json={"user_id": world.outsider.id, "start_date": world.today.isoformat(),
                                 "end_date": (world.today - timedelta(days=1)).isoformat()})
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(TeamMembership, row.id).end_date is None
    assert count(TeamMembership, user_id=world.outsider.id) == 0


def test_member_added_to_the_team_twice(world, login):
    client = login(world.lead)
    response = client.post(f"/api/v1/families/{world.family.id}/team/memberships",
                           json={"user_id": world.member.id, "start_date": world.today.isoformat()})
    assert response.status_code == 422
    assert "allerede med i teamet" in response.get_json()["errors"]["user_id"][0]
    response = client.post(f"/api/v1/families/{world.family.id}/team/memberships",
                           json={"user_id": world.other_lead.id, "role": "lead",
                                 "start_date": world.today.isoformat()})
    assert response.status_code == 422  # one lead at a time
    assert count(TeamMembership, family_id=world.family.id) == 4


# --- consent -------------------------------------------------------------------------------------

def test_consent_by_a_child_under_the_configured_age(world, login):
    client = login(world.lead)  # the lead records consents (issue 12, item 13)
    lise = world.members()["Lise"]
    response = client.post(f"/api/v1/families/{world.family.id}/consents",
                           json={"agency_id": world.barnevern.id, "purpose": "team", "categories": ["bolig"],
                                 "given_by_member_id": lise.id, "given_on": world.today.isoformat()})
    assert response.status_code == 422
    assert "under 15 år" in response.get_json()["errors"]["given_by"][0]
    response = form_post(client, f"/familier/{world.family.id}/samtykke",
                         {"agency": str(world.barnevern.id), "purpose": "team", "categories": "bolig",
                          "given_by": str(lise.id), "valid_from": world.today.isoformat(), "method": "signed"})
    assert_422(response, "under 15 år og kan ikke gi eller trekke samtykke selv")
    assert count(Consent, family_id=world.family.id, agency_id=world.barnevern.id) == 0
    assert world.access(world.gated).gated


def _give(client, world, agency, **overrides):
    body = {"agency_id": agency.id, "purpose": "team", "categories": ["bolig"],
            "given_by_member_id": world.members()["Jonas"].id,
            "given_on": world.today.isoformat(), **overrides}
    return client.post(f"/api/v1/families/{world.family.id}/consents", json=body)


def test_a_gated_member_cannot_open_the_gate_by_recording_consent(world, login):
    """Issue 12, item 13: the member whose agency lacks consent may not record it (back-dated or
    not); the lead records it, and then the gate opens."""
    from velferdslab.audit.models import AuditEvent

    client = login(world.gated)
    assert client.get(f"/familier/{world.family.id}/plan").status_code == 403
    for given_on in (world.today, world.today - timedelta(days=3650)):
        response = _give(client, world, world.barnevern, given_on=given_on.isoformat())
        assert response.status_code == 403, response.get_json()
    assert count(Consent, family_id=world.family.id, agency_id=world.barnevern.id) == 0
    assert count(AuditEvent, action="consent.denied", actor_id=world.gated.id, family_id=world.family.id) == 2
    assert client.get(f"/familier/{world.family.id}/plan").status_code == 403
    # A caseworker with consent on the team may not record one for another agency either.
    assert _give(login(world.member), world, world.barnevern).status_code == 403

    response = _give(login(world.lead), world, world.barnevern)
    assert response.status_code == 201 and response.get_json()["valid"] is True
    assert client.get(f"/familier/{world.family.id}/plan").status_code == 200


def test_nobody_opens_or_renews_their_own_access_alone(world, login):
    """A consent for the recorder's own agency: a renewal of the one their access rests on is
    refused; one that would open their gate waits for a second person (not of that agency)."""
    from velferdslab.audit.models import AuditEvent
    from velferdslab.teams.models import TeamMembership

    response = _give(login(world.lead), world, world.nav)  # NAV's consent is what the lead's access rests on
    assert response.status_code == 403 and "agency" in response.get_json()["errors"]
    assert count(AuditEvent, action="consent.denied", actor_id=world.lead.id) == 1
    assert count(Consent, family_id=world.family.id, agency_id=world.nav.id) == 1  # the one given before

    # The gated caseworker (barnevern) becomes a lead of the team and records barnevern's consent.
    membership = db.session.query(TeamMembership).filter_by(family_id=world.family.id, user_id=world.gated.id).one()
    membership.role = "lead"
    world.gated.set_roles({"team_lead"})
    db.session.flush()
    gated = login(world.gated)
    created = _give(gated, world, world.barnevern)
    assert created.status_code == 201
    body = created.get_json()
    assert body["awaiting_confirmation"] is True and body["valid"] is False
    assert world.access(world.gated).gated
    confirm = f"/api/v1/families/{world.family.id}/consents/{body['id']}/confirm"
    assert gated.post(confirm).status_code == 403  # not by the one who recorded it
    confirmed = login(world.member).post(confirm)  # bolig, on the team: a second person
    assert confirmed.status_code == 201 and confirmed.get_json()["valid"] is True
    assert not world.access(world.gated).gated
    assert login(world.member).post(confirm).status_code == 409  # superseded now
    assert count(AuditEvent, action="consent.confirm", actor_id=world.member.id) == 1


def test_a_consent_is_never_dated_before_the_referral_or_in_the_future(world, login):
    referred_on = current_enrolment(world.family.id).referred_on
    client = login(world.lead)
    response = _give(client, world, world.barnevern, given_on=(referred_on - timedelta(days=1)).isoformat())
    assert response.status_code == 422 and "henvist" in response.get_json()["errors"]["valid_from"][0]
    response = _give(client, world, world.barnevern, given_on=(world.today + timedelta(days=1)).isoformat())
    assert response.status_code == 422 and "valid_from" in response.get_json()["errors"]
    assert count(Consent, family_id=world.family.id, agency_id=world.barnevern.id) == 0
    assert _give(client, world, world.barnevern, given_on=referred_on.isoformat()).status_code == 201


# --- unknown fields ------------------------------------------------------------------------------

@pytest.mark.parametrize("path, body", [
    ("/api/v1/families/{id}/assessments", {"assessed_on": "{today}", "ratings": "R", "is_current": False}),
    ("/api/v1/families/{id}/assessments", {"assessed_on": "{today}", "ratings": "R", "family_id": 1}),
    ("/api/v1/families/{id}/actions", {"title": "x", "owner_is_family": True, "family_id": 99}),
    ("/api/v1/families/{id}/members", {"first_name": "A", "last_name": "B", "birth_year": 2000, "role": "other",
                                       "national_id": "01010012345"}),
    ("/api/v1/families/{id}/meetings", {"held_on": "{today}", "created_by_id": 1}),
    ("/api/v1/families/{id}/consents", {"agency_id": 1, "purpose": "team", "given_by_member_id": 1,
                                        "categories": ["bolig"], "given_on": "{today}", "withdrawn_on": "{today}"}),
    ("/api/v1/families/{id}/team/memberships", {"user_id": 1, "start_date": "{today}", "team_id": 2}),
])
def test_unknown_fields_are_refused(world, login, path, body):
    client = login(world.lead)
    body = {k: (ratings() if v == "R" else v.replace("{today}", world.today.isoformat()) if isinstance(v, str)
                else v) for k, v in body.items()}
    before = {m: count(m) for m in (JourneyAssessment, Action, FamilyMember, Consent, TeamMembership)}
    response = client.post(path.format(id=world.family.id), json=body)
    assert response.status_code == 422
    unknown = [k for k in body if k in ("is_current", "family_id", "national_id", "created_by_id", "withdrawn_on",
                                        "team_id")]
    assert unknown[0] in response.get_json()["errors"]
    assert {m: count(m) for m in before} == before
