"""The municipal books (issue 17): accounting codes, the voucher export, reconciliation and year-end.

Services validate, change, audit and flush — never commit (as ``budget.services``). The voucher
lines themselves are written with each payment (``budget.vouchers``); this module sets the codes
they get, exports a period, marks it exported (locked), reconciles it against the ledger, and
closes a budget year.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time

from flask import Response
from flask_babel import gettext as _
from sqlalchemy import Engine, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction
from velferdslab.auth.models import Agency, Lab, User
from velferdslab.budget import ledger, vouchers
from velferdslab.budget.models import (
    SPEND_CATEGORIES,
    YEAR_END_UNPAID,
    YEAR_END_UNUSED,
    AccountingCodes,
    CategoryAccount,
    LedgerAccount,
    LedgerTransfer,
    PeriodExport,
    SpendRequest,
    VoucherLine,
    YearClose,
    YearCloseAgency,
)
from velferdslab.budget.services import _lab_agency, _text, check_year, release_commitments
from velferdslab.core import spreadsheet
from velferdslab.core.errors import ConflictError, ServiceError
from velferdslab.core.models import OSLO, today_local, utcnow
from velferdslab.extensions import db

ANSVAR = re.compile(r"^[0-9]{1,10}$")
FUNKSJON = re.compile(r"^[1-8][0-9]{2}$")  # KOSTRA functions are three digits, 100–899
ART = re.compile(r"^[0-9]{3,8}$")  # the KOSTRA art (three digits), or the municipality's longer account
PROSJEKT = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_-]{0,19}$")

# The voucher file's columns, in order. Stable: documented in docs/budget.md; never reorder.
VOUCHER_COLUMNS = (
    "linje",
    "bilagsdato",
    "periode",
    "ansvar",
    "funksjon",
    "art",
    "prosjekt",
    "belop",
    "belop_ore",
    "utgift",
    "type",
    "budsjettar",
    "tekst",
)


# --- codes -------------------------------------------------------------------------------------------


def _code(value, pattern: re.Pattern, field_name: str, message: str, *, required: bool = True) -> str | None:
    value = (value or "").strip() if isinstance(value, str) or value is None else value
    if not value:
        if required:
            raise ServiceError(_("Feltet må fylles ut."), field_name)
        return None
    if not isinstance(value, str) or not pattern.match(value):
        raise ServiceError(message, field_name)
    return value


def check_art(value, field_name: str = "art") -> str:
    art = _code(value, ART, field_name, _("Arten er 3 til 8 sifre (KOSTRA-art, eventuelt med kommunens utvidelse)."))
    assert art is not None  # required
    return art


def save_codes(
    lab: Lab, *, agency_id: int, year: int, ansvar, funksjon, art, prosjekt=None, actor: User
) -> AccountingCodes:
    """Set the accounting dimensions of an agency's delegation for a budget year.

    Voucher lines keep the codes they were written with; only lines that were written before the
    agency had codes, in periods still open, get them now (so they can be exported).
    """
    agency = _lab_agency(lab.id, agency_id)
    check_year(year)
    clean = {
        "ansvar": _code(ansvar, ANSVAR, "ansvar", _("Ansvar er 1 til 10 sifre.")),
        "funksjon": _code(funksjon, FUNKSJON, "funksjon", _("Funksjon er en KOSTRA-funksjon: tre sifre, 100–899.")),
        "art": check_art(art),
        "prosjekt": _code(
            prosjekt, PROSJEKT, "prosjekt", _("Prosjekt er inntil 20 bokstaver, sifre, - eller _."), required=False
        ),
    }
    row = db.session.scalar(
        select(AccountingCodes).where(
            AccountingCodes.lab_id == lab.id, AccountingCodes.agency_id == agency.id, AccountingCodes.year == year
        )
    )
    if row is None:
        row = AccountingCodes(lab_id=lab.id, agency_id=agency.id, year=year, **clean)
        db.session.add(row)
    else:
        for name, value in clean.items():
            setattr(row, name, value)
    row.updated_by_id, row.updated_at = actor.id, utcnow()
    db.session.flush()
    filled = _fill_missing_codes(lab.id, agency.id, year)
    audit.record(
        AuditAction.BUDGET_CODES_UPDATE,
        actor=actor,
        lab_id=lab.id,
        object_type="accounting_codes",
        object_id=row.id,
        summary={"agency_id": agency.id, "year": year, "lines_filled": filled},
    )
    return row


def _fill_missing_codes(lab_id: int, agency_id: int, year: int) -> int:
    locked = vouchers.locked_periods(lab_id, agency_id)
    lines = db.session.scalars(
        select(VoucherLine).where(
            VoucherLine.lab_id == lab_id,
            VoucherLine.agency_id == agency_id,
            VoucherLine.budget_year == year,
            or_(VoucherLine.ansvar.is_(None), VoucherLine.funksjon.is_(None), VoucherLine.art.is_(None)),
        )
    ).all()
    filled = 0
    for line in lines:
        if line.period in locked:
            continue
        codes = vouchers.codes_for(lab_id, agency_id, year, line.category)
        for name, value in codes.items():
            if getattr(line, name) is None:
                setattr(line, name, value)
        filled += 1
    db.session.flush()
    return filled


def save_category_accounts(lab: Lab, mapping: dict, *, actor: User) -> dict[str, str]:
    """Which account (*art*) each spend category is booked to; an empty value removes the mapping
    (the category is then booked to the agency's own account). Returns the mapping now in force."""
    unknown = set(mapping) - set(SPEND_CATEGORIES)
    if unknown:
        raise ServiceError(_("Ukjent utgiftskategori."), f"categories.{sorted(unknown)[0]}")
    cleaned = {
        category: (check_art(value, f"categories.{category}") if value not in (None, "") else None)
        for category, value in mapping.items()
    }
    rows = {r.category: r for r in db.session.scalars(select(CategoryAccount).where(CategoryAccount.lab_id == lab.id))}
    changed = []
    for category, art in cleaned.items():
        row = rows.get(category)
        if art is None:
            if row is not None:
                db.session.delete(row)
                changed.append(category)
        elif row is None:
            db.session.add(CategoryAccount(lab_id=lab.id, category=category, art=art, updated_by_id=actor.id))
            changed.append(category)
        elif row.art != art:
            row.art, row.updated_by_id, row.updated_at = art, actor.id, utcnow()
            changed.append(category)
    db.session.flush()
    if changed:
        audit.record(
            AuditAction.BUDGET_CATEGORY_ACCOUNT,
            actor=actor,
            lab_id=lab.id,
            object_type="lab",
            object_id=lab.id,
            summary={"categories": sorted(changed)},
        )
    return category_accounts(lab.id)


def category_accounts(lab_id: int) -> dict[str, str]:
    rows = db.session.execute(
        select(CategoryAccount.category, CategoryAccount.art).where(CategoryAccount.lab_id == lab_id)
    )
    return {category: art for category, art in rows}


def codes_by_agency(lab_id: int, year: int) -> dict[int, AccountingCodes]:
    return {
        row.agency_id: row
        for row in db.session.scalars(
            select(AccountingCodes).where(AccountingCodes.lab_id == lab_id, AccountingCodes.year == year)
        )
    }


# --- one consistent read -------------------------------------------------------------------------------


@contextmanager
def snapshot() -> Iterator[Session]:
    """A session that reads one snapshot of the database: on PostgreSQL its own connection in a
    REPEATABLE READ transaction (payments recorded meanwhile are not seen, so the lines, the control
    sum and the reconciliation agree). SQLite (one writer at a time, the development database) gets
    its own connection without that guarantee. When the app's session is already bound to one
    connection (the test suite's outer transaction), that session is the snapshot."""
    bind = db.session.get_bind()
    if not isinstance(bind, Engine):
        yield db.session()
        return
    with bind.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            session = Session(bind=connection)
            try:
                yield session
            finally:
                session.close()


# --- the export ------------------------------------------------------------------------------------------


@dataclass
class VoucherFile:
    agency: Agency
    period: str
    lines: list[VoucherLine]
    exported: PeriodExport | None

    @property
    def control_sum(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def count(self) -> int:
        return len(self.lines)

    @property
    def missing_codes(self) -> int:
        return sum(1 for line in self.lines if not (line.ansvar and line.funksjon and line.art))


def _agency_in(session: Session, lab_id: int, agency_id) -> Agency:
    agency = session.get(Agency, agency_id) if isinstance(agency_id, int) else None
    if agency is None or agency.lab_id != lab_id:
        raise ServiceError(_("Etaten finnes ikke i dette laboratoriet."), "agency_id")
    return agency


def voucher_file(session: Session, lab_id: int, agency_id: int, period: str) -> VoucherFile:
    vouchers.check_period(period)
    agency = _agency_in(session, lab_id, agency_id)
    lines = list(
        session.scalars(
            select(VoucherLine)
            .where(VoucherLine.lab_id == lab_id, VoucherLine.agency_id == agency.id, VoucherLine.period == period)
            .order_by(VoucherLine.voucher_date, VoucherLine.id)
        )
    )
    exported = session.scalar(
        select(PeriodExport).where(
            PeriodExport.lab_id == lab_id, PeriodExport.agency_id == agency.id, PeriodExport.period == period
        )
    )
    return VoucherFile(agency, period, lines, exported)


def _kroner(ore: int) -> str:
    """1234,50 — the books' amount: comma decimals, no thousands separator, minus for a reversal."""
    sign = "-" if ore < 0 else ""
    return f"{sign}{abs(ore) // 100},{abs(ore) % 100:02d}"


def _row(number: int, line: VoucherLine) -> list:
    text = f"Velferdslab utgift {line.spend_request_id} ({line.category})"
    return [
        number,
        line.voucher_date.isoformat(),
        line.period,
        line.ansvar or "",
        line.funksjon or "",
        line.art or "",
        line.prosjekt or "",
        _kroner(line.amount),
        line.amount,
        line.spend_request_id,
        "tilbakeforing" if line.kind == "reversal" else "betaling",
        line.budget_year,
        text,
    ]


def _control_row(file: VoucherFile) -> list:
    """``SUM;<count>;<period>;;;;;<sum kr>;<sum øre>;;kontrollsum;;<agency>``."""
    return ["SUM", file.count, file.period, "", "", "", "", _kroner(file.control_sum), file.control_sum, "",
            "kontrollsum", "", file.agency.name]


def voucher_csv(file: VoucherFile) -> str:
    """The voucher file: a header row, one row per line, and a control row
    ``SUM;<count>;<period>;;;;;<sum kr>;<sum øre>;…``. Semicolons, CRLF, formula-safe cells."""
    out = io.StringIO()
    writer = spreadsheet.writer(out)
    writer.writerow(VOUCHER_COLUMNS)
    for number, line in enumerate(file.lines, start=1):
        writer.writerow(_row(number, line))
    writer.writerow(_control_row(file))
    return out.getvalue()


def voucher_xlsx(file: VoucherFile) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = f"Bilag {file.period}"
    rows = [list(VOUCHER_COLUMNS)] + [_row(n, line) for n, line in enumerate(file.lines, start=1)]
    rows.append(_control_row(file))
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            cell = sheet.cell(row=r, column=c)
            if isinstance(value, int) and not isinstance(value, bool):
                cell.value = value
            else:
                spreadsheet.set_xlsx_text(cell, str(value))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(body: str | bytes, kind: str, file: VoucherFile) -> Response:
    """The voucher file as an attachment (CSV with a BOM, as Excel in Norway wants it)."""
    name = f"bilag-{file.agency.id}-{file.period}.{kind}"
    data = ("\ufeff" + body).encode("utf-8") if isinstance(body, str) else body
    return Response(
        data,
        mimetype="text/csv" if kind == "csv" else XLSX_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def parse_voucher_csv(content: str) -> tuple[list[list[str]], list[str]]:
    """The lines and the control row of a voucher file (for checks and tests)."""
    rows = spreadsheet.read_rows(content)
    return rows[1:-1], rows[-1]


def mark_exported(lab: Lab, *, agency_id: int, period: str, actor: User) -> PeriodExport:
    """Mark a period exported to the books for an agency: it is locked from now on.

    The agency's committed and paid accounts are locked first, so a payment being recorded either
    commits before (and is in the period's totals) or waits and then finds the period locked.
    """
    vouchers.check_period(period)
    agency = _lab_agency(lab.id, agency_id)
    if period > vouchers.period_of(today_local()):
        raise ServiceError(_("En periode som ikke har begynt, kan ikke eksporteres."), "period")
    ids = db.session.scalars(
        select(LedgerAccount.id).where(
            LedgerAccount.lab_id == lab.id,
            LedgerAccount.agency_id == agency.id,
            LedgerAccount.kind.in_(("committed", "paid")),
        )
    )
    ledger.lock_accounts(list(ids))
    file = voucher_file(db.session(), lab.id, agency.id, period)
    if file.exported is not None:
        raise ConflictError(
            _("Perioden %(period)s er allerede eksportert for %(agency)s.", period=period, agency=agency.name), "period"
        )
    if file.missing_codes:
        raise ServiceError(
            _("%(n)s bilagslinjer mangler konteringskoder. Legg inn koder for etaten først.", n=file.missing_codes),
            "period",
        )
    row = PeriodExport(
        lab_id=lab.id,
        agency_id=agency.id,
        period=period,
        line_count=file.count,
        control_sum=file.control_sum,
        exported_by_id=actor.id,
        exported_at=utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError as error:  # marked a moment ago by someone else
        raise ConflictError(
            _("Perioden %(period)s er allerede eksportert for %(agency)s.", period=period, agency=agency.name), "period"
        ) from error
    audit.record(
        AuditAction.BUDGET_PERIOD_EXPORTED,
        actor=actor,
        lab_id=lab.id,
        object_type="period_export",
        object_id=row.id,
        summary={"agency_id": agency.id, "period": period, "lines": file.count, "control_sum": file.control_sum},
    )
    return row


# --- reconciliation --------------------------------------------------------------------------------------


@dataclass
class Reconciliation:
    """One agency's budget year at the end of a period, from the ledger, in øre.

    ``delegated + carried_in − carried_out`` (what the agency's money for the year is) always equals
    ``pool + unused + reserved + paid`` (where it is): ``balanced``.
    """

    agency: Agency
    period: str
    year: int
    delegated: int = 0  # delegations net of reversals
    carried_in: int = 0
    carried_out: int = 0
    allocated: int = 0  # pool → families, gross
    returned: int = 0  # families → pool (returns, year-end returns)
    reserved: int = 0  # committed balance at the end of the period
    paid: int = 0  # paid balance at the end of the period
    pool: int = 0
    unused: int = 0  # families' allocation balances
    vouchers_count: int = 0
    vouchers_sum: int = 0  # the period's voucher file control sum
    balances: dict[str, int] = field(default_factory=dict)

    @property
    def funded(self) -> int:
        return self.delegated + self.carried_in - self.carried_out

    @property
    def balanced(self) -> bool:
        return self.funded == self.pool + self.unused + self.reserved + self.paid == -self.balances.get("delegation", 0)


def period_end(period: str) -> datetime:
    """The first moment after the period (periods are Oslo months), timezone-aware."""
    following = vouchers.next_period(period)
    return datetime.combine(date(int(following[:4]), int(following[5:]), 1), time(), tzinfo=OSLO)


def reconcile(session: Session, lab_id: int, agency_id: int, period: str) -> Reconciliation:
    """The reconciliation of an agency's budget year (the period's year) at the end of the period:
    every transfer of the year's accounts recorded before the period ended. December is the year's
    closing reconciliation: it counts everything recorded for the year, also after 31 December
    (late payments, the year-end)."""
    vouchers.check_period(period)
    agency = _agency_in(session, lab_id, agency_id)
    year = int(period[:4])
    report = Reconciliation(agency, period, year)
    debit, credit = aliased(LedgerAccount), aliased(LedgerAccount)
    end = period_end(period)
    rows = session.execute(
        select(
            LedgerTransfer.kind,
            LedgerTransfer.amount,
            debit.kind,
            debit.agency_id,
            debit.year,
            credit.kind,
            credit.agency_id,
            credit.year,
        )
        .join(debit, debit.id == LedgerTransfer.debit_account_id)
        .join(credit, credit.id == LedgerTransfer.credit_account_id)
        .where(
            LedgerTransfer.lab_id == lab_id,
            LedgerTransfer.created_at < end if period[5:] != "12" else true(),
            or_(
                (debit.agency_id == agency.id) & (debit.year == year),
                (credit.agency_id == agency.id) & (credit.year == year),
            ),
        )
    )
    balances: dict[str, int] = {}
    for kind, amount, d_kind, d_agency, d_year, c_kind, c_agency, c_year in rows:
        amount = int(amount)
        mine_debit = d_agency == agency.id and d_year == year
        mine_credit = c_agency == agency.id and c_year == year
        if mine_debit:
            balances[d_kind] = balances.get(d_kind, 0) - amount
        if mine_credit:
            balances[c_kind] = balances.get(c_kind, 0) + amount
        if kind == "delegation":
            report.delegated += amount
        elif kind == "delegation_reversal":
            report.delegated -= amount
        elif kind == "carry_in" and mine_debit:
            report.carried_in += amount
        elif kind == "carry_out" and mine_credit:
            report.carried_out += amount
        elif kind == "allocation":
            report.allocated += amount
        elif kind == "allocation_return":
            report.returned += amount
    report.balances = balances
    report.pool, report.unused = balances.get("pool", 0), balances.get("allocation", 0)
    report.reserved, report.paid = balances.get("committed", 0), balances.get("paid", 0)
    count, total = session.execute(
        select(func.count(VoucherLine.id), func.coalesce(func.sum(VoucherLine.amount), 0)).where(
            VoucherLine.lab_id == lab_id, VoucherLine.agency_id == agency.id, VoucherLine.period == period
        )
    ).one()
    report.vouchers_count, report.vouchers_sum = int(count), int(total)
    return report


def exports(lab_id: int) -> list[PeriodExport]:
    return list(
        db.session.scalars(
            select(PeriodExport)
            .where(PeriodExport.lab_id == lab_id)
            .order_by(PeriodExport.period.desc(), PeriodExport.agency_id)
        )
    )


def periods_with_lines(lab_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(VoucherLine.period)
            .where(VoucherLine.lab_id == lab_id)
            .distinct()
            .order_by(VoucherLine.period.desc())
        )
    )


# --- year-end --------------------------------------------------------------------------------------------


def _year_agencies(lab_id: int, year: int) -> list[int]:
    return list(
        db.session.scalars(
            select(LedgerAccount.agency_id)
            .where(LedgerAccount.lab_id == lab_id, LedgerAccount.year == year)
            .distinct()
            .order_by(LedgerAccount.agency_id)
        )
    )


def _clean_decisions(lab_id: int, year: int, decisions) -> dict[int, dict]:
    if not isinstance(decisions, dict):
        raise ServiceError(_("Oppgi etatenes beslutninger."), "decisions")
    cleaned: dict[int, dict] = {}
    for raw_id, decision in decisions.items():
        agency_id = int(raw_id) if isinstance(raw_id, str) and raw_id.isdigit() else raw_id
        where = f"decisions.{raw_id}"
        _lab_agency(lab_id, agency_id, where)
        if not isinstance(decision, dict):
            raise ServiceError(_("Oppgi etatens beslutning."), where)
        if decision.get("unused") not in YEAR_END_UNUSED:
            raise ServiceError(
                _("Velg om ubrukte tildelinger overføres til neste år eller går tilbake til potten."), f"{where}.unused"
            )
        if decision.get("unpaid") not in YEAR_END_UNPAID:
            raise ServiceError(
                _("Velg om godkjente, ubetalte utgifter overføres til neste år eller frigjøres."), f"{where}.unpaid"
            )
        reference = _text(decision.get("decision_reference"), f"{where}.decision_reference", 100, required=False)
        cleaned[agency_id] = {
            "unused": decision["unused"],
            "unpaid": decision["unpaid"],
            "decision_reference": reference,
        }
    missing = [a for a in _year_agencies(lab_id, year) if a not in cleaned]
    if missing:
        raise ServiceError(
            _("Hver etat med midler i %(year)s må ha en beslutning.", year=year), f"decisions.{missing[0]}"
        )
    return cleaned


def _carry(
    lab_id: int,
    source: LedgerAccount,
    amount: int,
    actor: User | None,
    *,
    spend_id: int | None = None,
    family_id: int | None = None,
) -> None:
    """Move ``amount`` from a closing year's family account to the same account next year: out of
    the year to the agency's delegation account of that year, and in from next year's."""
    assert source.family_id is not None
    year = source.year
    out_of = ledger.account(lab_id, "delegation", year, source.agency_id)
    into_source = ledger.account(lab_id, "delegation", year + 1, source.agency_id)
    target = ledger.account(lab_id, source.kind, year + 1, source.agency_id, source.family_id)
    actor_id = actor.id if actor else None
    moves = (
        ("carry_out", source, out_of, True, AuditAction.BUDGET_CARRY_OUT),
        ("carry_in", into_source, target, False, AuditAction.BUDGET_CARRY_IN),
    )
    for kind, debit, credit, closing, action in moves:
        transfer = ledger.post(
            kind, debit, credit, amount, lab_id=lab_id, actor_id=actor_id, spend_request_id=spend_id, closing=closing
        )
        audit.record(
            action,
            actor=actor,
            lab_id=lab_id,
            family_id=family_id,
            object_type="ledger_transfer",
            object_id=transfer.id,
            summary={
                "agency_id": source.agency_id,
                "year": year,
                "amount": amount,
                "kind": source.kind,
                "spend_id": spend_id,
            },
        )


def close_year(lab: Lab, *, year: int, decisions, actor: User) -> YearClose:
    """Close a lab's budget year, per each agency's recorded decision:

    * approved-but-unpaid spend is carried to next year (its commitment moves, the request's budget
      year becomes the next) or released (the request is cancelled, the money back to the family);
      a spend funded by several agencies is carried only if every one of them carries;
    * then each family's unused allocation is carried to next year or returned to the pool.

    Refused while requests of the year wait for a decision, and for a year already closed (409).
    After it, no money moves in the year (``ledger.post``)."""
    check_year(year)
    if year + 1 > 2100:
        raise ServiceError(_("Ugyldig budsjettår."), "year")
    if year > today_local().year:
        raise ServiceError(_("Et budsjettår som ikke har begynt, kan ikke avsluttes."), "year")
    # Every account of the year, locked: nothing moves in the year while it is closed.
    ids = db.session.scalars(select(LedgerAccount.id).where(LedgerAccount.lab_id == lab.id, LedgerAccount.year == year))
    ledger.lock_accounts(list(ids))
    if ledger.closed_years(lab.id, {year}):
        raise ConflictError(_("Budsjettåret %(year)s er allerede avsluttet.", year=year), "year")
    cleaned = _clean_decisions(lab.id, year, decisions)
    waiting = db.session.scalar(
        select(func.count(SpendRequest.id)).where(
            SpendRequest.lab_id == lab.id, SpendRequest.budget_year == year, SpendRequest.status == "requested"
        )
    )
    if waiting:
        raise ConflictError(
            _(
                "%(n)s forespørsler for %(year)s venter på godkjenning. Avgjør eller avbryt dem før året avsluttes.",
                n=waiting,
                year=year,
            ),
            "year",
        )
    close = YearClose(lab_id=lab.id, year=year, closed_by_id=actor.id, closed_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(close)
    except IntegrityError as error:
        raise ConflictError(_("Budsjettåret %(year)s er allerede avsluttet.", year=year), "year") from error
    rows = {
        agency_id: YearCloseAgency(
            year_close_id=close.id,
            agency_id=agency_id,
            carried=0,
            returned=0,
            commitments_carried=0,
            released=0,
            **decision,
        )
        for agency_id, decision in cleaned.items()
    }
    _close_commitments(lab, year, rows, actor)
    _close_allocations(lab, year, rows, actor)
    for row in rows.values():
        db.session.add(row)
    db.session.flush()
    totals = {
        name: sum(getattr(r, name) for r in rows.values())
        for name in ("carried", "returned", "commitments_carried", "released")
    }
    audit.record(
        AuditAction.BUDGET_YEAR_CLOSE,
        actor=actor,
        lab_id=lab.id,
        object_type="year_close",
        object_id=close.id,
        summary={"year": year, "agencies": len(rows), **totals},
    )
    db.session.refresh(close, ["agencies"])
    return close


def _close_commitments(lab: Lab, year: int, rows: dict[int, YearCloseAgency], actor: User) -> None:
    approved = db.session.scalars(
        select(SpendRequest)
        .where(SpendRequest.lab_id == lab.id, SpendRequest.budget_year == year, SpendRequest.status == "approved")
        .order_by(SpendRequest.id)
        .with_for_update()
    ).all()
    for spend in approved:
        parts = [(c, amount) for c, amount in ledger.spend_commitments(spend.id) if c.year == year]
        carry = bool(parts) and all(rows[c.agency_id].unpaid == "carry" for c, _ in parts)
        if carry:
            for committed, amount in parts:
                _carry(lab.id, committed, amount, actor, spend_id=spend.id, family_id=spend.family_id)
                rows[committed.agency_id].commitments_carried += amount
            spend.budget_year = year + 1
        else:
            for committed, amount in parts:
                rows[committed.agency_id].released += amount
            released = release_commitments(spend, actor_id=actor.id, at=None, closing=True)
            spend.status = "cancelled"
            spend.cancellation_reason = _("Frigjort ved årsavslutningen for %(year)s.", year=year)
            spend.cancelled_at = utcnow()
            spend.cancelled_by_id = actor.id
            db.session.flush()
            audit.record(
                AuditAction.SPEND_CANCEL,
                actor=actor,
                family_id=spend.family_id,
                object_type="spend_request",
                object_id=spend.id,
                summary={"was": "approved", "released": released, "year_end": year},
            )
        db.session.flush()


def _close_allocations(lab: Lab, year: int, rows: dict[int, YearCloseAgency], actor: User) -> None:
    allocations = db.session.scalars(
        select(LedgerAccount)
        .where(
            LedgerAccount.lab_id == lab.id,
            LedgerAccount.year == year,
            LedgerAccount.kind == "allocation",
            LedgerAccount.balance > 0,
        )
        .order_by(LedgerAccount.id)
        .execution_options(populate_existing=True)
    ).all()
    for allocation in allocations:
        amount = allocation.balance
        row = rows[allocation.agency_id]
        if row.unused == "carry":
            _carry(lab.id, allocation, amount, actor, family_id=allocation.family_id)
            row.carried += amount
        else:
            pool = ledger.account(lab.id, "pool", year, allocation.agency_id)
            transfer = ledger.post(
                "allocation_return", allocation, pool, amount, lab_id=lab.id, actor_id=actor.id, closing=True
            )
            audit.record(
                AuditAction.BUDGET_ALLOCATION_RETURN,
                actor=actor,
                lab_id=lab.id,
                family_id=allocation.family_id,
                object_type="ledger_transfer",
                object_id=transfer.id,
                summary={"agency_id": allocation.agency_id, "year": year, "amount": amount, "year_end": True},
            )
            row.returned += amount


def year_closes(lab_id: int) -> list[YearClose]:
    return list(db.session.scalars(select(YearClose).where(YearClose.lab_id == lab_id).order_by(YearClose.year.desc())))
