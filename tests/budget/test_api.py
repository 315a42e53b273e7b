"""The budget API: amounts as integer øre, forbidden fields, idempotency, maker–checker, statuses."""

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.budget.factories import KR, funded_family, spend, spend_data, year
from velferdslab.audit.models import AuditEvent
from velferdslab.budget import ledger
from velferdslab.budget.models import LedgerTransfer, SpendRequest
from velferdslab.extensions import db


def fresh(spend_id: int) -> SpendRequest:
    """The request as the database has it now (requests ran in their own sessions)."""
    db.session.expire_all()
    return db.session.get(SpendRequest, spend_id)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def json_body(setup, amount, **overrides):
    body = spend_data(setup, amount, **overrides)
    body["wanted_on"] = body["wanted_on"].isoformat()
    return body


@pytest.fixture
def setup(ctx, lab):
    return funded_family(lab, allocated=100_000 * KR)


def test_a_team_member_creates_and_submits_through_the_api(setup, login):
    client = login(setup.member)
    response = client.post(f"/api/v1/families/{setup.family.id}/spend-requests",
                           json={**json_body(setup, 18_500 * KR), "submit": True})
    assert response.status_code == 201, response.json
    assert response.json["amount"] == 1_850_000 and response.json["status"] == "requested"
    assert response.json["route"] == "team"
    budget = client.get(f"/api/v1/families/{setup.family.id}/budget").json
    assert (budget["allocated"], budget["available"]) == (100_000 * KR, 100_000 * KR)
    assert [s["id"] for s in budget["spend_requests"]] == [response.json["id"]]


BAD_AMOUNTS = [18500.5, 18500.0, "18500", True, -100, 0, 10**12, None, 1e400]


@pytest.mark.parametrize("amount", BAD_AMOUNTS, ids=repr)
def test_bad_amounts_get_422_and_nothing_is_stored(setup, login, amount):
    """Item 13: floats, strings, negatives, zero, over the ceiling, infinity → 422."""
    client = login(setup.member)
    before = count(SpendRequest)
    response = client.post(f"/api/v1/families/{setup.family.id}/spend-requests",
                           json={**json_body(setup, 1), "amount": amount})
    assert response.status_code == 422
    assert "amount" in response.json["errors"]
    assert count(SpendRequest) == before


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1.005", "1e3"])
def test_non_integer_json_literals_get_422(setup, login, literal):
    client = login(setup.member)
    body = json_body(setup, 1)
    raw = "{" + ", ".join(f'"{k}": {v!r}'.replace("'", '"') for k, v in body.items() if k != "amount")
    raw += f', "amount": {literal}' + "}"
    response = client.post(f"/api/v1/families/{setup.family.id}/spend-requests", data=raw,
                           content_type="application/json")
    assert response.status_code == 422 and "amount" in response.json["errors"]
    assert count(SpendRequest) == 0


@pytest.mark.parametrize("field, value", [("approved_by", 1), ("team_id", 1), ("status", "approved"),
                                          ("requester_id", 1), ("route", "team")])
def test_unknown_or_forbidden_fields_get_422_and_change_nothing(setup, login, field, value):
    """Item 3 for the budget: mass assignment is refused."""
    client = login(setup.member)
    response = client.post(f"/api/v1/families/{setup.family.id}/spend-requests",
                           json={**json_body(setup, 1_000 * KR), field: value})
    assert response.status_code == 422 and field in response.json["errors"]
    assert count(SpendRequest) == 0


def test_approve_refuses_any_body_field(setup, login):
    request = spend(setup, 1_000 * KR)
    client = login(setup.lead)
    response = client.post(f"/api/v1/spend-requests/{request.id}/approve", json={"approved_by": setup.lead.id})
    assert response.status_code == 422
    assert fresh(request.id).status == "requested"


def test_amount_on_an_approved_spend_gets_422(setup, login):
    request = spend(setup, 1_000 * KR)
    login(setup.lead).post(f"/api/v1/spend-requests/{request.id}/approve")
    response = login(setup.member).patch(f"/api/v1/spend-requests/{request.id}", json={"amount": 500 * KR})
    assert response.status_code == 422 and "amount" in response.json["errors"]
    db.session.expire_all()
    assert fresh(request.id).amount == 1_000 * KR


