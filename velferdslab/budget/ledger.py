"""Ledger mechanics: opening accounts, locking them, posting transfers, reading balances, and
running a money operation with bounded retries.

Balances are changed only by the database (the transfer trigger); this module never writes
``ledger_account.balance``. Every operation that moves money locks all the accounts it touches,
in id order, before it reads a balance — so two approvals against one allocation are serialised
by the row lock on PostgreSQL, and concurrent operations on overlapping accounts cannot deadlock.
SQLite has no row locks: there the operation takes the database's write lock first
(:func:`claim_write_lock`), which serialises writers the same way.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from flask_babel import gettext as _
from sqlalchemy import and_, case, func, or_, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from velferdslab.budget.models import (
    FAMILY_ACCOUNT_KINDS,
    LedgerAccount,
    LedgerTransfer,
    VoucherLine,
    YearClose,
    account_code,
)
from velferdslab.core.errors import ConflictError, ServiceError
from velferdslab.core.models import utcnow
from velferdslab.extensions import db

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_ATTEMPTS = 5
RETRY_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected


def dialect() -> str:
    return db.session.get_bind().dialect.name


# --- accounts --------------------------------------------------------------------------------

def account(lab_id: int, kind: str, year: int, agency_id: int, family_id: int | None = None) -> LedgerAccount:
    """The account for (kind, year, agency, family), opened on first use.

    Two requests may open the same account at once; the unique code lets one win and the other
    read the winner's row (the insert runs in a savepoint so the loser's transaction survives).
    """
    code = account_code(kind, year, agency_id, family_id)
    found = db.session.scalar(select(LedgerAccount).where(LedgerAccount.code == code))
    if found is not None:
        return found
    row = LedgerAccount(lab_id=lab_id, kind=kind, year=year, agency_id=agency_id, family_id=family_id,
                        code=code, balance=0)
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        found = db.session.scalar(select(LedgerAccount).where(LedgerAccount.code == code))
        if found is None:
            raise
        return found
    return row


def lock_accounts(ids: Iterable[int]) -> dict[int, LedgerAccount]:
    """Lock the accounts (``SELECT … FOR UPDATE`` in id order) and return them with fresh balances."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = db.session.scalars(select(LedgerAccount).where(LedgerAccount.id.in_(wanted))
                              .order_by(LedgerAccount.id).with_for_update()
                              .execution_options(populate_existing=True)).all()
    return {row.id: row for row in rows}


def lock_family_and_pools(lab_id: int, family_id: int, year: int, agency_ids: Iterable[int]) -> list[LedgerAccount]:
    """Lock, in one ``SELECT … FOR UPDATE`` (id order), the family's allocation accounts for the
    year, its committed accounts and the pools of ``agency_ids``; a committed or pool account not
    there yet is opened (:func:`account`) and locked after. Fresh balances."""
    wanted = {account_code(kind, year, agency_id, family_id if kind == "committed" else None)
              for agency_id in agency_ids for kind in ("committed", "pool")}
    rows = list(db.session.scalars(select(LedgerAccount).where(
        or_(and_(LedgerAccount.family_id == family_id, LedgerAccount.year == year,
                 LedgerAccount.kind == "allocation"), LedgerAccount.code.in_(wanted)))
        .order_by(LedgerAccount.id).with_for_update().execution_options(populate_existing=True)))
    missing = wanted - {row.code for row in rows}
    if missing:
        opened = []
        for code in sorted(missing):
            kind, _year, agency_id, family = code.split(":")
            opened.append(account(lab_id, kind, year, int(agency_id), int(family) or None).id)
        rows = sorted([*rows, *lock_accounts(opened).values()], key=lambda row: row.id)
    return rows


def family_accounts(family_id: int, year: int, kind: str) -> list[LedgerAccount]:
    return list(db.session.scalars(select(LedgerAccount).where(
        LedgerAccount.family_id == family_id, LedgerAccount.year == year, LedgerAccount.kind == kind)
        .order_by(LedgerAccount.id)))


