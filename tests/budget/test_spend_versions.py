"""Issue 13: drafts can be edited (by their requester or the family's lead), a rejected request is
revised as a new version, and the ledger stays exact through it all (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.budget.factories import KR, funded_family, spend, spend_data, year
from velferdslab.audit.actions import AuditAction
from velferdslab.audit.models import AuditEvent
from velferdslab.budget import ledger, queries, services
from velferdslab.budget.models import LedgerTransfer, SpendRequest
from velferdslab.core.errors import ConflictError, ForbiddenError, ServiceError
from velferdslab.extensions import db


@pytest.fixture
def setup(ctx, lab):
    return funded_family(lab, allocated=100_000 * KR)


def fresh(spend_id: int) -> SpendRequest:
    db.session.expire_all()
    return db.session.get(SpendRequest, spend_id)


def sums(spend_request) -> dict[str, int]:
    """øre moved for one request, by transfer kind."""
    rows = db.session.execute(select(LedgerTransfer.kind, func.sum(LedgerTransfer.amount))
                              .where(LedgerTransfer.spend_request_id == spend_request.id)
                              .group_by(LedgerTransfer.kind))
    return {kind: int(total) for kind, total in rows}


def audited(action: AuditAction, object_id: int) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == str(action),
                                                            AuditEvent.object_id == str(object_id))))


def rejected(setup, amount: int = 20_000 * KR) -> SpendRequest:
    request = spend(setup, amount)
    services.reject_spend(request.id, setup.lead, reason="For dyrt; finn et billigere depositum")
    return request


# --- drafts ------------------------------------------------------------------------------------------

def test_a_draft_reserves_nothing_and_is_in_no_queue(setup):
    draft = spend(setup, 18_500 * KR, submit=False)
    assert draft.status == "draft" and sums(draft) == {}
    assert ledger.family_balance(setup.family.id, year()).available == 100_000 * KR
    assert draft not in queries.lead_queue(setup.lead)
    assert draft not in queries.management_queue(setup.lab.id)


def test_the_requester_edits_a_draft_and_sends_it(setup):
    draft = spend(setup, 18_500 * KR, submit=False)
    services.update_draft(draft, setup.member, {"amount": 17_000 * KR, "payee": "Utleier Berg"})
    assert (draft.amount, draft.payee, draft.edited_by_id) == (17_000 * KR, "Utleier Berg", None)
    # The one agency paying follows the new amount (issue 17), and the audit row says so.
    assert audited(AuditAction.SPEND_UPDATE, draft.id)[-1].summary == {
        "fields": ["amount", "payee", "funding"], "funding": [{"agency": setup.agency.id, "amount": 17_000 * KR}]}
    services.submit_spend(draft.id, setup.member)
    assert draft.status == "requested" and draft in queries.lead_queue(setup.lead)
    with pytest.raises(ServiceError) as refused:
        services.update_draft(draft, setup.member, {"amount": 1 * KR})
    assert refused.value.status == 422 and fresh(draft.id).amount == 17_000 * KR


def test_another_caseworker_may_not_edit_a_draft(setup):
    other = factories.user(setup.lab, roles=("caseworker",), agency=setup.agency)
    factories.team_member(setup.family, other)
    draft = spend(setup, 18_500 * KR, submit=False)
    with pytest.raises(ForbiddenError):
        services.update_draft(draft, other, {"amount": 1 * KR})
    assert fresh(draft.id).amount == 18_500 * KR


def test_the_lead_may_edit_a_draft_but_then_not_approve_it(setup, lab):
    draft = spend(setup, 18_500 * KR, submit=False)
    services.update_draft(draft, setup.lead, {"purpose": "Depositum og flyttebil"})
    assert draft.edited_by_id == setup.lead.id
    services.submit_spend(draft.id, setup.member)
    # The only lead shaped the request, so it goes to management, and the lead may not approve it.
    assert draft.route == "management"
    with pytest.raises(ForbiddenError):
        services.approve_spend(draft.id, setup.lead)
    services.approve_spend(draft.id, setup.manager)
    assert fresh(draft.id).status == "approved"


def test_only_the_requester_sends_a_draft(setup):
    draft = spend(setup, 18_500 * KR, submit=False)
    with pytest.raises(ForbiddenError):
        services.submit_spend(draft.id, setup.lead)


# --- revisions ---------------------------------------------------------------------------------------

def test_a_rejected_request_is_revised_and_the_ledger_stays_exact(setup, lab):
    first = rejected(setup, 20_000 * KR)
    assert sums(first) == {} and ledger.family_balance(setup.family.id, year()).available == 100_000 * KR
    second = services.revise_spend(first.id, setup.member, {"amount": 15_000 * KR})
    assert (second.version, second.revises_id, second.status) == (2, first.id, "draft")
    assert (second.payee, second.goal_id, second.budget_year) == (first.payee, first.goal_id, first.budget_year)
    assert sums(second) == {}  # a draft reserves nothing
    # The rejected one is unchanged: its reason and decision are its history.
    first = fresh(first.id)
    assert first.status == "rejected" and first.rejection_reason.startswith("For dyrt")
    assert [d.decision for d in first.decisions] == ["reject"]
    assert services.versions(second) == [first, second] == services.versions(first)
    event = audited(AuditAction.SPEND_REVISE, second.id)[-1]
    assert event.summary == {"revises": first.id, "version": 2, "amount": 15_000 * KR, "fields": ["amount", "funding"],
                             "funding": [{"agency": setup.agency.id, "amount": 15_000 * KR}]}

    services.submit_spend(second.id, setup.member)
    services.approve_spend(second.id, setup.lead)
    assert sums(second) == {"reserve": 15_000 * KR} and sums(first) == {}
    assert ledger.family_balance(setup.family.id, year()) == ledger.FamilyBalance(
        allocated=100_000 * KR, committed=15_000 * KR, paid=0, available=85_000 * KR)
    services.pay_spend(second.id, setup.lead, paid_on=second.submitted_at.date(), reference="Bilag 12")
    assert ledger.family_balance(setup.family.id, year()) == ledger.FamilyBalance(
        allocated=100_000 * KR, committed=0, paid=15_000 * KR, available=85_000 * KR)
    assert ledger.verify(lab.id) == []


def test_a_revision_sent_at_once_is_checked_like_a_new_request(setup):
    first = rejected(setup, 20_000 * KR)
    with pytest.raises(ServiceError) as refused:  # in a savepoint, as the pages and the API run it
        ledger.run_with_retries(lambda: services.revise_spend(first.id, setup.member, {"amount": 150_000 * KR},
                                                              submit=True))
    assert refused.value.field == "amount"
    assert services.revision_of(first) is None  # nothing half-made
    with pytest.raises(ServiceError) as refused:
        services.revise_spend(first.id, setup.member, {"theme": "arbeid"})
    assert refused.value.field == "goal_id"  # the goal is a housing goal
    second = services.revise_spend(first.id, setup.member, {}, submit=True)
    assert second.status == "requested" and second.route == "team"


@pytest.mark.parametrize("state", ["draft", "requested", "approved", "cancelled"])
def test_revising_a_request_that_was_not_rejected_is_409(setup, state):
    request = spend(setup, 10_000 * KR, submit=state != "draft")
    if state == "approved":
        services.approve_spend(request.id, setup.lead)
    if state == "cancelled":
        services.cancel_spend(request.id, setup.member, reason="Trengs ikke")
    with pytest.raises(ConflictError):
        services.revise_spend(request.id, setup.member, {})
    assert db.session.scalar(select(func.count()).select_from(SpendRequest)) == 1


def test_a_request_is_revised_once_and_the_next_rejection_revised_again(setup):
    first = rejected(setup)
    second = services.revise_spend(first.id, setup.member, {"amount": 12_000 * KR}, submit=True)
    with pytest.raises(ConflictError):
        services.revise_spend(first.id, setup.member, {})
    services.reject_spend(second.id, setup.lead, reason="Fortsatt for dyrt")
    third = services.revise_spend(second.id, setup.member, {"amount": 9_000 * KR})
    assert third.version == 3 and services.versions(first) == [first, second, third]


def test_who_may_revise(setup):
    first = rejected(setup)
    other = factories.user(setup.lab, roles=("caseworker",), agency=setup.agency)
    factories.team_member(setup.family, other)
    with pytest.raises(ForbiddenError):
        services.revise_spend(first.id, other, {})
    outsider = factories.user(setup.lab, roles=("caseworker",), agency=setup.agency)
    with pytest.raises(Exception) as hidden:  # off the team: the family's 404
        services.revise_spend(first.id, outsider, {})
    assert getattr(hidden.value, "code", None) == 404
    # The lead may revise; the new version is then the lead's own, so the lead may not approve it.
    second = services.revise_spend(first.id, setup.lead, {"amount": 10_000 * KR}, submit=True)
    assert second.requester_id == setup.lead.id and second.route == "management"
    with pytest.raises(ForbiddenError):
        services.approve_spend(second.id, setup.lead)


# --- the API -------------------------------------------------------------------------------------------

def test_the_api_revises_with_an_idempotency_key_and_shows_the_link(setup, login):
    first = rejected(setup)
    client = login(setup.member)
    headers = {"Idempotency-Key": "revise-0001-abcdef"}
    response = client.post(f"/api/v1/spend-requests/{first.id}/revise", json={"amount": 15_000 * KR, "submit": True},
                           headers=headers)
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["version"], body["revises_id"], body["status"], body["amount"]) == (2, first.id, "requested",
                                                                                      15_000 * KR)
    again = client.post(f"/api/v1/spend-requests/{first.id}/revise", json={"amount": 15_000 * KR, "submit": True},
                        headers=headers)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json["id"] == body["id"]
    assert db.session.scalar(select(func.count()).select_from(SpendRequest)) == 2
    old = client.get(f"/api/v1/spend-requests/{first.id}").json
    assert (old["status"], old["version"], old["revised_by_id"]) == ("rejected", 1, body["id"])
    # Without a key a second revision is 409; a different body under the same key is 422.
    assert client.post(f"/api/v1/spend-requests/{first.id}/revise", json={}).status_code == 409
    assert client.post(f"/api/v1/spend-requests/{first.id}/revise", json={"amount": 1},
                       headers=headers).status_code == 422


def test_the_api_refuses_to_revise_what_was_not_rejected(setup, login):
    request = spend(setup, 10_000 * KR)
    response = login(setup.member).post(f"/api/v1/spend-requests/{request.id}/revise", json={})
    assert response.status_code == 409 and "status" in response.json["errors"]


def test_the_api_refuses_a_draft_edit_by_another_caseworker(setup, login):
    other = factories.user(setup.lab, roles=("caseworker",), agency=setup.agency)
    factories.team_member(setup.family, other)
    outsider = factories.user(setup.lab, roles=("caseworker",), agency=setup.agency)
    draft = spend(setup, 18_500 * KR, submit=False)
    assert login(other).patch(f"/api/v1/spend-requests/{draft.id}", json={"amount": 1}).status_code == 403
    assert login(outsider).patch(f"/api/v1/spend-requests/{draft.id}", json={"amount": 1}).status_code == 404
    assert fresh(draft.id).amount == 18_500 * KR


def test_the_api_lets_the_requester_edit_a_draft(setup, login):
    draft = spend(setup, 18_500 * KR, submit=False)
    response = login(setup.member).patch(f"/api/v1/spend-requests/{draft.id}", json={"amount": 17_000 * KR})
    assert response.status_code == 200 and response.json["amount"] == 17_000 * KR


# --- the pages -----------------------------------------------------------------------------------------

def _form(setup, spend_request, **changes) -> dict:
    data = spend_data(setup, spend_request.amount)
    form = {"amount": str(spend_request.amount // KR), "payee": data["payee"], "purpose": data["purpose"],
            "category": "deposit", "theme": "bolig", "goal_id": str(setup.goal.id),
            "expected_effect": data["expected_effect"], "level_from": "1", "level_to": "3",
            "wanted_on": data["wanted_on"].isoformat(), "action": "draft"}
    form.update(changes)
    return form


def test_the_edit_page_changes_a_draft_and_sends_it(setup, login):
    draft = spend(setup, 18_500 * KR, submit=False)
    client = login(setup.member)
    detail = client.get(f"/budsjett/utgifter/{draft.id}").get_data(as_text=True)
    assert f"/budsjett/utgifter/{draft.id}/endre" in detail
    url = f"/budsjett/utgifter/{draft.id}/endre"
    page = client.get(url).get_data(as_text=True)
    assert "Endre utkast for" in page and 'value="18\xa0500"' in page
    response = client.post(url, data={"csrf_token": factories.csrf_from(page),
                                      **_form(setup, draft, amount="17 250", action="submit")})
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    draft = fresh(draft.id)
    assert (draft.amount, draft.status) == (17_250 * KR, "requested")


def test_the_lead_edits_a_draft_on_the_page_but_only_the_requester_sends_it(setup, login):
    draft = spend(setup, 18_500 * KR, submit=False)
    client = login(setup.lead)
    url = f"/budsjett/utgifter/{draft.id}/endre"
    page = client.get(url).get_data(as_text=True)
    assert 'value="submit"' not in page and 'value="draft"' in page
    response = client.post(url, data={"csrf_token": factories.csrf_from(page), **_form(setup, draft, payee="Ny")})
    assert response.status_code == 302
    draft = fresh(draft.id)
    assert (draft.payee, draft.edited_by_id, draft.status) == ("Ny", setup.lead.id, "draft")
    assert client.post(url, data={"csrf_token": factories.csrf_from(page),
                                  **_form(setup, draft, action="submit")}).status_code == 403
    assert fresh(draft.id).status == "draft"


def test_the_edit_page_refuses_another_caseworker_and_a_theme_mismatch(setup, login):
    other = factories.user(setup.lab, roles=("caseworker",), agency=setup.agency)
    factories.team_member(setup.family, other)
    draft = spend(setup, 18_500 * KR, submit=False)
    url = f"/budsjett/utgifter/{draft.id}/endre"
    assert login(other).get(url).status_code == 403
    client = login(setup.member)
    page = client.get(url).get_data(as_text=True)
    response = client.post(url, data={"csrf_token": factories.csrf_from(page), **_form(setup, draft, theme="arbeid")})
    assert response.status_code == 422
    assert "Målet hører til temaet" in response.get_data(as_text=True)
    assert fresh(draft.id).theme == "bolig"


def test_the_revise_page_makes_version_2_and_the_history_shows_both(setup, login):
    first = rejected(setup, 20_000 * KR)
    client = login(setup.member)
    detail = client.get(f"/budsjett/utgifter/{first.id}").get_data(as_text=True)
    url = f"/budsjett/utgifter/{first.id}/revider"
    assert url in detail
    page = client.get(url).get_data(as_text=True)
    assert "Revider utgift for" in page and "For dyrt" in page
    response = client.post(url, data={"csrf_token": factories.csrf_from(page),
                                      **_form(setup, first, amount="14 000", action="submit")})
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    second = db.session.scalars(select(SpendRequest).where(SpendRequest.revises_id == first.id)).one()
    assert (second.version, second.amount, second.status) == (2, 14_000 * KR, "requested")
    shown = client.get(f"/budsjett/utgifter/{second.id}").get_data(as_text=True)
    assert "Versjon 2 — revidert etter avslag" in shown and "For dyrt; finn et billigere depositum" in shown
    assert 'data-spend-version="1"' in shown and 'data-spend-version="2"' in shown
    # The rejected one offers no second revision, and the page for it says so.
    assert url not in client.get(f"/budsjett/utgifter/{first.id}").get_data(as_text=True)
    assert client.get(url).status_code == 200 and fresh(first.id).status == "rejected"
    assert client.post(url, data={"csrf_token": factories.csrf_from(page), **_form(setup, first)}).status_code == 409


def test_management_sees_only_the_versions_sent_to_it(setup, login):
    first = rejected(setup, 20_000 * KR)  # decided by the lead: not management's
    second = services.revise_spend(first.id, setup.member, {"amount": 60_000 * KR}, submit=True)
    assert second.route == "management"
    client = login(setup.manager)
    shown = client.get(f"/budsjett/utgifter/{second.id}").get_data(as_text=True)
    assert "For dyrt" not in shown and 'data-spend-version="1"' not in shown
    assert client.get(f"/budsjett/utgifter/{first.id}").status_code == 404
    shown = login(setup.member).get(f"/budsjett/utgifter/{second.id}").get_data(as_text=True)
    assert "Versjon 2 — revidert etter avslag" in shown and 'data-spend-version="1"' in shown