def test_replaying_an_approval_makes_one_ledger_entry_and_one_audit_row(setup, login):
    """Item 14."""
    request = spend(setup, 2_000 * KR)
    client = login(setup.lead)
    headers = {"Idempotency-Key": "approve-2f9c41d8"}
    first = client.post(f"/api/v1/spend-requests/{request.id}/approve", headers=headers)
    second = client.post(f"/api/v1/spend-requests/{request.id}/approve", headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.headers.get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first.headers
    assert first.json == second.json
    assert count(LedgerTransfer, LedgerTransfer.spend_request_id == request.id) == 1
    assert count(AuditEvent, AuditEvent.action == "spend.approve", AuditEvent.object_id == str(request.id)) == 1
    # Without the key, a second approval is a different decision: 409.
    third = client.post(f"/api/v1/spend-requests/{request.id}/approve")
    assert third.status_code == 409
    assert count(LedgerTransfer, LedgerTransfer.spend_request_id == request.id) == 1


def test_replaying_a_payment_pays_once(setup, login):
    request = spend(setup, 2_000 * KR)
    client = login(setup.lead)
    client.post(f"/api/v1/spend-requests/{request.id}/approve")
    body = {"paid_on": factories_today(), "reference": "Bilag 17"}
    headers = {"Idempotency-Key": "pay-7d0e55aa41"}
    responses = [client.post(f"/api/v1/spend-requests/{request.id}/pay", json=body, headers=headers)
                 for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert count(LedgerTransfer, LedgerTransfer.spend_request_id == request.id,
                 LedgerTransfer.kind == "payment") == 1
    assert ledger.family_balance(setup.family.id, year()).paid == 2_000 * KR


def factories_today():
    from velferdslab.core.models import today_local

    return today_local().isoformat()


def test_a_key_reused_for_another_request_gets_422(setup, login):
    first, second = spend(setup, 1_000 * KR), spend(setup, 1_000 * KR)
    client = login(setup.lead)
    headers = {"Idempotency-Key": "same-key-0001"}
    assert client.post(f"/api/v1/spend-requests/{first.id}/approve", headers=headers).status_code == 200
    response = client.post(f"/api/v1/spend-requests/{second.id}/approve", headers=headers)
    assert response.status_code == 422 and "idempotency_key" in response.json["errors"]
    assert fresh(second.id).status == "requested"


def test_own_approval_gets_403_and_an_audit_row(setup, login):
    """Item 15: also through a second role — a requester who is lead and manager is refused."""
    both = factories.user(setup.lab, roles=("team_lead", "manager"), agency=setup.agency)
    factories.team_member(setup.family, both, role="lead")
    request = spend(setup, 60_000 * KR, requester=both)
    client = login(both)
    response = client.post(f"/api/v1/spend-requests/{request.id}/approve")
    assert response.status_code == 403
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "spend.approve_denied",
                                                       AuditEvent.object_id == str(request.id))).all()
    assert len(rows) == 1 and rows[0].actor_id == both.id and rows[0].summary == {"reason": "own_request"}
    assert fresh(request.id).status == "requested"
    assert count(LedgerTransfer, LedgerTransfer.spend_request_id == request.id) == 0


