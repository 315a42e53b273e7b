"""Issue 17: every spend names whose money it uses; the ledger reserves and pays from exactly those
agencies' allocations; authority rules follow the funding agency, the theme and the category."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.budget.factories import KR, Setup, delegate, funded_family, spend, spend_data, year
from velferdslab.auth.models import Agency, User
from velferdslab.budget import ledger, services
from velferdslab.budget.models import LedgerAccount, LedgerTransfer, SpendFunding, SpendRequest
from velferdslab.core.errors import ForbiddenError, ServiceError
from velferdslab.core.models import today_local
from velferdslab.extensions import db


@dataclass
class Two:
    setup: Setup
    bolig: Agency  # the setup's own agency (kind bolig), 20 000 kr for the family
    barnevern: Agency  # 80 000 kr for the family: the larger allocation


@pytest.fixture
def two(ctx, lab) -> Two:
    bolig = factories.agency(lab, "Bolig og eiendom", kind="bolig")
    setup = funded_family(lab, allocated=20_000 * KR, agency=bolig)
    barnevern = factories.agency(lab, "Barnevernet", kind="barnevern")
    delegate(lab, barnevern, 500_000 * KR)
    services.allocate(
        lab, family_id=setup.family.id, agency_id=barnevern.id, year=year(), amount=80_000 * KR, actor=None
    )
    return Two(setup, bolig, barnevern)


def moved_from(spend_id: int, kind: str) -> dict[int, int]:
    """øre per agency moved by a spend's transfers of ``kind`` (by the debit account's agency)."""
    rows = db.session.execute(
        select(LedgerAccount.agency_id, func.sum(LedgerTransfer.amount))
        .join(LedgerAccount, LedgerAccount.id == LedgerTransfer.debit_account_id)
        .where(LedgerTransfer.spend_request_id == spend_id, LedgerTransfer.kind == kind)
        .group_by(LedgerAccount.agency_id)
    )
    return {agency_id: int(total) for agency_id, total in rows}


def plain(text: str) -> str:
    """Amounts are formatted with non-breaking spaces; the tests read them as plain ones."""
    return text.replace("\xa0", " ")


def left(two: Two) -> dict[int, int]:
    return {a: m.left for a, m in services.family_money_by_agency(two.setup.family.id, year()).items()}


def approve_and_pay(setup: Setup, spend_id: int, approver: User | None = None) -> SpendRequest:
    approver = approver or setup.lead
    services.approve_spend(spend_id, approver)
    return services.pay_spend(spend_id, approver, paid_on=today_local(), reference="BILAG-1")[0]


# --- the funding is named, and the ledger follows it -------------------------------------------------


def test_a_bolig_deposit_is_paid_with_bolig_money_not_the_largest_allocation(two):
    """The issue's finding: a rental deposit for *bolig* was paid with child welfare's money."""
    request = spend(two.setup, 15_000 * KR)
    assert [(f.agency_id, f.amount) for f in request.funding] == [(two.bolig.id, 15_000 * KR)]  # theme default
    paid = approve_and_pay(two.setup, request.id)
    assert paid.status == "paid"
    assert moved_from(request.id, "reserve") == {two.bolig.id: 15_000 * KR}
    assert left(two) == {two.bolig.id: 5_000 * KR, two.barnevern.id: 80_000 * KR}
    assert ledger.verify() == []


def test_a_spend_split_over_two_agencies_reserves_and_pays_each_part(two):
    funding = [{"agency": two.bolig.id, "amount": 12_000 * KR}, {"agency": two.barnevern.id, "amount": 18_000 * KR}]
    request = spend(two.setup, 30_000 * KR, funding=funding)
    approve_and_pay(two.setup, request.id)
    expected = {two.bolig.id: 12_000 * KR, two.barnevern.id: 18_000 * KR}
    assert moved_from(request.id, "reserve") == expected
    paid_by = db.session.execute(
        select(LedgerAccount.agency_id, func.sum(LedgerTransfer.amount))
        .join(LedgerAccount, LedgerAccount.id == LedgerTransfer.credit_account_id)
        .where(LedgerTransfer.spend_request_id == request.id, LedgerTransfer.kind == "payment")
        .group_by(LedgerAccount.agency_id)
    ).all()
    assert dict(paid_by) == expected
    assert left(two) == {two.bolig.id: 8_000 * KR, two.barnevern.id: 62_000 * KR}
    assert ledger.verify() == []


def test_the_proposal_follows_the_theme_then_the_money_left(two):
    family_id, lab_id = two.setup.family.id, two.setup.lab.id
    assert services.propose_funding(lab_id, family_id, year(), "bolig", 10_000 * KR) == [
        {"agency": two.bolig.id, "amount": 10_000 * KR}
    ]
    # More than bolig has left for the family: the agency with most left.
    assert services.propose_funding(lab_id, family_id, year(), "bolig", 50_000 * KR)[0]["agency"] == two.barnevern.id
    # A lab's own choice of default agency wins over the default by agency kind.
    services.set_theme_defaults(two.setup.lab, {"bolig": two.barnevern.id}, actor=two.setup.manager)
    assert services.theme_defaults(lab_id)["bolig"] == two.barnevern.id
    assert services.propose_funding(lab_id, family_id, year(), "bolig", 1_000 * KR)[0]["agency"] == two.barnevern.id
    services.set_theme_defaults(two.setup.lab, {"bolig": None}, actor=two.setup.manager)
    assert services.theme_defaults(lab_id)["bolig"] == two.bolig.id


def test_a_draft_and_a_revision_carry_their_funding(two):
    setup = two.setup
    funding = [{"agency": two.bolig.id, "amount": 5_000 * KR}, {"agency": two.barnevern.id, "amount": 5_000 * KR}]
    draft = spend(setup, 10_000 * KR, submit=False, funding=funding)
    # A changed amount with a split funding must name the split again.
    with pytest.raises(ServiceError) as error:
        services.update_draft(draft, setup.member, {"amount": 11_000 * KR})
    assert error.value.field == "funding"
    services.update_draft(
        draft, setup.member, {"amount": 11_000 * KR, "funding": [{"agency": two.barnevern.id, "amount": 11_000 * KR}]}
    )
    assert [(f.agency_id, f.amount) for f in draft.funding] == [(two.barnevern.id, 11_000 * KR)]
    services.submit_spend(draft.id, setup.member)
    services.reject_spend(draft.id, setup.lead, reason="For dyrt")
    revision = services.revise_spend(draft.id, setup.member, {"amount": 9_000 * KR})
    assert [(f.agency_id, f.amount) for f in revision.funding] == [(two.barnevern.id, 9_000 * KR)]
    assert [(f.agency_id, f.amount) for f in draft.funding] == [(two.barnevern.id, 11_000 * KR)]  # unchanged


# --- bad input: a clear message, the field, nothing stored ---------------------------------------------


def _refused(two: Two, amount: int, funding) -> ServiceError:
    before = db.session.scalar(select(func.count()).select_from(SpendRequest))
    with pytest.raises(ServiceError) as error:
        spend(two.setup, amount, funding=funding)
    assert db.session.scalar(select(func.count()).select_from(SpendRequest)) == before
    return error.value


def test_a_split_that_does_not_add_up_is_refused(two):
    error = _refused(
        two,
        30_000 * KR,
        [{"agency": two.bolig.id, "amount": 10_000 * KR}, {"agency": two.barnevern.id, "amount": 10_000 * KR}],
    )
    assert error.field == "funding" and "må gå opp" in error.message and "20 000,00 kr" in plain(error.message)


def test_an_agency_with_too_little_left_is_refused_by_name(two):
    error = _refused(two, 25_000 * KR, [{"agency": two.bolig.id, "amount": 25_000 * KR}])
    assert error.field == "funding.0.amount"
    assert plain(error.message).startswith("Bolig og eiendom har bare 20 000,00 kr igjen for familien")


def test_an_agency_without_an_allocation_for_the_family_is_refused(two):
    nav = factories.agency(two.setup.lab, "NAV Asker", kind="nav")
    error = _refused(two, 1_000 * KR, [{"agency": nav.id, "amount": 1_000 * KR}])
    assert error.field == "funding.0.agency" and "ingen tildeling fra NAV Asker" in error.message


@pytest.mark.parametrize(
    "funding, field",
    [
        ([], "funding"),
        ("bolig", "funding"),
        ([{"agency": 10**9, "amount": 1_000 * KR}], "funding.0.agency"),
        ([{"agency": "x", "amount": 1_000 * KR}], "funding.0.agency"),
        ([{"agency": None, "amount": 1_000 * KR, "extra": 1}], "funding.0"),
        ([{"agency": 0, "amount": 0}], "funding.0.agency"),
    ],
)
def test_malformed_funding_names_its_field(two, funding, field):
    assert _refused(two, 1_000 * KR, funding).field == field


def test_the_same_agency_twice_or_another_labs_agency_is_refused(two):
    twice = [{"agency": two.bolig.id, "amount": 500 * KR}, {"agency": two.bolig.id, "amount": 500 * KR}]
    assert _refused(two, 1_000 * KR, twice).field == "funding.1.agency"
    other = factories.agency(factories.lab(), "Annen kommune")
    assert _refused(two, 1_000 * KR, [{"agency": other.id, "amount": 1_000 * KR}]).field == "funding.0.agency"


def test_an_approval_finds_the_agency_spent_meanwhile_and_changes_nothing(two):
    """Two requests on bolig's 20 000 kr, each within it: the second approval is refused, by name."""
    first = spend(two.setup, 15_000 * KR)
    second = spend(two.setup, 10_000 * KR)
    services.approve_spend(first.id, two.setup.lead)
    transfers = db.session.scalar(select(func.count()).select_from(LedgerTransfer))
    with pytest.raises(ServiceError) as error:
        ledger.run_with_retries(lambda: services.approve_spend(second.id, two.setup.lead))
    assert error.value.field == "funding.0.amount" and "5 000,00 kr igjen" in plain(error.value.message)
    db.session.refresh(second)
    assert second.status == "requested"
    assert db.session.scalar(select(func.count()).select_from(LedgerTransfer)) == transfers