def claim_write_lock() -> None:
    """SQLite's stand-in for row locks: take the database write lock now, before reading.

    A no-op UPDATE starts a write transaction even though it matches nothing; it waits (busy
    timeout) while another writer holds the lock. On PostgreSQL the row locks do this job.
    """
    if dialect() == "sqlite":
        db.session.execute(text("UPDATE ledger_account SET id = id WHERE 0"))


# --- transfers -------------------------------------------------------------------------------

def closed_years(lab_id: int, years: Iterable[int]) -> set[int]:
    """Which of ``years`` the lab has closed (issue 17: a closed year takes no new movements)."""
    wanted = set(years)
    return set(db.session.scalars(select(YearClose.year).where(YearClose.lab_id == lab_id,
                                                               YearClose.year.in_(wanted)))) if wanted else set()


def refuse_closed_year(lab_id: int, years: Iterable[int]) -> None:
    """409 with a clear message when any of ``years`` is closed."""
    closed = closed_years(lab_id, years)
    if closed:
        raise ConflictError(_("Budsjettåret %(year)s er avsluttet; ingen penger kan flyttes i det.",
                              year=min(closed)), "year")


def post(kind: str, debit: LedgerAccount, credit: LedgerAccount, amount: int, *, lab_id: int,
         actor_id: int | None, spend_request_id: int | None = None, delegation_id: int | None = None,
         at=None, closing: bool = False) -> LedgerTransfer:
    """Insert one transfer. The trigger applies it to both balances; a CHECK refuses an overdraft.

    Every write path of the ledger comes through here, so here a closed budget year refuses the
    movement (409); only the year-end itself (``closing``) moves money out of the year it closes.
    """
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError("a transfer moves a positive whole number of øre")
    if not closing:
        refuse_closed_year(lab_id, {debit.year, credit.year})
    transfer = LedgerTransfer(lab_id=lab_id, kind=kind, debit_account_id=debit.id, credit_account_id=credit.id,
                              amount=amount, spend_request_id=spend_request_id, delegation_id=delegation_id,
                              created_by_id=actor_id, created_at=at or utcnow())
    db.session.add(transfer)
    db.session.flush()
    # The balances changed in the database, not in these objects: read them again when next used.
    db.session.expire(debit, ["balance"])
    db.session.expire(credit, ["balance"])
    return transfer


# --- balances --------------------------------------------------------------------------------

@dataclass(frozen=True)
class FamilyBalance:
    """A family's budget for a year, in øre. ``allocated`` is what the family has been given
    (net of returns); ``available`` is what is neither committed nor paid."""

    allocated: int = 0
    committed: int = 0
    paid: int = 0
    available: int = 0


def family_balances(family_ids: Iterable[int], year: int) -> dict[int, FamilyBalance]:
    """The balances of many families in one query (families with no accounts get zeros)."""
    ids = list(set(family_ids))
    sums: dict[int, dict[str, int]] = {i: dict.fromkeys(FAMILY_ACCOUNT_KINDS, 0) for i in ids}
    if ids:
        rows = db.session.execute(
            select(LedgerAccount.family_id, LedgerAccount.kind, func.sum(LedgerAccount.balance))
            .where(LedgerAccount.family_id.in_(ids), LedgerAccount.year == year)
            .group_by(LedgerAccount.family_id, LedgerAccount.kind))
        for family_id, kind, total in rows:
            assert family_id is not None  # the query's family_id IN (...) lets no NULL through
            sums[family_id][kind] = int(total or 0)
    return {i: FamilyBalance(allocated=s["allocation"] + s["committed"] + s["paid"], committed=s["committed"],
                             paid=s["paid"], available=s["allocation"]) for i, s in sums.items()}


