"""Spend requests through the services: life cycle, routing, authority, maker–checker, money."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from tests import factories
from tests.budget.factories import KR, funded_family, spend, spend_data, year
from velferdslab.budget import ledger, services
from velferdslab.budget.models import LedgerTransfer, SpendDecision
from velferdslab.core.errors import ConflictError, ForbiddenError, ServiceError
from velferdslab.core.models import today_local
from velferdslab.extensions import db


def transfers_of(spend_request) -> list[tuple[str, int]]:
    return [(t.kind, t.amount) for t in db.session.scalars(
        select(LedgerTransfer).where(LedgerTransfer.spend_request_id == spend_request.id).order_by(LedgerTransfer.id))]


def test_the_whole_life_cycle_moves_money_allocation_committed_paid(ctx, lab):
    setup = funded_family(lab, allocated=100_000 * KR)
    request = spend(setup, 18_500 * KR, submit=False)
    assert request.status == "draft" and request.route is None
    services.submit_spend(request.id, setup.member)
    assert request.status == "requested" and request.route == "team"
    services.approve_spend(request.id, setup.lead)
    assert request.status == "approved" and request.approved_role == "team_lead"
    assert ledger.family_balance(setup.family.id, year()) == ledger.FamilyBalance(
        allocated=100_000 * KR, committed=18_500 * KR, paid=0, available=81_500 * KR)
    services.pay_spend(request.id, setup.lead, paid_on=today_local(), reference="Bilag 991")
    assert request.status == "paid" and request.payment_reference == "Bilag 991"
    assert ledger.family_balance(setup.family.id, year()) == ledger.FamilyBalance(
        allocated=100_000 * KR, committed=0, paid=18_500 * KR, available=81_500 * KR)
    assert transfers_of(request) == [("reserve", 18_500 * KR), ("payment", 18_500 * KR)]
    assert ledger.verify(lab.id) == []


def test_cancelling_an_approved_request_releases_the_money(ctx, lab):
    setup = funded_family(lab, allocated=30_000 * KR)
    request = spend(setup, 10_000 * KR)
    services.approve_spend(request.id, setup.lead)
    services.cancel_spend(request.id, setup.member, reason="Familien fikk leiligheten uten depositum")
    assert request.status == "cancelled"
    assert ledger.family_balance(setup.family.id, year()).available == 30_000 * KR
    assert transfers_of(request) == [("reserve", 10_000 * KR), ("release", 10_000 * KR)]


def test_rejecting_needs_a_reason_and_moves_no_money(ctx, lab):
    setup = funded_family(lab, allocated=30_000 * KR)
    request = spend(setup, 10_000 * KR)
    with pytest.raises(ServiceError):
        services.reject_spend(request.id, setup.lead, reason="  ")
    services.reject_spend(request.id, setup.lead, reason="Dekkes av NAV")
    assert request.status == "rejected" and request.rejection_reason == "Dekkes av NAV"
    assert transfers_of(request) == []


@pytest.mark.parametrize("operation", ["approve", "reject", "pay"])
def test_a_second_decision_on_a_decided_request_is_a_conflict(ctx, lab, operation):
    setup = funded_family(lab, allocated=30_000 * KR)
    request = spend(setup, 10_000 * KR)
    services.reject_spend(request.id, setup.lead, reason="Nei")
    with pytest.raises(ConflictError):
        if operation == "approve":
            services.approve_spend(request.id, setup.lead)
        elif operation == "reject":
            services.reject_spend(request.id, setup.lead, reason="Igjen")
        else:
            services.pay_spend(request.id, setup.lead, paid_on=today_local(), reference="x")
    assert request.status == "rejected" and transfers_of(request) == []


def test_approving_more_than_is_available_changes_nothing(ctx, lab):
    setup = funded_family(lab, allocated=20_000 * KR)
    first, second = spend(setup, 15_000 * KR), spend(setup, 15_000 * KR)
    services.approve_spend(first.id, setup.lead)
    with pytest.raises(ServiceError) as error:
        services.approve_spend(second.id, setup.lead)
    assert error.value.field == "amount" and "5\u00a0000,00" in error.value.message
    assert second.status == "requested" and transfers_of(second) == []
    assert db.session.scalar(select(func.count()).select_from(SpendDecision)
                             .where(SpendDecision.spend_request_id == second.id)) == 0


def test_submitting_more_than_is_available_is_refused(ctx, lab):
    setup = funded_family(lab, allocated=20_000 * KR)
    request = spend(setup, 20_000 * KR + 1, submit=False)
    with pytest.raises(ServiceError):
        services.submit_spend(request.id, setup.member)
    assert request.status == "draft"


def test_above_the_leads_limit_goes_to_management(ctx, lab):
    setup = funded_family(lab, allocated=200_000 * KR)
    small, big = spend(setup, 50_000 * KR), spend(setup, 50_000 * KR + 1)
    assert (small.route, big.route) == ("team", "management")
    with pytest.raises(ForbiddenError):
        services.approve_spend(big.id, setup.lead)
    services.approve_spend(big.id, setup.manager)
    assert big.status == "approved" and big.approved_role == "manager"
    decision = big.decisions[0]
    assert decision.rule.max_per_spend == 250_000 * KR and decision.rule_version == 1


def test_above_the_managers_limit_needs_two_different_managers(ctx, lab):
    setup = funded_family(lab, allocated=400_000 * KR, pool=1_000_000 * KR)
    request = spend(setup, 300_000 * KR)
    assert request.route == "management"
    services.approve_spend(request.id, setup.manager)
    assert request.status == "requested"
    assert ledger.family_balance(setup.family.id, year()).committed == 0
    with pytest.raises(ForbiddenError):
        services.approve_spend(request.id, setup.manager)  # the same person twice is not two
    services.approve_spend(request.id, setup.manager2)
    assert request.status == "approved"
    assert [d.final for d in request.decisions] == [False, True]
    assert ledger.family_balance(setup.family.id, year()).committed == 300_000 * KR


def test_a_lead_of_another_team_gets_the_familys_404(ctx, lab):
    setup = funded_family(lab)
    other = funded_family(lab, agency=setup.agency)
    request = spend(setup, 1_000 * KR)
    with pytest.raises(NotFound):
        services.approve_spend(request.id, other.lead)
    assert request.status == "requested"


def test_a_team_member_who_is_no_lead_may_not_approve(ctx, lab):
    setup = funded_family(lab)
    lead_elsewhere = factories.user(lab, roles=("team_lead",), agency=setup.agency)
    factories.team_member(setup.family, lead_elsewhere, role="member")
    request = spend(setup, 1_000 * KR)
    with pytest.raises(ForbiddenError):
        services.approve_spend(request.id, lead_elsewhere)


def test_nobody_approves_their_own_request_not_even_through_another_role(ctx, lab):
    """Item 15, at the service level: a requester who is also lead and manager is still refused."""
    setup = funded_family(lab)
    both = factories.user(lab, roles=("team_lead", "manager"), agency=setup.agency)
    factories.team_member(setup.family, both, role="lead")
    request = spend(setup, 1_000 * KR, requester=both)
    assert request.route == "team"  # the other lead may approve it
    with pytest.raises(ForbiddenError):
        services.approve_spend(request.id, both)
    big = spend(setup, 60_000 * KR, requester=both)
    with pytest.raises(ForbiddenError):
        services.approve_spend(big.id, both)  # as manager, above the lead limit: still their own
    assert request.status == big.status == "requested"
    services.approve_spend(request.id, setup.lead)
    assert request.status == "approved"


def test_a_lone_lead_asking_sends_the_request_to_management(ctx, lab):
    setup = funded_family(lab)
    request = spend(setup, 1_000 * KR, requester=setup.lead)
    assert request.route == "management"


def test_requests_name_a_goal_of_the_same_family(ctx, lab):
    setup = funded_family(lab)
    other = funded_family(lab, agency=setup.agency)
    with pytest.raises(ServiceError) as error:
        spend(setup, 1_000 * KR, goal_id=other.goal.id)
    assert error.value.field == "goal_id"


@pytest.mark.parametrize("amount", [0, -1, 1.5, 100.0, "100", True, None, float("nan"), float("inf"),
                                    10**15])
def test_amounts_are_positive_whole_ore_within_the_ceiling(ctx, lab, amount):
    setup = funded_family(lab)
    with pytest.raises(ServiceError) as error:
        spend(setup, amount)
    assert error.value.field == "amount"


def test_someone_off_the_team_cannot_request(ctx, lab):
    setup = funded_family(lab)
    stranger = factories.user(lab, roles=("caseworker",), agency=setup.agency)
    with pytest.raises(NotFound):
        services.create_spend(setup.family.id, stranger, spend_data(setup, 1_000 * KR))


def test_a_member_without_consent_for_their_agency_cannot_request(ctx, lab):
    setup = funded_family(lab)
    other_agency = factories.agency(lab)
    gated = factories.user(lab, roles=("caseworker",), agency=other_agency)
    factories.team_member(setup.family, gated)
    with pytest.raises(ForbiddenError):
        services.create_spend(setup.family.id, gated, spend_data(setup, 1_000 * KR))


def test_a_sent_request_is_never_edited(ctx, lab):
    setup = funded_family(lab)
    request = spend(setup, 1_000 * KR)
    services.approve_spend(request.id, setup.lead)
    with pytest.raises(ServiceError) as error:
        services.update_draft(request, setup.member, {"amount": 2_000 * KR})
    assert error.value.field == "amount" and request.amount == 1_000 * KR


def test_a_draft_can_be_edited_by_its_requester(ctx, lab):
    setup = funded_family(lab)
    request = spend(setup, 1_000 * KR, submit=False)
    services.update_draft(request, setup.member, {"amount": 1_500 * KR, "payee": "Annen utleier"})
    assert (request.amount, request.payee) == (1_500 * KR, "Annen utleier")
    # Issue 13: besides its requester only the family's lead may edit it (and may then not approve it).
    other = factories.user(lab, roles=("caseworker",), agency=setup.agency)
    factories.team_member(setup.family, other)
    with pytest.raises(ForbiddenError):
        services.update_draft(request, other, {"amount": 1 * KR})
    services.update_draft(request, setup.lead, {"amount": 1_200 * KR})
    assert request.edited_by_id == setup.lead.id


def test_the_per_family_yearly_limit_sends_the_rest_to_management(ctx, lab):
    setup = funded_family(lab, allocated=100_000 * KR)
    services.save_rules(lab, [
        {"role": "team_lead", "max_per_spend": 50_000 * KR, "max_per_family_year": 60_000 * KR},
        {"role": "manager", "max_per_spend": None},
    ], note="Tak per familie", actor=setup.manager)
    first = spend(setup, 40_000 * KR)
    services.approve_spend(first.id, setup.lead)
    second = spend(setup, 30_000 * KR)
    assert second.route == "management"
    with pytest.raises(ForbiddenError):
        services.approve_spend(second.id, setup.lead)
    services.approve_spend(second.id, setup.manager)
    assert second.decisions[0].rule_version == 2


def test_agency_specific_rules_apply_to_that_agencys_staff(ctx, lab):
    setup = funded_family(lab, allocated=100_000 * KR)
    services.save_rules(lab, [
        {"role": "team_lead", "max_per_spend": 20_000 * KR},
        {"role": "team_lead", "agency_id": setup.agency.id, "max_per_spend": 80_000 * KR},
        {"role": "manager", "max_per_spend": None},
    ], note=None, actor=setup.manager)
    request = spend(setup, 70_000 * KR)
    assert request.route == "team"  # the lead is from the agency with the higher limit
    services.approve_spend(request.id, setup.lead)
    assert request.decisions[0].rule.agency_id == setup.agency.id


def test_saving_rules_makes_a_new_version_and_reroutes_waiting_requests(ctx, lab):
    setup = funded_family(lab, allocated=100_000 * KR)
    request = spend(setup, 30_000 * KR)
    assert request.route == "team"
    first = services.rules_in_force(lab.id)
    services.save_rules(lab, [{"role": "team_lead", "max_per_spend": 25_000 * KR},
                              {"role": "manager", "max_per_spend": None}], note="Lavere grense", actor=setup.manager)
    assert services.rules_in_force(lab.id).version == first.version + 1
    assert request.route == "management"
    assert [r.max_per_spend for r in first.rules if r.role == "team_lead"] == [50_000 * KR]  # old version intact


@pytest.mark.parametrize("rules", [
    [],
    [{"role": "team_lead", "max_per_spend": 1000}],  # no unlimited manager rule
    [{"role": "king", "max_per_spend": None}],
    [{"role": "manager", "max_per_spend": None}, {"role": "manager", "max_per_spend": None}],
    [{"role": "manager", "max_per_spend": None}, {"role": "team_lead", "max_per_spend": 0.5}],
])
def test_bad_rules_are_refused(ctx, lab, rules):
    setup = funded_family(lab)
    before = services.rules_in_force(lab.id).version
    with pytest.raises(ServiceError):
        services.save_rules(lab, rules, note=None, actor=setup.manager)
    assert services.rules_in_force(lab.id).version == before


def test_paying_checks_the_date(ctx, lab):
    setup = funded_family(lab)
    request = spend(setup, 1_000 * KR)
    services.approve_spend(request.id, setup.lead)
    with pytest.raises(ServiceError):
        services.pay_spend(request.id, setup.lead, paid_on=today_local() + timedelta(days=1), reference="x")
    with pytest.raises(ServiceError):
        services.pay_spend(request.id, setup.lead, paid_on=today_local(), reference=" ")
    assert request.status == "approved"


def test_a_member_may_not_record_payment(ctx, lab):
    setup = funded_family(lab)
    request = spend(setup, 1_000 * KR)
    services.approve_spend(request.id, setup.lead)
    with pytest.raises(ForbiddenError):
        services.pay_spend(request.id, setup.member, paid_on=today_local(), reference="x")


def test_money_from_two_agencies_is_reserved_and_paid_agency_by_agency(ctx, lab):
    setup = funded_family(lab, allocated=10_000 * KR)
    second = factories.agency(lab)
    from tests.budget.factories import delegate

    delegate(lab, second, 50_000 * KR)
    services.allocate(lab, family_id=setup.family.id, agency_id=second.id, year=year(), amount=6_000 * KR,
                      actor=None)
    # Issue 17: no draw order — the request names each agency's part, and exactly that is reserved.
    request = spend(setup, 14_000 * KR, funding=[{"agency": setup.agency.id, "amount": 10_000 * KR},
                                                 {"agency": second.id, "amount": 4_000 * KR}])
    services.approve_spend(request.id, setup.lead)
    assert sorted(a for _, a in transfers_of(request)) == [4_000 * KR, 10_000 * KR]
    services.pay_spend(request.id, setup.lead, paid_on=today_local(), reference="x")
    assert ledger.family_balance(setup.family.id, year()) == ledger.FamilyBalance(
        allocated=16_000 * KR, committed=0, paid=14_000 * KR, available=2_000 * KR)
    assert ledger.verify(lab.id) == []
