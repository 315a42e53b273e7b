"""Budget test data: a funded family, staff around it, and spend requests in any state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import text

from tests import factories
from velferdslab.auth.models import Agency, Lab, User
from velferdslab.budget import services
from velferdslab.core.models import today_local
from velferdslab.extensions import db

KR = 100


def year() -> int:
    return today_local().year


def delegate(lab: Lab, agency: Agency, amount: int, *, on_year: int | None = None):
    return services.delegate(lab, agency_id=agency.id, year=on_year or year(), amount=amount,
                             decision_reference="2026/123", decided_on=date(today_local().year, 1, 2), actor=None)


@dataclass
class Setup:
    lab: Lab
    agency: Agency
    family: object
    goal: object
    lead: User
    member: User
    manager: User
    manager2: User


def funded_family(lab: Lab | None = None, *, allocated: int = 100_000 * KR, pool: int | None = None,
                  agency: Agency | None = None) -> Setup:
    """A family with a lead, a member with consent, a goal, and ``allocated`` øre from one agency."""
    lab = lab or factories.lab()
    agency = agency or factories.agency(lab)
    fam = factories.family(lab, agency=agency)
    factories.consent(fam, agency)
    lead = factories.user(lab, roles=("team_lead",), agency=agency)
    member = factories.user(lab, roles=("caseworker",), agency=agency)
    manager = factories.user(lab, roles=("manager",))
    manager2 = factories.user(lab, roles=("manager",))
    factories.team_member(fam, lead, role="lead")
    factories.team_member(fam, member)
    goal = factories.goal(fam, theme="bolig")
    delegate(lab, agency, pool or max(allocated, 1) * 2)
    if allocated:
        services.allocate(lab, family_id=fam.id, agency_id=agency.id, year=year(), amount=allocated, actor=None)
    return Setup(lab, agency, fam, goal, lead, member, manager, manager2)


def spend_data(setup: Setup, amount: int, **overrides) -> dict:
    data = {"amount": amount, "payee": "Utleier AS", "purpose": "Depositum for ny leilighet",
            "category": "deposit", "theme": "bolig", "goal_id": setup.goal.id,
            "expected_effect": "Familien får en stabil bolig", "level_from": 1, "level_to": 3,
            "wanted_on": today_local()}
    data.update(overrides)
    return data


def spend(setup: Setup, amount: int, *, requester: User | None = None, submit: bool = True, **overrides):
    return services.create_spend(setup.family.id, requester or setup.member, spend_data(setup, amount, **overrides),
                                 submit=submit)


def _as_superuser() -> None:
    """Switch the ledger's guards off for the rest of the test's transaction, as a superuser could:
    PostgreSQL's triggers by ``session_replication_role``; SQLite's by dropping them (DDL is
    transactional there, so the rollback at the end of the test restores them)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        db.session.execute(text("DROP TRIGGER IF EXISTS ledger_transfer_no_update"))
        db.session.execute(text("DROP TRIGGER IF EXISTS ledger_transfer_no_delete"))


def rewrite_transfer(transfer, delta: int, *, delete: bool = False) -> None:
    """Change a transfer's amount (or delete it) and both balances to match: the ledger stays consistent."""
    _as_superuser()
    if delete:
        db.session.execute(text("DELETE FROM ledger_transfer WHERE id = :id"), {"id": transfer.id})
    else:
        db.session.execute(text("UPDATE ledger_transfer SET amount = amount + :d WHERE id = :id"),
                           {"d": delta, "id": transfer.id})
    db.session.execute(text("UPDATE ledger_account SET balance = balance - :d WHERE id = :id"),
                       {"d": delta, "id": transfer.debit_account_id})
    db.session.execute(text("UPDATE ledger_account SET balance = balance + :d WHERE id = :id"),
                       {"d": delta, "id": transfer.credit_account_id})
    db.session.expire_all()