def spend_commitments(spend_id: int, kind: str = "committed") -> list[tuple[LedgerAccount, int]]:
    """What is committed (or, with ``kind="paid"``, paid) for a spend now, per account, net of all
    the spend's transfers, in account id order. After a year-end carry the commitment sits in the
    next year's account, which is where payment or release must take it."""
    rows = db.session.execute(
        select(LedgerAccount, func.sum(case((LedgerTransfer.credit_account_id == LedgerAccount.id,
                                             LedgerTransfer.amount), else_=-LedgerTransfer.amount)))
        .join(LedgerTransfer, (LedgerTransfer.credit_account_id == LedgerAccount.id)
              | (LedgerTransfer.debit_account_id == LedgerAccount.id))
        .where(LedgerTransfer.spend_request_id == spend_id, LedgerAccount.kind == kind)
        .group_by(LedgerAccount.id).order_by(LedgerAccount.id)).all()
    return [(account, int(total)) for account, total in rows if total]


def family_balance(family_id: int, year: int) -> FamilyBalance:
    return family_balances([family_id], year)[family_id]


def verify(lab_id: int | None = None, *, audit_trail: bool = True) -> list[str]:
    """Recompute every balance from the transfers and compare. Returns the problems found.

    The maintained balance must equal credits minus debits; all balances of a lab sum to zero
    (double entry); and no balance is outside its bounds. With ``audit_trail`` (the default) every
    money movement is also checked against the amount its audit event recorded
    (:func:`verify_against_audit`), which catches a consistent rewrite: a transfer's amount changed
    together with both balances.
    """
    problems = _verify_balances(lab_id)
    problems.extend(verify_vouchers(lab_id))
    if audit_trail:
        problems.extend(verify_against_audit(lab_id))
    return problems


def verify_vouchers(lab_id: int | None = None) -> list[str]:
    """Every payment and payment reversal has exactly its voucher line (issue 17): the same amount
    (negative for a reversal) and the agency of the account the transfer debits; no line without
    its transfer. So the voucher files' control sums are the ledger's payments, to the øre."""
    query = (select(LedgerTransfer.id, LedgerTransfer.kind, LedgerTransfer.amount, LedgerAccount.agency_id,
                    VoucherLine.id, VoucherLine.amount, VoucherLine.agency_id)
             .join(LedgerAccount, LedgerAccount.id == LedgerTransfer.debit_account_id)
             .outerjoin(VoucherLine, VoucherLine.transfer_id == LedgerTransfer.id)
             .where(LedgerTransfer.kind.in_(("payment", "payment_reversal"))))
    orphans = select(VoucherLine.id).outerjoin(LedgerTransfer, LedgerTransfer.id == VoucherLine.transfer_id).where(
        LedgerTransfer.kind.not_in(("payment", "payment_reversal")) | LedgerTransfer.id.is_(None))
    if lab_id is not None:
        query = query.where(LedgerTransfer.lab_id == lab_id)
        orphans = orphans.where(VoucherLine.lab_id == lab_id)
    problems = []
    for transfer_id, kind, amount, agency_id, line_id, line_amount, line_agency in db.session.execute(query):
        expected = amount if kind == "payment" else -amount
        if line_id is None:
            problems.append(f"transfer {transfer_id} ({kind}, {amount} øre): no voucher line")
        elif (line_amount, line_agency) != (expected, agency_id):
            problems.append(f"voucher line {line_id}: {line_amount} øre for agency {line_agency}, but transfer "
                            f"{transfer_id} moved {expected} øre of agency {agency_id}")
    problems.extend(f"voucher line {line_id}: no payment transfer" for line_id in db.session.scalars(orphans))
    return problems


def _verify_balances(lab_id: int | None) -> list[str]:
    credit = select(LedgerTransfer.credit_account_id.label("account_id"), LedgerTransfer.amount.label("amount"))
    debit = select(LedgerTransfer.debit_account_id.label("account_id"), (-LedgerTransfer.amount).label("amount"))
    movements = credit.union_all(debit).subquery()
    derived = (select(movements.c.account_id, func.sum(movements.c.amount).label("total"))
               .group_by(movements.c.account_id).subquery())
    query = (select(LedgerAccount.id, LedgerAccount.lab_id, LedgerAccount.kind, LedgerAccount.balance,
                    func.coalesce(derived.c.total, 0))
             .outerjoin(derived, derived.c.account_id == LedgerAccount.id))
    if lab_id is not None:
        query = query.where(LedgerAccount.lab_id == lab_id)
    problems: list[str] = []
    per_lab: dict[int, int] = {}
    for account_id, lab, kind, balance, total in db.session.execute(query):
        per_lab[lab] = per_lab.get(lab, 0) + int(balance)
        if int(balance) != int(total):
            problems.append(f"account {account_id}: balance {balance} but transfers sum to {total}")
        if (kind == "delegation" and balance > 0) or (kind != "delegation" and balance < 0):
            problems.append(f"account {account_id} ({kind}): balance {balance} is out of bounds")
    problems.extend(f"lab {lab}: balances sum to {total}, not 0" for lab, total in per_lab.items() if total)
    return problems


