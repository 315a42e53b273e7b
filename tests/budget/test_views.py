"""The budget pages: every screen renders for the roles that use it; forms act and refuse."""

import re

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.budget.factories import KR, funded_family, spend, year
from velferdslab.audit.models import AuditEvent
from velferdslab.budget import ledger
from velferdslab.budget.models import AuthorityRuleSet, SpendRequest
from velferdslab.extensions import db


def fresh(spend_id: int) -> SpendRequest:
    """The request as the database has it now (requests ran in their own sessions)."""
    db.session.expire_all()
    return db.session.get(SpendRequest, spend_id)


@pytest.fixture
def setup(ctx, lab):
    return funded_family(lab, allocated=100_000 * KR)


def page_text(response) -> str:
    return response.get_data(as_text=True)


def csrf(client, url) -> str:
    return factories.csrf_from(page_text(client.get(url)))


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" type="hidden" value="([^"]*)"|id="{name}" name="{name}" type="hidden" '
                      rf'value="([^"]*)"', html)
    assert match, name
    return match.group(1) or match.group(2)


def test_a_member_requests_with_kroner_typed_like_a_person(setup, login):
    client = login(setup.member)
    url = f"/familier/{setup.family.id}/budsjett/ny"
    form = page_text(client.get(url))
    assert "Be om utgift" in form
    response = client.post(url, data={
        "csrf_token": factories.csrf_from(form), "amount": "18 500", "payee": "Utleier AS",
        "purpose": "Depositum", "category": "deposit", "theme": "bolig", "goal_id": str(setup.goal.id),
        "expected_effect": "Stabil bolig", "level_from": "1", "level_to": "3",
        "wanted_on": "2026-12-01", "action": "submit"})
    assert response.status_code == 302, page_text(response)[:2000]
    created = db.session.scalars(select(SpendRequest)).one()
    assert (created.amount, created.status, created.route) == (1_850_000, "requested", "team")


@pytest.mark.parametrize("typed", ["18 500,555", "atten tusen", "-5", "0", ""])
def test_a_bad_amount_in_the_form_answers_422_with_a_message(setup, login, typed):
    client = login(setup.member)
    url = f"/familier/{setup.family.id}/budsjett/ny"
    response = client.post(url, data={
        "csrf_token": csrf(client, url), "amount": typed, "payee": "X", "purpose": "Y", "category": "deposit",
        "theme": "bolig", "goal_id": str(setup.goal.id), "expected_effect": "Z", "level_to": "3",
        "wanted_on": "2026-12-01", "action": "submit"})
    assert response.status_code == 422
    assert 'class="error"' in page_text(response)
    assert db.session.scalar(select(func.count()).select_from(SpendRequest)) == 0


def test_the_lead_approves_in_two_clicks_and_pays(setup, login):
    request = spend(setup, 18_500 * KR)
    client = login(setup.lead)
    queue = page_text(client.get("/budsjett/godkjenning"))
    assert f'data-spend-id="{request.id}"' in queue and setup.family.household_name in queue
    confirm_url = f"/budsjett/utgifter/{request.id}/godkjenn?next=queue"
    assert confirm_url.replace("&", "&amp;") in queue or confirm_url in queue
    confirm = page_text(client.get(confirm_url))
    key = hidden(confirm, "idempotency_key")
    data = {"csrf_token": factories.csrf_from(confirm), "idempotency_key": key, "next": "queue"}
    response = client.post(f"/budsjett/utgifter/{request.id}/godkjenn", data=data)
    assert response.status_code == 302 and response.headers["Location"].endswith("/budsjett/godkjenning")
    again = client.post(f"/budsjett/utgifter/{request.id}/godkjenn", data=data)  # a double click
    assert again.status_code == 302
    assert ledger.family_balance(setup.family.id, year()).committed == 18_500 * KR
    pay_url = f"/budsjett/utgifter/{request.id}/betal"
    pay_page = page_text(client.get(pay_url))
    response = client.post(pay_url, data={"csrf_token": factories.csrf_from(pay_page), "paid_on": "2026-01-05",
                                          "reference": "Bilag 1", "idempotency_key": hidden(pay_page,
                                                                                            "idempotency_key")})
    assert response.status_code in (302, 422)
    from velferdslab.core.models import today_local

    response = client.post(pay_url, data={"csrf_token": factories.csrf_from(pay_page),
                                          "paid_on": today_local().isoformat(), "reference": "Bilag 1",
                                          "idempotency_key": hidden(pay_page, "idempotency_key")})
    assert response.status_code == 302
    assert ledger.family_balance(setup.family.id, year()).paid == 18_500 * KR


def test_own_approval_in_the_browser_is_403_with_an_audit_row(setup, login):
    both = factories.user(setup.lab, roles=("team_lead", "manager"), agency=setup.agency)
    factories.team_member(setup.family, both, role="lead")
    request = spend(setup, 1_000 * KR, requester=both)
    client = login(both)
    url = f"/budsjett/utgifter/{request.id}/godkjenn"
    confirm = page_text(client.get(url))
    response = client.post(url, data={"csrf_token": factories.csrf_from(confirm),
                                      "idempotency_key": hidden(confirm, "idempotency_key")})
    assert response.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "spend.approve_denied", AuditEvent.actor_id == both.id)) == 1


def test_rejecting_needs_a_reason(setup, login):
    request = spend(setup, 1_000 * KR)
    client = login(setup.lead)
    url = f"/budsjett/utgifter/{request.id}/avvis"
    page = page_text(client.get(url))
    data = {"csrf_token": factories.csrf_from(page), "idempotency_key": hidden(page, "idempotency_key")}
    assert client.post(url, data={**data, "reason": ""}).status_code == 422
    assert client.post(url, data={**data, "reason": "Dekkes av NAV"}).status_code == 302
    assert fresh(request.id).status == "rejected"