def test_the_api_takes_and_shows_funding_and_refuses_a_bad_split_with_422(two, login):
    setup = two.setup
    client = login(setup.member)
    body = spend_data(setup, 30_000 * KR)
    body["wanted_on"] = body["wanted_on"].isoformat()
    url = f"/api/v1/families/{setup.family.id}/spend-requests"
    bad = client.post(url, json={**body, "funding": [{"agency": two.bolig.id, "amount": 1_000 * KR}]})
    assert bad.status_code == 422, bad.json
    assert "funding" in str(bad.json) and "må gå opp" in str(bad.json)
    assert db.session.scalar(select(func.count()).select_from(SpendFunding)) == 0
    funding = [{"agency": two.bolig.id, "amount": 10_000 * KR}, {"agency": two.barnevern.id, "amount": 20_000 * KR}]
    good = client.post(url, json={**body, "funding": funding, "submit": True})
    assert good.status_code == 201, good.json
    assert [(f["agency"], f["amount"], f["agency_name"]) for f in good.json["funding"]] == [
        (two.bolig.id, 10_000 * KR, "Bolig og eiendom"),
        (two.barnevern.id, 20_000 * KR, "Barnevernet"),
    ]
    empty = client.post(url, json={**body, "funding": []})
    assert empty.status_code == 422