# Which audit event records which money movement, and where its amount is in the summary. A
# movement is one transfer (allocation, return, delegation, reversal) or the transfers of one kind
# for one spend request (a reserve, payment or release may be split over the agencies' accounts).
# The audited amounts live in the hash-chained audit trail, so changing them too breaks the chain
# (``velferdslab audit verify``).
AUDITED_MOVEMENTS: dict[str, tuple[str, str, str]] = {
    # transfer kind: (audit action, what the event's object_id names, summary key of the amount)
    "delegation": ("budget.delegate", "delegation", "amount"),
    "delegation_reversal": ("budget.delegation_reverse", "delegation", "amount"),
    "allocation": ("budget.allocate", "transfer", "amount"),
    "allocation_return": ("budget.allocation_return", "transfer", "amount"),
    "reserve": ("spend.approve", "spend", "amount"),
    "payment": ("spend.pay", "spend", "amount"),
    "release": ("spend.cancel", "spend", "released"),
    "payment_reversal": ("spend.payment_reverse", "spend", "amount"),
    "carry_out": ("budget.carry_out", "transfer", "amount"),
    "carry_in": ("budget.carry_in", "transfer", "amount"),
}


def _movement_key(kind: str, transfer_id: int, spend_id: int | None, delegation_id: int | None):
    names = AUDITED_MOVEMENTS[kind][1]
    owner = {"transfer": transfer_id, "spend": spend_id, "delegation": delegation_id}[names]
    return kind, owner


def verify_against_audit(lab_id: int | None = None) -> list[str]:
    """Every money movement against the amount its audit event recorded.

    Reports each transfer (or a spend's transfers of one kind) whose amount differs from the
    audited amount, each transfer no audit event records, and each audited movement of money that
    has no transfer (a deleted one). Balances alone cannot see a transfer whose amount was changed
    together with both balances; the audit trail, chained and signed, still holds the amount.
    """
    from velferdslab.audit.models import AuditEvent

    transfers = select(LedgerTransfer.id, LedgerTransfer.kind, LedgerTransfer.amount,
                       LedgerTransfer.spend_request_id, LedgerTransfer.delegation_id).order_by(LedgerTransfer.id)
    events = (select(AuditEvent.id, AuditEvent.action, AuditEvent.object_id, AuditEvent.summary)
              .where(AuditEvent.action.in_({action for action, _, _ in AUDITED_MOVEMENTS.values()}))
              .order_by(AuditEvent.id))
    if lab_id is not None:
        transfers = transfers.where(LedgerTransfer.lab_id == lab_id)
        events = events.where(AuditEvent.lab_id == lab_id)
    moved: dict[tuple[str, int | None], list[tuple[int, int]]] = {}
    for transfer_id, kind, amount, spend_id, delegation_id in db.session.execute(transfers):
        moved.setdefault(_movement_key(kind, transfer_id, spend_id, delegation_id), []).append(
            (transfer_id, int(amount)))
    by_action = {action: kind for kind, (action, _, _) in AUDITED_MOVEMENTS.items()}
    problems: list[str] = []
    audited: dict[tuple[str, int | None], list[tuple[int, int]]] = {}
    for event_id, action, object_id, summary in db.session.execute(events):
        kind = by_action[action]
        recorded = (summary or {}).get(AUDITED_MOVEMENTS[kind][2])
        owner = int(object_id) if object_id is not None and str(object_id).isdigit() else None
        if isinstance(recorded, bool) or not isinstance(recorded, int) or owner is None:
            problems.append(f"audit event {event_id} ({action}): no amount or object recorded to check the "
                            f"{kind} transfer(s) against")
            continue
        audited.setdefault((kind, owner), []).append((event_id, recorded))
    for key, parts in moved.items():
        kind, _owner = key
        ids = ", ".join(str(transfer_id) for transfer_id, _ in parts)
        total = sum(amount for _, amount in parts)
        label = f"transfer {ids}" if len(parts) == 1 else f"transfers {ids}"
        records = audited.pop(key, None)
        if not records:
            problems.append(f"{label} ({kind}, {total} øre): no audit event records this money movement")
            continue
        expected = sum(amount for _, amount in records)
        if total != expected:
            event_ids = ", ".join(str(event_id) for event_id, _ in records)
            problems.append(f"{label} ({kind}): amount {total} øre, but the audit trail (event {event_ids}, "
                            f"{AUDITED_MOVEMENTS[kind][0]}) recorded {expected} øre")
    for (kind, _owner), records in audited.items():
        expected = sum(amount for _, amount in records)
        if expected:  # a cancellation that released nothing moves no money
            event_ids = ", ".join(str(event_id) for event_id, _ in records)
            problems.append(f"audit event {event_ids} ({AUDITED_MOVEMENTS[kind][0]}) recorded {expected} øre, "
                            f"but no {kind} transfer matches it")
    return problems