@pytest.mark.parametrize("who, url, status", [
    ("member", "/budsjett", 200),
    ("member", "/familier/{family}/budsjett", 200),
    ("member", "/budsjett/utgifter/{spend}", 200),
    ("lead", "/budsjett/godkjenning", 200),
    ("manager", "/budsjett/ledelse", 200),
    ("manager", "/budsjett/oversikt", 200),
    ("manager", "/budsjett/tildeling", 200),
    ("manager", "/budsjett/delegeringer", 200),
    ("manager", "/budsjett/utgifter/{spend}", 200),
    ("manager", "/familier/{family}/budsjett", 404),
    ("admin", "/admin/fullmakter", 200),
    ("admin", "/budsjett/delegeringer", 200),
    ("member", "/budsjett/ledelse", 403),
    ("member", "/budsjett/oversikt", 403),
    ("lead", "/admin/fullmakter", 403),
    ("stranger", "/familier/{family}/budsjett", 404),
    ("stranger", "/budsjett/utgifter/{spend}", 404),
])
def test_screens_by_role(setup, login, who, url, status):
    request = spend(setup, 60_000 * KR)
    users = {"member": setup.member, "lead": setup.lead, "manager": setup.manager,
             "admin": factories.user(setup.lab, roles=("admin",)),
             "stranger": factories.user(setup.lab, roles=("team_lead",), agency=setup.agency)}
    response = login(users[who]).get(url.format(family=setup.family.id, spend=request.id))
    assert response.status_code == status, page_text(response)[:1000]
    if status == 200 and who == "manager":
        assert setup.family.household_name not in page_text(response)  # management sees no names


def test_the_admin_saves_a_new_rule_version_in_the_editor(setup, login):
    admin = factories.user(setup.lab, roles=("admin",))
    client = login(admin)
    page = page_text(client.get("/admin/fullmakter"))
    rows = len(re.findall(r'name="rules-\d+-role"', page))
    data = {"csrf_token": factories.csrf_from(page), "note": "Lavere grense for ledere"}
    for i, (role, limit, approvals) in enumerate([("team_lead", "30 000", 1), ("manager", "250 000", 1),
                                                  ("manager", "", 2)]):
        data.update({f"rules-{i}-role": role, f"rules-{i}-agency_id": "0", f"rules-{i}-max_per_spend": limit,
                     f"rules-{i}-max_per_family_year": "", f"rules-{i}-approvals_required": str(approvals)})
    assert rows == 4  # three rules and an empty row for a new one
    response = client.post("/admin/fullmakter", data=data)
    assert response.status_code == 302, page_text(response)[:3000]
    versions = db.session.scalars(select(AuthorityRuleSet).where(AuthorityRuleSet.lab_id == setup.lab.id)
                                  .order_by(AuthorityRuleSet.version)).all()
    assert [v.version for v in versions] == [1, 2]
    assert sorted(r.max_per_spend or 0 for r in versions[1].rules) == [0, 30_000 * KR, 250_000 * KR]


def test_a_manager_allocates_and_delegates_in_the_browser(setup, login):
    client = login(setup.manager)
    page = page_text(client.get("/budsjett/tildeling"))
    assert setup.family.household_name not in page
    response = client.post(f"/budsjett/tildeling?ar={year()}", data={
        "csrf_token": factories.csrf_from(page), "direction": "allocate", "family_id": str(setup.family.id),
        "agency_id": str(setup.agency.id), "amount": "25 000"})
    assert response.status_code == 302, page_text(response)[:2000]
    assert ledger.family_balance(setup.family.id, year()).allocated == 125_000 * KR
    too_much = client.post(f"/budsjett/tildeling?ar={year()}", data={
        "csrf_token": factories.csrf_from(page), "direction": "return", "family_id": str(setup.family.id),
        "agency_id": str(setup.agency.id), "amount": "125 000,01"})
    assert too_much.status_code == 422
    page = page_text(client.get("/budsjett/delegeringer"))
    response = client.post("/budsjett/delegeringer", data={
        "csrf_token": factories.csrf_from(page), "agency_id": str(setup.agency.id), "year": str(year()),
        "amount": "1 000 000", "decision_reference": "Vedtak 2026/7", "decided_on": "2026-01-10"})
    assert response.status_code == 302, page_text(response)[:2000]


def test_the_start_page_shows_work_waiting(setup, login):
    spend(setup, 1_000 * KR)
    spend(setup, 70_000 * KR)
    lead_page = page_text(login(setup.lead).get("/"))
    assert "1 forespørsel venter på deg" in lead_page
    manager_page = page_text(login(setup.manager).get("/"))
    assert "1 forespørsel over teamenes grenser" in manager_page
    assert "venter på deg" not in page_text(login(setup.member).get("/"))


def test_approving_without_money_shows_why_and_changes_nothing(setup, login):
    first, second = spend(setup, 60_000 * KR), spend(setup, 45_000 * KR)
    # The first goes to management (over the lead's limit), the second to the team's lead.
    for request, decider, expected in ((first, setup.manager, 302), (second, setup.lead, 422)):
        client = login(decider)
        url = f"/budsjett/utgifter/{request.id}/godkjenn"
        page = page_text(client.get(url))
        response = client.post(url, data={"csrf_token": factories.csrf_from(page),
                                          "idempotency_key": hidden(page, "idempotency_key")})
        assert response.status_code == expected
    assert "Beslutningen: Ikke nok midler" in page_text(response)
    assert fresh(second.id).status == "requested"