def test_the_form_splits_over_two_agencies_and_names_the_one_short(two, login):
    setup = two.setup
    client = login(setup.member)
    url = f"/familier/{setup.family.id}/budsjett/ny"
    page = plain(client.get(url).get_data(as_text=True))
    assert "igjen for familien: 20 000,00 kr" in page and "igjen for familien: 80 000,00 kr" in page
    assert f'<option selected value="{two.bolig.id}">' in page  # the theme's agency is proposed
    form = {
        "amount": "30 000",
        "payee": "Utleier AS",
        "purpose": "Depositum",
        "category": "deposit",
        "theme": "bolig",
        "goal_id": str(setup.goal.id),
        "expected_effect": "Stabil bolig",
        "level_to": "3",
        "wanted_on": today_local().isoformat(),
        "action": "submit",
        "funding_agency": "split",
        "funding_parts-0-agency_id": str(two.bolig.id),
        "funding_parts-0-amount": "25 000",
        "funding_parts-1-agency_id": str(two.barnevern.id),
        "funding_parts-1-amount": "5 000",
    }
    short = client.post(url, data=form)
    assert short.status_code == 422
    assert "Bolig og eiendom har bare 20 000,00 kr igjen" in plain(short.get_data(as_text=True))
    assert db.session.scalar(select(func.count()).select_from(SpendRequest)) == 0
    ok = client.post(url, data={**form, "funding_parts-0-amount": "10 000", "funding_parts-1-amount": "20 000"})
    assert ok.status_code == 302
    made = db.session.scalar(select(SpendRequest))
    assert sorted((f.agency_id, f.amount) for f in made.funding) == sorted(
        [(two.bolig.id, 10_000 * KR), (two.barnevern.id, 20_000 * KR)]
    )


