"""Voucher lines (issue 17): what each paid spend books, per paying agency, with its accounting codes.

A payment moves money out of the family's committed account of one agency into its paid account,
so the paying agency is the agency of the account the payment transfer debits; a spend reserved
from two agencies' allocations is paid by both, and gets one line per agency. The lines are
written in the same transaction as the transfers they book, with the codes in force then, so a
period's voucher file is the same whenever it is exported.

Periods are calendar months (``YYYY-MM``). A payment is booked in the month of its payment date. A
period that has been marked exported is locked: no new line may land in it. A payment dated in a
locked period is refused with the first open period named; a reversal (a correction of a payment)
is booked in the first open period from the month of the reversal on, so a payment in a locked
period is corrected in the next open one and the locked period's file never changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from velferdslab.budget.models import (
    AccountingCodes,
    CategoryAccount,
    LedgerAccount,
    LedgerTransfer,
    PeriodExport,
    SpendRequest,
    VoucherLine,
)
from velferdslab.core.errors import ConflictError, ServiceError
from velferdslab.extensions import db

PERIOD = re.compile(r"^(20\d\d|2100)-(0[1-9]|1[0-2])$")


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def next_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:])
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def check_period(value, field: str = "period") -> str:
    if not isinstance(value, str) or not PERIOD.match(value):
        raise ServiceError(_("Oppgi perioden som år og måned, for eksempel 2026-11."), field)
    return value


def locked_periods(lab_id: int, agency_id: int) -> set[str]:
    return set(
        db.session.scalars(
            select(PeriodExport.period).where(PeriodExport.lab_id == lab_id, PeriodExport.agency_id == agency_id)
        )
    )


def first_open_period(lab_id: int, agency_id: int, period: str) -> str:
    """``period`` itself when it is open, else the first open month after it."""
    locked = locked_periods(lab_id, agency_id)
    while period in locked:
        period = next_period(period)
    return period


def refuse_locked(lab_id: int, account: LedgerAccount, day: date, field: str) -> str:
    """The period of ``day`` for the account's agency, or 409 when that period is locked."""
    period = period_of(day)
    open_period = first_open_period(lab_id, account.agency_id, period)
    if open_period != period:
        raise ConflictError(
            _(
                "Perioden %(period)s er eksportert til regnskapet for %(agency)s og er låst. "
                "Bruk en dato i en åpen periode (tidligst %(open)s).",
                period=period,
                agency=account.agency.name,
                open=open_period,
            ),
            field,
        )
    return period


def codes_for(lab_id: int, agency_id: int, year: int, category: str) -> dict[str, str | None]:
    """The codes a line gets: the agency's dimensions for the year, the category's account (*art*)
    when the lab maps the category, else the agency's own account. Missing codes are None."""
    codes = db.session.scalar(
        select(AccountingCodes).where(
            AccountingCodes.lab_id == lab_id, AccountingCodes.agency_id == agency_id, AccountingCodes.year == year
        )
    )
    mapped = db.session.scalar(
        select(CategoryAccount.art).where(CategoryAccount.lab_id == lab_id, CategoryAccount.category == category)
    )
    return {
        "ansvar": codes.ansvar if codes else None,
        "funksjon": codes.funksjon if codes else None,
        "art": mapped or (codes.art if codes else None),
        "prosjekt": codes.prosjekt if codes else None,
    }


def write_lines(
    spend: SpendRequest, transfers: Iterable[LedgerTransfer], *, kind: str, day: date, field: str
) -> list[VoucherLine]:
    """One voucher line per transfer (each moves one agency's money).

    A payment debits the agency's committed account; a reversal debits its paid account: either
    way the agency is the debited account's. A payment is booked in ``day``'s period, and refused
    (409) when that period is locked for the agency; a reversal is booked in the first open period
    from ``day``'s on (dated the first day of that period when it is a later one).
    """
    lines = []
    for transfer in transfers:
        account = transfer.debit_account
        if kind == "payment":
            period, booked_on = refuse_locked(spend.lab_id, account, day, field), day
        else:  # a correction never touches a locked period: it is booked in the first open one
            period = first_open_period(spend.lab_id, account.agency_id, period_of(day))
            booked_on = max(day, date(int(period[:4]), int(period[5:]), 1))
        line = VoucherLine(
            lab_id=spend.lab_id,
            agency_id=account.agency_id,
            spend_request_id=spend.id,
            transfer_id=transfer.id,
            kind=kind,
            budget_year=account.year,
            period=period,
            voucher_date=booked_on,
            amount=transfer.amount if kind == "payment" else -transfer.amount,
            category=spend.category,
            **codes_for(spend.lab_id, account.agency_id, account.year, spend.category),
        )
        db.session.add(line)
        lines.append(line)
    db.session.flush()
    return lines
