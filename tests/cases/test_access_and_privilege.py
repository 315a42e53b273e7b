"""Access and privilege (issue 12, items 10, 11, 14 and 15): each a hole found from outside, now closed.

10. A manager reads only the spend requests routed to management (and aggregates): a team's
    drafts and the requests its lead decides are the 404 of a missing request.
11. A user whose role no longer grants family work loses the family with the role, whatever
    memberships are left; team powers need the role as well as the lead membership.
14. The API puts on a team only staff who work with families, as the page does.
15. Refusals are filed in the family's lab, and a refusal for a missing role (403) is audited too.
"""

from __future__ import annotations

from sqlalchemy import select

from tests import factories
from tests.budget import factories as bf
from tests.cases.test_access_matrix import objects  # noqa: F401 - the fixture
from velferdslab.audit.actions import AuditAction
from velferdslab.audit.models import AuditEvent
from velferdslab.extensions import db

KR = 100


def _events(action: AuditAction) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == str(action))
                                   .order_by(AuditEvent.id)))


# --- 10: management sees what is routed to it -------------------------------------------------------

def test_a_manager_cannot_read_a_teams_draft_or_a_request_its_lead_decides(ctx, login):
    setup = bf.funded_family()
    draft = bf.spend(setup, 5_000 * KR, submit=False)
    for_the_lead = bf.spend(setup, 10_000 * KR)            # within the lead's 50 000 kr
    for_management = bf.spend(setup, 60_000 * KR)          # above it: management's queue
    assert (for_the_lead.route, for_management.route) == ("team", "management")
    manager = login(setup.manager)
    for spend in (draft, for_the_lead):
        for url in (f"/budsjett/utgifter/{spend.id}", f"/api/v1/spend-requests/{spend.id}"):
            response = manager.get(url)
            assert response.status_code == 404, url
            assert "Utleier AS" not in response.get_data(as_text=True)
        assert manager.post(f"/api/v1/spend-requests/{spend.id}/cancel", json={"reason": "Nei"}).status_code == 404
    assert manager.get(f"/api/v1/spend-requests/{for_management.id}").status_code == 200
    assert manager.post(f"/api/v1/spend-requests/{for_the_lead.id}/reject", json={"reason": "Nei"}).status_code == 404
    db.session.refresh(for_the_lead)
    assert for_the_lead.status == "requested"  # nothing changed
    assert len(_events(AuditAction.SPEND_DENIED)) >= 5


# --- 11: the role as well as the membership ----------------------------------------------------------

def test_a_caseworker_made_manager_loses_the_family_and_the_team_with_the_role(world, objects, login):  # noqa: F811
    from velferdslab.auth import services as auth_services

    auth_services.update_user(world.member, name=world.member.name, email=world.member.email, roles=["manager"],
                              agency_id=world.member.agency_id, active=True, actor=world.admin)
    client = login(world.member)
    family = world.family.id
    for url in (f"/familier/{family}", f"/familier/{family}/plan", f"/api/v1/families/{family}/goals",
                f"/familier/{family}/eksport.json", f"/api/v1/families/{family}/team"):
        assert client.get(url).status_code in (403, 404), url
    assert client.post(f"/api/v1/families/{family}/team/memberships",
                       json={"user_id": world.outsider.id, "start_date": world.today.isoformat()}).status_code == 404


def test_a_lead_whose_role_is_taken_away_leads_no_more(world, objects, login):  # noqa: F811
    from velferdslab.auth import services as auth_services

    auth_services.update_user(world.lead, name=world.lead.name, email=world.lead.email, roles=["caseworker"],
                              agency_id=world.lead.agency_id, active=True, actor=world.admin)
    client = login(world.lead)
    family = world.family.id
    assert client.get(f"/familier/{family}").status_code == 200  # still on the team, as a caseworker
    assert client.post(f"/api/v1/families/{family}/team/memberships",
                       json={"user_id": world.outsider.id, "start_date": world.today.isoformat()}).status_code == 403
    assert client.post(f"/api/v1/families/{family}/enrolments/{objects['enrolment_id']}/close",
                       json={"closed_on": world.today.isoformat(), "reason": "moved"}).status_code == 403


# --- 14: who may be put on a team ---------------------------------------------------------------------

def test_the_api_puts_no_manager_or_administrator_on_a_team(world, objects, login):  # noqa: F811
    client = login(world.lead)
    for user in (world.manager, world.admin):
        response = client.post(f"/api/v1/families/{world.family.id}/team/memberships",
                               json={"user_id": user.id, "start_date": world.today.isoformat()})
        assert response.status_code == 422 and "user_id" in response.get_json()["errors"]
    assert client.post(f"/api/v1/families/{world.family.id}/team/memberships",
                       json={"user_id": world.outsider.id, "start_date": world.today.isoformat()}).status_code == 201


# --- 15: refusals on the family's record ----------------------------------------------------------------

def test_an_attempt_from_another_lab_is_filed_in_the_familys_lab(world, objects, login):  # noqa: F811
    stranger_lab = factories.lab()
    stranger = factories.user(stranger_lab, ("team_lead",), None, name="Fremmed Leder")
    assert login(stranger).get(f"/familier/{world.family.id}").status_code == 404
    denied = _events(AuditAction.FAMILY_DENIED)[-1]
    assert (denied.actor_id, denied.family_id, denied.lab_id) == (stranger.id, world.family.id, world.lab.id)


def test_a_refusal_for_a_missing_role_is_audited(world, login):
    client = login(world.member)  # a caseworker: no spend.approve
    assert client.get("/budsjett/godkjenning").status_code == 403
    refused = _events(AuditAction.PERMISSION_DENIED)[-1]
    assert refused.actor_id == world.member.id
    assert refused.summary == {"permission": "spend.approve", "endpoint": "budget.lead_queue"}