# --- authority by funding agency, theme and category ------------------------------------------------------


def _rules(setup: Setup, *extra: dict) -> None:
    services.save_rules(
        setup.lab,
        [
            {"role": "team_lead", "max_per_spend": 50_000 * KR},
            {"role": "manager", "max_per_spend": None},
            *extra,
        ],
        note="issue 17",
        actor=setup.manager,
    )


def test_an_agency_requires_its_own_approver_above_a_limit(two):
    """Barnevern's money above 10 000 kr: only a lead from barnevern may approve it."""
    setup = two.setup
    _rules(
        setup,
        {"role": "team_lead", "funding_agency_id": two.barnevern.id, "max_per_spend": 10_000 * KR},
        {"role": "team_lead", "funding_agency_id": two.barnevern.id, "agency_id": two.barnevern.id},
    )
    small = spend(setup, 8_000 * KR, funding=[{"agency": two.barnevern.id, "amount": 8_000 * KR}])
    large = spend(setup, 20_000 * KR, funding=[{"agency": two.barnevern.id, "amount": 20_000 * KR}])
    own_money = spend(setup, 15_000 * KR)  # bolig's money: the general rule
    assert (small.route, large.route, own_money.route) == ("team", "management", "team")
    with pytest.raises(ForbiddenError):  # the lead represents bolig on the team
        services.approve_spend(large.id, setup.lead)
    decided, _replayed = services.approve_spend(small.id, setup.lead)
    assert decided.decisions[-1].rule.funding_agency_id == two.barnevern.id  # the decision records the rule
    # A barnevern lead on the team may approve the large one.
    other = factories.user(setup.lab, roles=("team_lead",), agency=two.barnevern)
    factories.consent(setup.family, two.barnevern)
    factories.team_member(setup.family, other, role="lead")
    decided, _replayed = services.approve_spend(large.id, other)
    rule = decided.decisions[-1].rule
    assert decided.status == "approved" and (rule.agency_id, rule.funding_agency_id) == (two.barnevern.id,) * 2


def test_a_split_is_within_authority_only_if_every_part_is(two):
    setup = two.setup
    _rules(setup, {"role": "team_lead", "funding_agency_id": two.barnevern.id, "max_per_spend": 10_000 * KR})
    split = spend(
        setup,
        24_000 * KR,
        funding=[{"agency": two.bolig.id, "amount": 12_000 * KR}, {"agency": two.barnevern.id, "amount": 12_000 * KR}],
    )
    assert split.route == "management"  # barnevern's part is above its 10 000 kr
    within = spend(
        setup,
        24_000 * KR,
        funding=[{"agency": two.bolig.id, "amount": 15_000 * KR}, {"agency": two.barnevern.id, "amount": 9_000 * KR}],
    )
    assert within.route == "team"
    decided, _replayed = services.approve_spend(within.id, setup.lead)
    assert decided.status == "approved" and moved_from(within.id, "reserve") == {
        two.bolig.id: 15_000 * KR,
        two.barnevern.id: 9_000 * KR,
    }


def test_rules_by_theme_and_category(two):
    setup = two.setup
    _rules(setup, {"role": "team_lead", "theme": "bolig", "category": "deposit", "max_per_spend": 5_000 * KR})
    deposit = spend(setup, 6_000 * KR)  # bolig deposit: the 5 000 kr rule
    furniture = spend(setup, 6_000 * KR, category="furniture")  # bolig, not a deposit: the general rule
    assert (deposit.route, furniture.route) == ("management", "team")


def test_a_limit_per_agency_per_year_counts_every_familys_spend(two):
    setup = two.setup
    _rules(
        setup,
        {
            "role": "team_lead",
            "funding_agency_id": two.barnevern.id,
            "max_per_spend": 50_000 * KR,
            "max_per_agency_year": 30_000 * KR,
        },
    )
    other = funded_family(setup.lab, allocated=50_000 * KR, agency=two.barnevern)
    first = spend(other, 25_000 * KR)
    assert [(f.agency_id, f.amount) for f in first.funding] == [(two.barnevern.id, 25_000 * KR)]
    services.approve_spend(first.id, other.lead)
    assert services.approved_from_agency(setup.lab.id, year(), "team_lead", two.barnevern.id) == 25_000 * KR
    second = spend(setup, 10_000 * KR, funding=[{"agency": two.barnevern.id, "amount": 10_000 * KR}])
    assert second.route == "management"  # 25 000 + 10 000 kr is above barnevern's 30 000 kr for leads
    with pytest.raises(ForbiddenError):
        services.approve_spend(second.id, setup.lead)
    decided, _replayed = services.approve_spend(second.id, setup.manager)
    assert decided.approved_role == "manager"