def signed(kind_in: tuple[str, ...], kind_out: tuple[str, ...]):
    """A SQL expression: +amount for transfers of ``kind_in``, −amount for ``kind_out``, else 0."""
    return case((LedgerTransfer.kind.in_(kind_in), LedgerTransfer.amount),
                (LedgerTransfer.kind.in_(kind_out), -LedgerTransfer.amount), else_=0)


# --- retries ---------------------------------------------------------------------------------

def _retry_kind(error: DBAPIError) -> str | None:
    """'savepoint' when rolling back to the savepoint is enough, 'restart' when the whole
    transaction must start over, None when the error is not one to retry."""
    if error.connection_invalidated:
        return "restart"  # the connection died (e.g. killed): PostgreSQL rolled it all back
    orig = error.orig
    if getattr(orig, "sqlstate", None) in RETRY_SQLSTATES:
        return "savepoint"
    if isinstance(error, IntegrityError) and "budget_idempotency_key" in str(orig):
        # The same Idempotency-Key committed a moment ago by a request running alongside: run
        # again, and the key is found — a replay of the same operation, or 422 for another one.
        return "savepoint"
    if isinstance(orig, sqlite3.OperationalError) and "locked" in str(orig):
        # A read snapshot older than the last commit cannot be upgraded to a write in SQLite.
        return "restart"
    return None


def run_with_retries(work: Callable[[], T], *, attempts: int = MAX_ATTEMPTS) -> T:
    """Run a money operation, retrying serialization failures, deadlocks, SQLite's "database is
    locked" and a lost connection a bounded number of times.

    Each attempt runs in a savepoint, so a failed attempt leaves nothing behind; when the
    transaction itself is lost (connection killed, stale SQLite snapshot) it is rolled back and
    started afresh. After the last attempt the caller gets a 503 with a Norwegian message, never
    an unhandled error. The work must be safe to run again: it reads everything it needs inside.
    """
    for attempt in range(1, attempts + 1):
        try:
            claim_write_lock()
            with db.session.begin_nested():
                return work()
        except DBAPIError as error:
            kind = _retry_kind(error)
            if kind is None:
                raise
            log.warning("money operation retried after %s (attempt %d of %d)",
                        getattr(error.orig, "sqlstate", None) or type(error.orig).__name__, attempt, attempts)
            if kind == "restart" or not db.session().in_transaction():
                db.session.rollback()
            if attempt == attempts:
                raise ServiceError(_("Systemet er travelt akkurat nå. Prøv igjen om litt."), status=503) from error
            time.sleep(min(0.2, 0.005 * 2 ** attempt) * (0.5 + random.random()))  # noqa: S311 - jitter
    raise AssertionError("unreachable")  # pragma: no cover