def test_own_approval_with_an_api_token_is_refused_too(setup, login, app):
    request = spend(setup, 1_000 * KR, requester=setup.lead)
    client = login(setup.lead)
    token = client.post("/api/v1/tokens", json={"name": "skript"}).json["token"]
    bare = app.test_client()
    response = bare.post(f"/api/v1/spend-requests/{request.id}/approve",
                         headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


def test_a_lead_of_another_team_gets_404_like_a_missing_request(setup, login):
    other = funded_family(setup.lab, agency=setup.agency)
    request = spend(setup, 1_000 * KR)
    client = login(other.lead)
    denied = client.post(f"/api/v1/spend-requests/{request.id}/approve")
    missing = client.post("/api/v1/spend-requests/999999/approve")
    assert denied.status_code == missing.status_code == 404
    assert denied.json["message"] == missing.json["message"]
    assert client.get(f"/api/v1/spend-requests/{request.id}").status_code == 404
    assert client.get(f"/api/v1/families/{setup.family.id}/budget").status_code == 404
    assert count(AuditEvent, AuditEvent.action == "spend.denied", AuditEvent.family_id == setup.family.id) >= 2
    assert fresh(request.id).status == "requested"


def test_paying_a_rejected_request_is_a_conflict(setup, login):
    request = spend(setup, 1_000 * KR)
    client = login(setup.lead)
    client.post(f"/api/v1/spend-requests/{request.id}/reject", json={"reason": "Dekkes av NAV"})
    response = client.post(f"/api/v1/spend-requests/{request.id}/pay",
                           json={"paid_on": factories_today(), "reference": "x"})
    assert response.status_code == 409
    assert count(LedgerTransfer, LedgerTransfer.spend_request_id == request.id) == 0


def test_approving_beyond_the_budget_gets_422(setup, login):
    big = spend(setup, 45_000 * KR)
    client = login(setup.lead)
    spend(setup, 45_000 * KR)
    assert client.post(f"/api/v1/spend-requests/{big.id}/approve").status_code == 200
    third = spend(setup, 40_000 * KR)  # 55 000 left at submission: fine
    second = db.session.scalars(select(SpendRequest).where(SpendRequest.amount == 45_000 * KR,
                                                           SpendRequest.id != big.id)).one()
    assert client.post(f"/api/v1/spend-requests/{second.id}/approve").status_code == 200
    response = client.post(f"/api/v1/spend-requests/{third.id}/approve")
    assert response.status_code == 422 and "amount" in response.json["errors"]
    assert fresh(third.id).status == "requested"


def test_queues_pool_and_rules(setup, login):
    small, big = spend(setup, 1_000 * KR), spend(setup, 70_000 * KR)
    lead_queue = login(setup.lead).get("/api/v1/queues/team").json
    assert [item["id"] for item in lead_queue] == [small.id]
    assert lead_queue[0]["family_available"] == 100_000 * KR
    manager = login(setup.manager)
    assert [item["id"] for item in manager.get("/api/v1/queues/management").json] == [big.id]
    pool = manager.get(f"/api/v1/pool?year={year()}").json
    assert pool["totals"]["allocated"] == 100_000 * KR and pool["totals"]["delegated"] == 200_000 * KR
    assert manager.get("/api/v1/authority-rules").json["current"]["version"] == 1
    assert manager.post("/api/v1/authority-rules", json={"rules": [{"role": "manager"}]}).status_code == 403
    assert login(setup.member).get("/api/v1/queues/team").status_code == 403


def test_an_administrator_saves_a_new_rule_version(setup, login):
    admin = factories.user(setup.lab, roles=("admin",))
    client = login(admin)
    response = client.post("/api/v1/authority-rules", json={"note": "Lavere grense", "rules": [
        {"role": "team_lead", "max_per_spend": 30_000 * KR},
        {"role": "manager", "max_per_spend": 250_000 * KR},
        {"role": "manager", "max_per_spend": None, "approvals_required": 2}]})
    assert response.status_code == 201, response.json
    assert response.json["version"] == 2
    bad = client.post("/api/v1/authority-rules", json={"rules": [{"role": "manager", "max_per_spend": 1.5}]})
    assert bad.status_code == 422
    assert client.get("/api/v1/authority-rules").json["current"]["version"] == 2


def test_delegation_and_allocation_through_the_api(setup, login):
    manager = login(setup.manager)
    response = manager.post("/api/v1/delegations", json={
        "agency_id": setup.agency.id, "year": year(), "amount": 500_000 * KR,
        "decision_reference": "NAV 2026/44", "decided_on": factories_today()})
    assert response.status_code == 201, response.json
    assert manager.post("/api/v1/delegations", json={
        "agency_id": setup.agency.id, "year": year(), "amount": 5.5,
        "decision_reference": "x", "decided_on": factories_today()}).status_code == 422
    allocated = manager.post("/api/v1/allocations", json={"family_id": setup.family.id, "agency_id": setup.agency.id,
                                                          "year": year(), "amount": 10_000 * KR})
    assert allocated.status_code == 201, allocated.json
    returned = manager.post("/api/v1/allocation-returns", json={
        "family_id": setup.family.id, "agency_id": setup.agency.id, "year": year(), "amount": 110_000 * KR + 1})
    assert returned.status_code == 422
    rows = manager.get(f"/api/v1/allocations?year={year()}").json
    assert [r["allocated"] for r in rows if r["family_id"] == setup.family.id] == [110_000 * KR]
    assert ledger.verify(setup.lab.id) == []


def test_the_budget_api_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/api/v1/delegations", "/api/v1/pool", "/api/v1/allocations",
                 "/api/v1/families/{family_id}/spend-requests", "/api/v1/spend-requests/{spend_id}/approve",
                 "/api/v1/spend-requests/{spend_id}/pay", "/api/v1/queues/team", "/api/v1/queues/management",
                 "/api/v1/authority-rules"):
        assert path in paths, path
    approve = paths["/api/v1/spend-requests/{spend_id}/approve"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in approve["parameters"])


@pytest.mark.parametrize("url", ["/api/v1/spend-requests/{big}", "/api/v1/families/{big}/budget",
                                 "/familier/{big}/budsjett", "/budsjett/utgifter/{big}"])
def test_ids_beyond_the_database_are_a_plain_404(setup, login, url):
    response = login(setup.member).get(url.format(big=2**63))
    assert response.status_code == 404


def test_an_approval_reads_nothing_twice(setup, login):
    """Issue 19: a final approval by the lead (the money reserved, the requester notified) runs no
    statement twice with the same parameters — the funding agencies come with the locked request,
    the requester with their roles — except the closed-year check the ledger's every transfer makes
    again on purpose."""
    from sqlalchemy import event

    request = spend(setup, 1_500 * KR)
    client = login(setup.lead)
    client.get("/")  # sign-in and session settled
    seen: list[tuple[str, str]] = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, repr(parameters)))

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        response = client.post(f"/api/v1/spend-requests/{request.id}/approve")
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "approved" and response.json["funding"][0]["agency_name"]
    reads = [s for s in seen if s[0].lstrip().upper().startswith("SELECT") and "budget_year_close" not in s[0]]
    assert [s for s in reads if reads.count(s) > 1] == []
    assert not any(s.lstrip().startswith("SELECT agency.") for s, _p in seen)  # with the request
    assert not any(s.lstrip().startswith("SELECT user_role.") for s, _p in seen)  # with the user
