"""Item 12: over random sequences of allocate / return / request / submit / approve / reject /
cancel / pay, every transfer balances, no balance goes negative, and the ledger agrees with a
simple model of what each operation must do (including when it must refuse)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from tests.budget.factories import KR, funded_family, spend, year
from velferdslab.budget import ledger, services
from velferdslab.budget.models import LedgerAccount, LedgerTransfer
from velferdslab.core.errors import ServiceError
from velferdslab.core.models import today_local
from velferdslab.extensions import db

POOL = 2_000_000 * KR
SEEN: set[tuple[str, str]] = set()  # (operation, from status) of every success, over the whole run
LEAD_LIMIT, MANAGER_LIMIT = 50_000 * KR, 250_000 * KR


class LedgerMachine(RuleBasedStateMachine):
    # Bundles only steer which request a rule picks (a sent one to approve, an approved one to pay);
    # the model below still judges every outcome from the request's real status.
    sent = Bundle("sent")
    approved = Bundle("approved")

    def __init__(self):
        super().__init__()
        self.savepoint = db.session.begin_nested()
        self.setup = funded_family(allocated=0, pool=POOL)
        self.people = {"lead": self.setup.lead, "manager": self.setup.manager, "manager2": self.setup.manager2,
                       "member": self.setup.member}
        self.allocated = self.committed = self.paid = 0
        self.spends: dict[int, dict] = {}

    def teardown(self):
        self.savepoint.rollback()

    @property
    def available(self) -> int:
        return self.allocated - self.committed - self.paid

    def attempt(self, operation, name: str = "", spend_id: int | None = None) -> bool:
        """Run like a request would: all of it or (on a refusal) none of it."""
        before = self.spends[spend_id]["status"] if spend_id else ""
        try:
            with db.session.begin_nested():
                operation()
        except (ServiceError, NotFound):  # refused, or out of reach (the family's audited 404)
            return False
        SEEN.add((name, before))
        return True

    # --- operations ------------------------------------------------------------------------------

    @initialize(amount=st.integers(min_value=20_000 * KR, max_value=400_000 * KR))
    def first_allocation(self, amount):
        self.allocate(amount)
        # One request down the common path first (sent, approved by the lead, cancelled), so every
        # money-moving transition is met whatever the random steps do after.
        self.approve_then_settle(self.request(1_000 * KR, True), "cancel")

    @rule(amount=st.integers(min_value=1, max_value=400_000 * KR))
    def allocate(self, amount):
        ok = self.attempt(lambda: services.allocate(self.setup.lab, family_id=self.setup.family.id,
                                                    agency_id=self.setup.agency.id, year=year(), amount=amount,
                                                    actor=self.setup.manager), "allocate")
        assert ok == (amount <= POOL - self.allocated)
        if ok:
            self.allocated += amount

    @rule(amount=st.integers(min_value=1, max_value=60_000 * KR))
    def return_allocation(self, amount):
        ok = self.attempt(lambda: services.return_allocation(
            self.setup.lab, family_id=self.setup.family.id, agency_id=self.setup.agency.id, year=year(),
            amount=amount, actor=self.setup.manager), "return")
        assert ok == (amount <= self.available)
        if ok:
            self.allocated -= amount

    @rule(target=sent, amount=st.one_of(st.integers(min_value=1, max_value=60_000 * KR),
                                        st.integers(min_value=240_000 * KR, max_value=300_000 * KR)),
          send=st.sampled_from([True, True, True, False]))  # sometimes left as a draft
    def request(self, amount, send):
        created = spend(self.setup, amount, submit=False)
        self.spends[created.id] = {"status": "draft", "amount": amount, "approvers": set()}
        if send:
            self.submit(created.id)
        return created.id

    @rule(spend_id=sent)
    def submit(self, spend_id):
        state = self.spends[spend_id]
        ok = self.attempt(lambda: services.submit_spend(spend_id, self.setup.member), "submit", spend_id)
        assert ok == (state["status"] == "draft" and state["amount"] <= self.available)
        if ok:
            state["status"] = "requested"

    @rule(target=approved, spend_id=st.one_of(sent, approved),
          who=st.sampled_from(["lead", "lead", "manager", "manager2", "member"]))
    def approve(self, spend_id, who):
        state, amount = self.spends[spend_id], self.spends[spend_id]["amount"]
        ok = self.attempt(lambda: services.approve_spend(spend_id, self.people[who]), "approve", spend_id)
        # A request the lead may approve alone is routed to the team; management does not even see it.
        may = who != "member" and (who == "lead") == (amount <= LEAD_LIMIT)
        if state["status"] != "requested" or not may or who in state["approvers"]:
            assert not ok
            return multiple()
        two = amount > MANAGER_LIMIT and who != "lead"
        final = not two or len(state["approvers"]) == 1
        assert ok == (amount <= self.available or not final)
        if not ok:
            return multiple()
        state["approvers"].add(who)
        if not final:
            return multiple()
        state["status"] = "approved"
        self.committed += amount
        return spend_id

    @rule(spend_id=sent, then=st.sampled_from(["pay", "cancel", "both"]))
    def approve_then_settle(self, spend_id, then):
        """The common path in one step: a draft is sent, the lead (or a manager) approves, then it is
        paid or cancelled."""
        if self.spends[spend_id]["status"] == "draft":
            self.submit(spend_id)
        who = "lead" if self.spends[spend_id]["amount"] <= LEAD_LIMIT else "manager"
        self.approve(spend_id, who)
        if self.spends[spend_id]["amount"] > MANAGER_LIMIT:
            self.approve(spend_id, "manager2")
        if then in ("pay", "both"):
            self.pay(spend_id)
        if then in ("cancel", "both"):
            self.cancel(spend_id)

    @rule(spend_id=st.one_of(sent, approved), who=st.sampled_from(["lead", "manager"]))
    def reject(self, spend_id, who):
        state = self.spends[spend_id]
        ok = self.attempt(lambda: services.reject_spend(spend_id, self.people[who], reason="Nei"), "reject", spend_id)
        routed_to_team = state["amount"] <= LEAD_LIMIT
        assert ok == (state["status"] == "requested" and (who == "lead") == routed_to_team)
        if ok:
            state["status"] = "rejected"

    @rule(spend_id=st.one_of(sent, approved, approved))
    def cancel(self, spend_id):
        state = self.spends[spend_id]
        ok = self.attempt(lambda: services.cancel_spend(spend_id, self.setup.member, reason="Trengs ikke"), "cancel",
                          spend_id)
        assert ok == (state["status"] in ("draft", "requested", "approved"))
        if ok:
            if state["status"] == "approved":
                self.committed -= state["amount"]
            state["status"] = "cancelled"

    @rule(spend_id=st.one_of(approved, approved, sent))
    def pay(self, spend_id):
        state = self.spends[spend_id]
        ok = self.attempt(lambda: services.pay_spend(spend_id, self.setup.lead, paid_on=today_local(),
                                                     reference="Bilag"), "pay", spend_id)
        assert ok == (state["status"] == "approved")
        if ok:
            state["status"] = "paid"
            self.committed -= state["amount"]
            self.paid += state["amount"]

    # --- what must always hold -------------------------------------------------------------------------

    @invariant()
    def the_ledger_balances_and_nothing_is_negative(self):
        assert ledger.verify(self.setup.lab.id) == []  # balances = Σ transfers, sum to zero, within bounds
        lab_id = self.setup.lab.id
        assert db.session.scalar(select(func.count()).select_from(LedgerTransfer).where(
            LedgerTransfer.lab_id == lab_id,
            (LedgerTransfer.amount <= 0) | (LedgerTransfer.debit_account_id == LedgerTransfer.credit_account_id))) == 0
        negative = db.session.scalar(select(func.count()).select_from(LedgerAccount).where(
            LedgerAccount.lab_id == lab_id, LedgerAccount.kind != "delegation", LedgerAccount.balance < 0))
        assert negative == 0

    @invariant()
    def the_ledger_agrees_with_the_model(self):
        balance = ledger.family_balance(self.setup.family.id, year())
        assert balance == ledger.FamilyBalance(allocated=self.allocated, committed=self.committed, paid=self.paid,
                                               available=self.available)


@pytest.mark.slow
def test_the_ledger_always_balances(ctx):
    SEEN.clear()
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=80, stateful_step_count=20, deadline=None, database=None, derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
    # The run went through every transition that moves money, so the invariants were put to work.
    assert SEEN >= {("allocate", ""), ("return", ""), ("submit", "draft"), ("approve", "requested"),
                    ("reject", "requested"), ("cancel", "approved"), ("pay", "approved")}, SEEN