def test_management_rules_with_conditions_need_one_without_limits(two):
    setup = two.setup
    with pytest.raises(ServiceError) as error:
        _rules(setup, {"role": "manager", "funding_agency_id": two.barnevern.id, "max_per_spend": 100_000 * KR})
    assert "samme vilkårene" in error.value.message
    _rules(
        setup,
        {"role": "manager", "funding_agency_id": two.barnevern.id, "max_per_spend": 100_000 * KR},
        {"role": "manager", "funding_agency_id": two.barnevern.id, "agency_id": two.barnevern.id},
    )
    with pytest.raises(ServiceError) as error:
        _rules(setup, {"role": "team_lead", "theme": "ukjent"})
    assert error.value.field == "rules.2"


def test_the_api_saves_and_shows_conditioned_rules(two, login):
    setup = two.setup
    admin = factories.user(setup.lab, roles=("admin",))
    client = login(admin)
    rules = [
        {"role": "team_lead", "max_per_spend": 50_000 * KR},
        {
            "role": "team_lead",
            "funding_agency_id": two.barnevern.id,
            "theme": "bolig",
            "category": "deposit",
            "max_per_spend": 10_000 * KR,
            "max_per_agency_year": 100_000 * KR,
        },
        {"role": "manager"},
    ]
    response = client.post("/api/v1/authority-rules", json={"rules": rules, "note": "etat"})
    assert response.status_code == 201, response.json
    saved = [r for r in response.json["rules"] if r["funding_agency_id"]]
    assert saved == [
        {**rules[1], "id": saved[0]["id"], "agency_id": None, "max_per_family_year": None, "approvals_required": 1}
    ]
    defaults = client.put("/api/v1/budget/theme-agencies", json={"defaults": {"bolig": two.barnevern.id}})
    assert defaults.status_code == 200 and defaults.json["defaults"]["bolig"] == two.barnevern.id
    wrong = client.put("/api/v1/budget/theme-agencies", json={"defaults": {"bolig": 10**6}})
    assert wrong.status_code == 422


def test_the_rules_editor_keeps_a_rules_conditions(two, login):
    """Saving the editor again must not drop a rule's funding agency, theme, category or yearly
    limit per agency."""
    import re

    setup = two.setup
    _rules(
        setup,
        {
            "role": "team_lead",
            "funding_agency_id": two.barnevern.id,
            "theme": "bolig",
            "category": "deposit",
            "max_per_spend": 10_000 * KR,
            "max_per_agency_year": 90_000 * KR,
        },
    )
    admin = factories.user(setup.lab, roles=("admin",))
    client = login(admin)
    page = client.get("/admin/fullmakter").get_data(as_text=True)
    assert plain(page).count("90 000,00 kr") == 1 and "penger fra Barnevernet, Bolig, Depositum" in page
    data = {"csrf_token": factories.csrf_from(page), "note": "Uendret"}
    for tag in re.findall(r'<input[^>]*name="rules-\d+-[a-z_]+"[^>]*>', page):
        name = re.search(r'name="([^"]+)"', tag).group(1)
        value = re.search(r'value="([^"]*)"', tag)
        if 'type="checkbox"' not in tag or "checked" in tag:
            data[name] = value.group(1) if value else ""
    for name, selected in re.findall(r'<select[^>]*name="(rules-\d+-[a-z_]+)"[^>]*>(.*?)</select>', page, re.S):
        found = re.search(r'<option selected value="([^"]*)"', selected)
        data[name] = found.group(1) if found else ""
    last = max(int(n.split("-")[1]) for n in data if n.startswith("rules-"))
    data[f"rules-{last}-remove"] = "y"
    response = client.post("/admin/fullmakter", data=data)
    assert response.status_code == 302, plain(response.get_data(as_text=True))[:2000]
    rule = next(r for r in services.rules_in_force(setup.lab.id).rules if r.funding_agency_id)
    assert (rule.funding_agency_id, rule.theme, rule.category, rule.max_per_spend, rule.max_per_agency_year) == (
        two.barnevern.id,
        "bolig",
        "deposit",
        10_000 * KR,
        90_000 * KR,
    )
    assert services.rules_in_force(setup.lab.id).version == 3
