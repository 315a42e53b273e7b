"""The ledger: transfers move money between accounts, balances follow, bounds hold."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from tests.budget.factories import KR, delegate, funded_family, rewrite_transfer, spend, year
from velferdslab.budget import ledger, services
from velferdslab.budget.models import LedgerAccount, LedgerTransfer
from velferdslab.core.errors import ServiceError
from velferdslab.extensions import db


def test_delegation_and_allocation_move_money_and_balance(ctx, lab):
    setup = funded_family(lab, allocated=60_000 * KR, pool=200_000 * KR)
    pool = db.session.scalar(db.select(LedgerAccount).where(LedgerAccount.kind == "pool",
                                                            LedgerAccount.agency_id == setup.agency.id))
    source = db.session.scalar(db.select(LedgerAccount).where(LedgerAccount.kind == "delegation",
                                                              LedgerAccount.agency_id == setup.agency.id))
    db.session.refresh(pool)
    db.session.refresh(source)
    assert source.balance == -200_000 * KR
    assert pool.balance == 140_000 * KR
    balance = ledger.family_balance(setup.family.id, year())
    assert balance == ledger.FamilyBalance(allocated=60_000 * KR, committed=0, paid=0, available=60_000 * KR)
    assert ledger.verify(lab.id) == []


def test_allocating_more_than_the_pool_holds_is_refused(ctx, lab):
    setup = funded_family(lab, allocated=0, pool=10_000 * KR)
    with pytest.raises(ServiceError) as error:
        services.allocate(lab, family_id=setup.family.id, agency_id=setup.agency.id, year=year(),
                          amount=10_000 * KR + 1, actor=None)
    assert error.value.field == "amount"
    assert ledger.family_balance(setup.family.id, year()).allocated == 0


def test_returning_unused_allocation_goes_back_to_the_pool(ctx, lab):
    setup = funded_family(lab, allocated=50_000 * KR, pool=100_000 * KR)
    services.return_allocation(lab, family_id=setup.family.id, agency_id=setup.agency.id, year=year(),
                               amount=20_000 * KR, actor=setup.manager)
    assert ledger.family_balance(setup.family.id, year()).available == 30_000 * KR
    with pytest.raises(ServiceError):
        services.return_allocation(lab, family_id=setup.family.id, agency_id=setup.agency.id, year=year(),
                                   amount=30_000 * KR + 1, actor=setup.manager)
    assert ledger.verify(lab.id) == []


def test_a_delegation_reversal_is_a_new_transfer_and_happens_once(ctx, lab):
    setup = funded_family(lab, allocated=0, pool=10_000 * KR)
    extra = delegate(lab, setup.agency, 5_000 * KR)
    services.reverse_delegation(extra, actor=setup.manager)
    with pytest.raises(ServiceError):
        services.reverse_delegation(extra, actor=setup.manager)
    kinds = db.session.scalars(db.select(LedgerTransfer.kind).where(LedgerTransfer.delegation_id == extra.id)).all()
    assert sorted(kinds) == ["delegation", "delegation_reversal"]
    assert ledger.verify(lab.id) == []


def _accounts(setup):
    rows = db.session.scalars(db.select(LedgerAccount).where(LedgerAccount.family_id == setup.family.id,
                                                             LedgerAccount.kind == "allocation")).all()
    return rows[0]


def test_raw_sql_cannot_overspend_an_allocation(ctx, lab):
    """Item 11: the database itself refuses a transfer that would take a balance below zero."""
    setup = funded_family(lab, allocated=10_000 * KR)
    allocation = _accounts(setup)
    committed = ledger.account(lab.id, "committed", year(), setup.agency.id, setup.family.id)
    db.session.flush()
    insert = text("INSERT INTO ledger_transfer (lab_id, kind, debit_account_id, credit_account_id, amount, "
                  "created_at) VALUES (:lab, 'reserve', :debit, :credit, :amount, CURRENT_TIMESTAMP)")
    with pytest.raises((IntegrityError, DBAPIError)):
        with db.session.begin_nested():
            db.session.execute(insert, {"lab": lab.id, "debit": allocation.id, "credit": committed.id,
                                        "amount": 10_000 * KR + 1})
    # Exactly the balance is fine: the bound is >= 0, not > 0.
    with db.session.begin_nested():
        db.session.execute(insert, {"lab": lab.id, "debit": allocation.id, "credit": committed.id,
                                    "amount": 10_000 * KR})
    assert ledger.family_balance(setup.family.id, year()).available == 0
    with pytest.raises((IntegrityError, DBAPIError)):
        with db.session.begin_nested():
            db.session.execute(insert, {"lab": lab.id, "debit": allocation.id, "credit": committed.id, "amount": 1})
    assert ledger.verify(lab.id, audit_trail=False) == []
    # The balances hold, but no audit event records the raw transfer (item 12.4).
    [problem] = ledger.verify(lab.id)
    assert "no audit event records this money movement" in problem and "(reserve, 1000000 øre)" in problem


@pytest.mark.parametrize("amount", [0, -100])
def test_raw_sql_cannot_post_zero_or_negative_amounts(ctx, lab, amount):
    setup = funded_family(lab, allocated=10_000 * KR)
    allocation = _accounts(setup)
    committed = ledger.account(lab.id, "committed", year(), setup.agency.id, setup.family.id)
    db.session.flush()
    with pytest.raises((IntegrityError, DBAPIError)):
        with db.session.begin_nested():
            db.session.execute(text(
                "INSERT INTO ledger_transfer (lab_id, kind, debit_account_id, credit_account_id, amount, created_at) "
                "VALUES (:lab, 'reserve', :debit, :credit, :amount, CURRENT_TIMESTAMP)"),
                {"lab": lab.id, "debit": committed.id, "credit": allocation.id, "amount": amount})
    assert ledger.family_balance(setup.family.id, year()).available == 10_000 * KR


def test_raw_sql_cannot_open_an_account_with_a_balance(ctx, lab):
    setup = funded_family(lab, allocated=0, pool=1_000 * KR)
    with pytest.raises((IntegrityError, DBAPIError)):
        with db.session.begin_nested():
            db.session.execute(text(
                "INSERT INTO ledger_account (lab_id, year, kind, agency_id, family_id, code, balance, created_at) "
                "VALUES (:lab, :year, 'allocation', :agency, :family, 'forged', 1000000, CURRENT_TIMESTAMP)"),
                {"lab": lab.id, "year": year(), "agency": setup.agency.id, "family": setup.family.id})


@pytest.mark.parametrize("statement", [
    "UPDATE ledger_transfer SET amount = amount + 1",
    "DELETE FROM ledger_transfer",
])
def test_transfers_are_immutable(ctx, lab, statement):
    funded_family(lab, allocated=1_000 * KR)
    before = db.session.scalar(text("SELECT sum(amount) FROM ledger_transfer"))
    with pytest.raises(DBAPIError):
        with db.session.begin_nested():
            db.session.execute(text(statement))
    assert db.session.scalar(text("SELECT sum(amount) FROM ledger_transfer")) == before


def test_transfers_between_labs_are_refused(ctx, lab):
    setup = funded_family(lab, allocated=1_000 * KR)
    other = funded_family(allocated=1_000 * KR)
    with pytest.raises(DBAPIError):
        with db.session.begin_nested():
            db.session.execute(text(
                "INSERT INTO ledger_transfer (lab_id, kind, debit_account_id, credit_account_id, amount, created_at) "
                "VALUES (:lab, 'reserve', :debit, :credit, 1, CURRENT_TIMESTAMP)"),
                {"lab": lab.id, "debit": _accounts(setup).id, "credit": _accounts(other).id})


@pytest.mark.postgres
def test_postgres_refuses_balance_edits_and_truncate(ctx, lab):
    setup = funded_family(lab, allocated=1_000 * KR)
    approved = spend(setup, 400 * KR)
    services.approve_spend(approved.id, setup.lead)  # so spend_decision has a row to refuse changing
    for statement in ("UPDATE ledger_account SET balance = balance + 100",
                      "DELETE FROM ledger_account", "TRUNCATE ledger_transfer CASCADE",
                      "UPDATE spend_decision SET final = true", "DELETE FROM budget_delegation"):
        with pytest.raises(DBAPIError):
            with db.session.begin_nested():
                db.session.execute(text(statement))
    assert ledger.family_balance(setup.family.id, year()).available == 600 * KR
    assert ledger.verify(lab.id) == []


# --- item 12.4: transfers against the audit trail's amounts --------------------------------------

def _transfers(kind: str) -> list[LedgerTransfer]:
    return list(db.session.scalars(db.select(LedgerTransfer).where(LedgerTransfer.kind == kind)
                                   .order_by(LedgerTransfer.id)))


def test_every_movement_matches_its_audited_amount(ctx, lab):
    setup = funded_family(lab, allocated=10_000 * KR)
    paid = spend(setup, 1_000 * KR)
    services.approve_spend(paid.id, setup.lead)
    services.pay_spend(paid.id, setup.lead, paid_on=paid.submitted_at.date(), reference="F-1")
    cancelled = spend(setup, 500 * KR)
    services.approve_spend(cancelled.id, setup.lead)
    services.cancel_spend(cancelled.id, setup.lead, reason="Dekkes av NAV")
    services.cancel_spend(spend(setup, 300 * KR).id, setup.lead, reason="Ikke lenger aktuelt")  # released 0
    services.return_allocation(lab, family_id=setup.family.id, agency_id=setup.agency.id, year=year(),
                               amount=100 * KR, actor=setup.manager)
    services.reverse_delegation(delegate(lab, setup.agency, 50 * KR), actor=setup.manager)
    assert ledger.verify_against_audit(lab.id) == []
    assert ledger.verify(lab.id) == []


def test_a_consistent_rewrite_of_an_allocation_is_reported(ctx, lab):
    setup = funded_family(lab, allocated=10_000 * KR)
    [allocation] = _transfers("allocation")
    rewrite_transfer(allocation, 2_000 * KR)
    assert ledger.verify(lab.id, audit_trail=False) == []  # balances = transfers, bounds hold: invisible
    [problem] = ledger.verify(lab.id)
    assert problem.startswith(f"transfer {allocation.id} (allocation): amount {12_000 * KR} øre")
    assert f"recorded {10_000 * KR} øre" in problem and "budget.allocate" in problem
    assert ledger.family_balance(setup.family.id, year()).available == 12_000 * KR


def test_a_consistent_rewrite_of_a_reserve_is_reported_at_the_spend(ctx, lab):
    setup = funded_family(lab, allocated=10_000 * KR)
    approved = spend(setup, 4_000 * KR)
    services.approve_spend(approved.id, setup.lead)
    [reserve] = _transfers("reserve")
    rewrite_transfer(reserve, -3_000 * KR)  # committed 1 000 kr instead of 4 000: 3 000 kr freed to spend again
    assert ledger.verify(lab.id, audit_trail=False) == []
    [problem] = ledger.verify(lab.id)
    assert f"transfer {reserve.id} (reserve): amount {1_000 * KR} øre" in problem
    assert f"recorded {4_000 * KR} øre" in problem and "spend.approve" in problem


def test_a_deleted_movement_with_balances_adjusted_is_reported(ctx, lab):
    setup = funded_family(lab, allocated=10_000 * KR)
    services.return_allocation(lab, family_id=setup.family.id, agency_id=setup.agency.id, year=year(),
                               amount=1_000 * KR, actor=setup.manager)
    [returned] = _transfers("allocation_return")
    rewrite_transfer(returned, -returned.amount, delete=True)  # gone, both balances as if it never happened
    assert ledger.verify(lab.id, audit_trail=False) == []
    [problem] = ledger.verify(lab.id)
    assert f"recorded {1_000 * KR} øre, but no allocation_return transfer matches it" in problem
