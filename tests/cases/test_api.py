"""The cases API: a whole meeting's work, versions, the gated view, the OpenAPI document."""

from datetime import timedelta

from sqlalchemy import select

from tests.cases.world import ratings
from velferdslab.cases.journey.models import JourneyAssessment
from velferdslab.cases.plan.models import Action
from velferdslab.extensions import db


def test_a_whole_meeting_through_the_api(world, login):
    client = login(world.member)
    fid = world.family.id
    members = client.get(f"/api/v1/families/{fid}/members").get_json()
    anne = next(m for m in members if m["first_name"] == "Anne")
    old = client.post(f"/api/v1/families/{fid}/actions",
                      json={"title": "Ringe huseier", "owner_user_id": world.lead.id,
                            "due_on": (world.today - timedelta(days=3)).isoformat()}).get_json()
    assert old["overdue"] is True
    body = {
        "held_on": world.today.isoformat(),
        "attendee_user_ids": [world.member.id, world.lead.id],
        "attendee_member_ids": [anne["id"]],
        "notes": "Familien har fått tilbud om bolig.",
        "decisions": "Teamet dekker depositum.",
        "next_meeting_on": (world.today + timedelta(days=35)).isoformat(),
        "assessment": {"ratings": ratings({"bolig": 3, "okonomi": 1}) + ratings({"bolig": 2}, "family")[:1],
                       "overall_level": 3, "override_reason": "Boligen løser mye"},
        "action_updates": [{"id": old["id"], "status": "done"}],
        "new_actions": [{"title": "Søke depositum", "owner_user_id": world.member.id,
                         "due_on": (world.today + timedelta(days=14)).isoformat()},
                        {"title": "Pakke", "owner_is_family": True}],
    }
    response = client.post(f"/api/v1/families/{fid}/meetings", json=body)
    assert response.status_code == 201, response.get_json()
    meeting = response.get_json()
    assert meeting["decisions"] == "Teamet dekker depositum." and len(meeting["action_ids"]) == 2
    assessment = client.get(f"/api/v1/families/{fid}/assessments/{meeting['assessment_id']}").get_json()
    assert (assessment["overall_level"], assessment["suggested_level"]) == (3, 2)
    assert assessment["override_reason"] == "Boligen løser mye"
    assert {(r["theme"], r["perspective"]) for r in assessment["ratings"]} >= {("bolig", "team"),
                                                                                ("bolig", "family")}
    actions = client.get(f"/api/v1/families/{fid}/actions").get_json()
    assert next(a for a in actions if a["id"] == old["id"])["status"] == "done"
    family = client.get(f"/api/v1/families/{fid}").get_json()
    assert family["overall_level"] == 3 and family["next_meeting_on"] == body["next_meeting_on"]
    listing = client.get("/api/v1/families").get_json()
    assert [f["id"] for f in listing] == [fid] and listing[0]["overall_level"] == 3


def test_corrections_keep_the_history(world, login):
    client = login(world.member)
    fid = world.family.id
    first = client.post(f"/api/v1/families/{fid}/assessments",
                        json={"assessed_on": world.today.isoformat(), "ratings": ratings({"helse": 1})}).get_json()
    second = client.post(f"/api/v1/families/{fid}/assessments/{first['id']}/corrections",
                         json={"assessed_on": world.today.isoformat(), "ratings": ratings({"helse": 2}),
                               "correction_reason": "Skrivefeil"})
    assert second.status_code == 201
    second = second.get_json()
    assert (second["version"], second["supersedes_id"], second["versions"]) == (2, first["id"],
                                                                                 [second["id"], first["id"]])
    old = client.get(f"/api/v1/families/{fid}/assessments/{first['id']}").get_json()
    assert old["is_current"] is False and {r["level"] for r in old["ratings"] if r["theme"] == "helse"} == {1}
    current = client.get(f"/api/v1/families/{fid}/assessments").get_json()
    assert [a["id"] for a in current] == [second["id"]]
    again = client.post(f"/api/v1/families/{fid}/assessments/{first['id']}/corrections",
                        json={"assessed_on": world.today.isoformat(), "ratings": ratings(),
                              "correction_reason": "Igjen"})
    assert again.status_code == 409


def test_the_gated_view_through_the_api_holds_no_case_content(world, login):
    lead = login(world.lead)
    fid = world.family.id
    lead.post(f"/api/v1/families/{fid}/meetings", json={"held_on": world.today.isoformat(),
                                                        "notes": "Helseopplysning", "decisions": "Vedtak",
                                                        "attendee_user_ids": [world.gated.id]})
    client = login(world.gated)
    family = client.get(f"/api/v1/families/{fid}").get_json()
    assert family["gated"] is True
    assert "overall_level" not in family and "themes" not in family
    assert "referral_reason" not in family["enrolment"]
    assert all("birth_year" not in m for m in family["members"])
    meetings = client.get(f"/api/v1/families/{fid}/meetings").get_json()
    assert meetings and all("notes" not in m and "decisions" not in m for m in meetings)
    assert meetings[0]["attendee_user_ids"] == [world.gated.id]
    listing = client.get("/api/v1/families").get_json()
    assert listing[0]["gated"] is True and "overall_level" not in listing[0]
    for path in ("assessments", "goals", "actions", "themes", "enrolments"):
        assert client.get(f"/api/v1/families/{fid}/{path}").status_code == 403, path


def test_search_finds_by_household_and_member_name_among_visible_families_only(world, login):
    client = login(world.member)
    assert [f["id"] for f in client.get("/api/v1/families?q=berg").get_json()] == [world.family.id]
    assert [f["id"] for f in client.get("/api/v1/families?q=jonas").get_json()] == [world.family.id]
    assert client.get("/api/v1/families?q=annen").get_json() == []  # exists, but not on the team
    page = client.get("/familier?q=Lise").get_data(as_text=True)
    assert "Familien Berg" in page and "Familien Annen" not in page


def test_team_api(world, login):
    client = login(world.lead)
    fid = world.family.id
    team = client.get(f"/api/v1/families/{fid}/team").get_json()
    assert {m["user_id"] for m in team["memberships"]} == {world.lead.id, world.member.id, world.gated.id,
                                                          world.no_agency.id}
    added = client.post(f"/api/v1/families/{fid}/team/memberships",
                        json={"user_id": world.outsider.id, "start_date": world.today.isoformat()})
    assert added.status_code == 201
    row = next(m for m in added.get_json()["memberships"] if m["user_id"] == world.outsider.id)
    ended = client.post(f"/api/v1/families/{fid}/team/memberships/{row['id']}/end",
                        json={"end_date": world.today.isoformat()})
    assert ended.status_code == 200
    assert login(world.member).post(f"/api/v1/families/{fid}/team/memberships",
                                    json={"user_id": world.outsider.id,
                                          "start_date": world.today.isoformat()}).status_code == 403
    moved = client.post(f"/api/v1/families/{fid}/team/lead",
                        json={"user_id": world.other_lead.id, "on": world.today.isoformat()})
    assert moved.status_code == 200
    current = {(m["user_id"], m["role"]) for m in moved.get_json()["memberships"] if m["current"]}
    assert (world.other_lead.id, "lead") in current and (world.lead.id, "member") in current
    assert (world.lead.id, "lead") not in current


def test_the_openapi_document_describes_the_resources(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    for path in ("/api/v1/families", "/api/v1/families/{family_id}", "/api/v1/families/{family_id}/members",
                 "/api/v1/families/{family_id}/enrolments/{enrolment_id}/close",
                 "/api/v1/families/{family_id}/consents", "/api/v1/families/{family_id}/assessments",
                 "/api/v1/families/{family_id}/assessments/{assessment_id}/corrections",
                 "/api/v1/families/{family_id}/goals", "/api/v1/families/{family_id}/actions",
                 "/api/v1/families/{family_id}/meetings", "/api/v1/families/{family_id}/team/memberships"):
        assert path in paths, path
    assert "post" in paths["/api/v1/families/{family_id}/meetings"]


def test_api_writes_are_audited_without_the_text(world, login):
    from velferdslab.audit.models import AuditEvent

    client = login(world.member)
    client.post(f"/api/v1/families/{world.family.id}/meetings",
                json={"held_on": world.today.isoformat(), "notes": "Sensitiv helsetekst"})
    db.session.expire_all()
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.family_id == world.family.id,
                                                       AuditEvent.action == "meeting.create")).all()
    assert len(rows) == 1 and "Sensitiv" not in str(rows[0].summary)
    assert db.session.scalar(select(JourneyAssessment.id)) is None
    assert db.session.scalar(select(Action.id)) is None
