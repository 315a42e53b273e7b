"""Issue 17, the books: accounting codes, voucher lines, the export and its control sums against the
ledger, the period lock and reversals, and year-end (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.budget.factories import KR, delegate, funded_family, spend, spend_data, year
from velferdslab.budget import books, ledger, services, vouchers
from velferdslab.budget.models import LedgerAccount, LedgerTransfer, PeriodExport, SpendRequest, VoucherLine
from velferdslab.core.errors import ConflictError, ServiceError
from velferdslab.core.models import today_local
from velferdslab.extensions import db

PERIOD = vouchers.period_of(today_local())


def codes(setup, agency=None, *, on_year=None, **overrides):
    values = {"ansvar": "4100", "funksjon": "242", "art": "14700", "prosjekt": "VL-2026"} | overrides
    return books.save_codes(
        setup.lab, agency_id=(agency or setup.agency).id, year=on_year or year(), actor=setup.manager, **values
    )


def paid(setup, amount, **kwargs):
    request = spend(setup, amount, **kwargs)
    services.approve_spend(request.id, setup.lead)
    services.pay_spend(request.id, setup.lead, paid_on=today_local(), reference="Bilag 1")
    return request


def spend_in(setup, amount, budget_year):
    return services.create_spend(
        setup.family.id, setup.member, spend_data(setup, amount), budget_year=budget_year, submit=True
    )


def paid_balance(agency_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerAccount.balance), 0)).where(
                LedgerAccount.agency_id == agency_id, LedgerAccount.kind == "paid"
            )
        )
    )


# --- codes --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ansvar", "41A0"),
        ("ansvar", ""),
        ("funksjon", "24"),
        ("funksjon", "942"),
        ("art", "14"),
        ("art", "=SUM(A1)"),
        ("prosjekt", "med mellomrom"),
    ],
)
def test_codes_with_a_bad_format_are_refused_on_their_field(ctx, lab, name, value):
    setup = funded_family(lab)
    with pytest.raises(ServiceError) as refused:
        codes(setup, **{name: value})
    assert refused.value.field == name
    assert books.codes_by_agency(lab.id, year()) == {}


def test_a_category_maps_to_an_account_and_the_voucher_line_keeps_the_codes_of_payment_time(ctx, lab):
    setup = funded_family(lab)
    codes(setup)
    books.save_category_accounts(lab, {"deposit": "11500", "moving": ""}, actor=setup.manager)
    with pytest.raises(ServiceError) as refused:
        books.save_category_accounts(lab, {"deposit": "x"}, actor=setup.manager)
    assert refused.value.field == "categories.deposit"
    request = paid(setup, 1_000 * KR)
    other = paid(setup, 500 * KR, category="moving")
    codes(setup, ansvar="9999")  # a later change does not rewrite what was paid
    lines = {line.spend_request_id: line for line in db.session.scalars(select(VoucherLine))}
    assert (
        lines[request.id].ansvar,
        lines[request.id].funksjon,
        lines[request.id].art,
        lines[request.id].prosjekt,
    ) == ("4100", "242", "11500", "VL-2026")
    assert lines[other.id].art == "14700"  # no mapping: the agency's own account
    assert lines[request.id].amount == 1_000 * KR and lines[request.id].period == PERIOD


def test_a_spend_paid_by_two_agencies_gets_one_line_per_agency(ctx, lab):
    setup = funded_family(lab, allocated=600 * KR)
    second = factories.agency(lab, name="Bolig")
    delegate(lab, second, 10_000 * KR)
    services.allocate(lab, family_id=setup.family.id, agency_id=second.id, year=year(), amount=400 * KR, actor=None)
    codes(setup)
    codes(setup, second, ansvar="5200", funksjon="265")
    request = paid(setup, 800 * KR, funding=[{"agency": setup.agency.id, "amount": 600 * KR},
                                            {"agency": second.id, "amount": 200 * KR}])
    lines = db.session.scalars(
        select(VoucherLine).where(VoucherLine.spend_request_id == request.id).order_by(VoucherLine.agency_id)
    ).all()
    assert {(line.agency_id, line.amount, line.ansvar) for line in lines} == {
        (setup.agency.id, 600 * KR, "4100"),
        (second.id, 200 * KR, "5200"),
    }
    assert sum(line.amount for line in lines) == request.amount


def test_codes_saved_after_a_payment_fill_its_lines_in_an_open_period(ctx, lab):
    setup = funded_family(lab)
    paid(setup, 700 * KR)
    line = db.session.scalar(select(VoucherLine))
    assert line.ansvar is None
    with pytest.raises(ServiceError, match="mangler konteringskoder"):
        books.mark_exported(lab, agency_id=setup.agency.id, period=PERIOD, actor=setup.manager)
    codes(setup)
    db.session.refresh(line)
    assert (line.ansvar, line.art) == ("4100", "14700")


# --- the export against the ledger ---------------------------------------------------------------------


def test_the_export_control_sum_and_the_reconciliation_agree_with_the_ledger_to_the_ore(ctx, lab):
    setup = funded_family(lab, allocated=50_000 * KR)
    codes(setup)
    amounts = [1_234_56, 999_99, 12_000_01]
    for amount in amounts:
        paid(setup, amount)
    approved = spend(setup, 3_333_33)
    services.approve_spend(approved.id, setup.lead)
    services.return_allocation(
        lab, family_id=setup.family.id, agency_id=setup.agency.id, year=year(), amount=1_000 * KR, actor=setup.manager
    )
    assert ledger.verify(lab.id) == []
    with books.snapshot() as session:
        file = books.voucher_file(session, lab.id, setup.agency.id, PERIOD)
        report = books.reconcile(session, lab.id, setup.agency.id, PERIOD)
    content = books.voucher_csv(file)
    rows, control = books.parse_voucher_csv(content)
    assert content.splitlines()[0] == ";".join(books.VOUCHER_COLUMNS)
    assert len(rows) == 3 and control[:2] == ["SUM", "3"]
    assert int(control[8]) == sum(amounts) == sum(int(r[8]) for r in rows) == paid_balance(setup.agency.id)
    assert control[7] == "14234,56"
    accounts = {
        kind: int(total)
        for kind, total in db.session.execute(
            select(LedgerAccount.kind, func.sum(LedgerAccount.balance))
            .where(LedgerAccount.agency_id == setup.agency.id)
            .group_by(LedgerAccount.kind)
        )
    }
    assert report.paid == accounts["paid"] == report.vouchers_sum
    assert report.reserved == accounts["committed"] == 3_333_33
    assert report.unused == accounts["allocation"] and report.pool == accounts["pool"]
    assert report.delegated == -accounts["delegation"] == 100_000 * KR
    assert report.allocated == 50_000 * KR and report.returned == 1_000 * KR
    assert report.balanced


def test_the_xlsx_file_is_formula_safe_and_carries_the_control_row(ctx, lab):
    from io import BytesIO

    from openpyxl import load_workbook

    lab.name = "=HYPERLINK(1)"
    setup = funded_family(lab)
    setup.agency.name = '=HYPERLINK("http://x")'
    codes(setup)
    paid(setup, 250 * KR)
    file = books.voucher_file(db.session, lab.id, setup.agency.id, PERIOD)
    sheet = load_workbook(BytesIO(books.voucher_xlsx(file))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[-1][0] == "SUM" and rows[-1][8] == 250 * KR
    assert sheet.cell(row=len(rows), column=13).data_type == "s"
    assert sheet.cell(row=len(rows), column=13).quotePrefix
    assert books.voucher_csv(file).splitlines()[-1].endswith('\'=HYPERLINK(""http://x"")"')


# --- the lock and reversals ----------------------------------------------------------------------------


def test_an_exported_period_is_locked_and_a_correction_becomes_a_reversal_in_the_next_open_period(ctx, lab):
    setup = funded_family(lab)
    codes(setup)
    first = paid(setup, 2_000 * KR)
    waiting = spend(setup, 500 * KR)
    services.approve_spend(waiting.id, setup.lead)
    mark = books.mark_exported(lab, agency_id=setup.agency.id, period=PERIOD, actor=setup.manager)
    assert (mark.line_count, mark.control_sum) == (1, 2_000 * KR)
    with pytest.raises(ConflictError, match="allerede eksportert"):
        books.mark_exported(lab, agency_id=setup.agency.id, period=PERIOD, actor=setup.manager)
    with pytest.raises(ConflictError, match=f"Perioden {PERIOD} er eksportert") as refused:
        services.pay_spend(waiting.id, setup.lead, paid_on=today_local(), reference="Bilag 2")
    assert refused.value.field == "paid_on"
    db.session.refresh(waiting)
    assert waiting.status == "approved"
    services.reverse_payment(first.id, setup.lead, reason="Utleier betalte tilbake")
    assert first.status == "cancelled"
    reversal = db.session.scalar(select(VoucherLine).where(VoucherLine.kind == "reversal"))
    assert reversal.period == vouchers.next_period(PERIOD) and reversal.amount == -2_000 * KR
    locked = books.voucher_file(db.session, lab.id, setup.agency.id, PERIOD)
    assert (locked.count, locked.control_sum) == (mark.line_count, mark.control_sum)
    assert paid_balance(setup.agency.id) == 0
    assert ledger.family_balance(setup.family.id, year()).available == 100_000 * KR - 500 * KR
    assert ledger.verify(lab.id) == []
    with pytest.raises(ConflictError):  # already reversed: nothing twice
        services.reverse_payment(first.id, setup.lead, reason="Igjen")


def test_a_future_period_cannot_be_marked_exported(ctx, lab):
    setup = funded_family(lab)
    with pytest.raises(ServiceError) as refused:
        books.mark_exported(lab, agency_id=setup.agency.id, period=vouchers.next_period(PERIOD), actor=setup.manager)
    assert refused.value.field == "period"
    with pytest.raises(ServiceError):
        books.mark_exported(lab, agency_id=setup.agency.id, period="2026-13", actor=setup.manager)
    assert db.session.scalar(select(func.count(PeriodExport.id))) == 0


# --- year-end ------------------------------------------------------------------------------------------


def last_year_setup(lab):
    """Last year: a family with 20 000 kr from one agency, 5 000 kr paid, 3 000 kr approved and unpaid."""
    setup = funded_family(lab, allocated=0)
    last = year() - 1
    delegate(lab, setup.agency, 50_000 * KR, on_year=last)
    services.allocate(
        lab, family_id=setup.family.id, agency_id=setup.agency.id, year=last, amount=20_000 * KR, actor=None
    )
    done = spend_in(setup, 5_000 * KR, last)
    services.approve_spend(done.id, setup.lead)
    services.pay_spend(done.id, setup.lead, paid_on=today_local(), reference="Bilag 9")
    unpaid = spend_in(setup, 3_000 * KR, last)
    services.approve_spend(unpaid.id, setup.lead)
    return setup, last, unpaid


def test_year_end_carries_unused_allocations_and_unpaid_spend_to_next_year(ctx, lab):
    setup, last, unpaid = last_year_setup(lab)
    close = books.close_year(
        lab,
        year=last,
        actor=setup.manager,
        decisions={setup.agency.id: {"unused": "carry", "unpaid": "carry", "decision_reference": "Vedtak 12/2026"}},
    )
    decision = close.agencies[0]
    assert (decision.carried, decision.commitments_carried, decision.returned, decision.released) == (
        12_000 * KR,
        3_000 * KR,
        0,
        0,
    )
    assert unpaid.budget_year == year()
    this = ledger.family_balance(setup.family.id, year())
    assert (this.available, this.committed) == (12_000 * KR, 3_000 * KR)
    before = ledger.family_balance(setup.family.id, last)
    assert (before.available, before.committed, before.paid) == (0, 0, 5_000 * KR)
    services.pay_spend(unpaid.id, setup.lead, paid_on=today_local(), reference="Bilag 10")
    assert ledger.family_balance(setup.family.id, year()).paid == 3_000 * KR
    assert ledger.verify(lab.id) == []
    for period in (f"{last}-12", PERIOD):
        assert books.reconcile(db.session, lab.id, setup.agency.id, period).balanced


def test_year_end_returns_unused_allocations_and_releases_unpaid_spend(ctx, lab):
    setup, last, unpaid = last_year_setup(lab)
    close = books.close_year(
        lab, year=last, actor=setup.manager, decisions={str(setup.agency.id): {"unused": "return", "unpaid": "release"}}
    )
    decision = close.agencies[0]
    assert (decision.returned, decision.released, decision.carried) == (15_000 * KR, 3_000 * KR, 0)
    assert unpaid.status == "cancelled" and unpaid.budget_year == last
    before = ledger.family_balance(setup.family.id, last)
    assert (before.available, before.committed, before.paid) == (0, 0, 5_000 * KR)
    report = books.reconcile(db.session, lab.id, setup.agency.id, f"{last}-12")
    assert report.pool == 45_000 * KR and report.paid == 5_000 * KR and report.balanced
    assert ledger.verify(lab.id) == []


def test_a_closed_year_refuses_every_movement_and_a_second_year_end(ctx, lab):
    setup, last, unpaid = last_year_setup(lab)
    done = db.session.scalar(select(SpendRequest).where(SpendRequest.status == "paid"))
    books.close_year(
        lab, year=last, actor=setup.manager, decisions={setup.agency.id: {"unused": "return", "unpaid": "release"}}
    )
    with pytest.raises(ConflictError, match="allerede avsluttet"):
        books.close_year(
            lab, year=last, actor=setup.manager, decisions={setup.agency.id: {"unused": "return", "unpaid": "release"}}
        )
    transfers = db.session.scalar(select(func.count()).select_from(LedgerTransfer))
    attempts = [
        lambda: delegate(lab, setup.agency, 1_000 * KR, on_year=last),
        lambda: services.allocate(
            lab, family_id=setup.family.id, agency_id=setup.agency.id, year=last, amount=1 * KR, actor=None
        ),
        lambda: services.return_allocation(
            lab, family_id=setup.family.id, agency_id=setup.agency.id, year=last, amount=1 * KR, actor=setup.manager
        ),
        lambda: spend_in(setup, 100 * KR, last),
        lambda: services.reverse_payment(done.id, setup.lead, reason="Feil"),
    ]
    for attempt in attempts:
        with pytest.raises(ConflictError, match=f"Budsjettåret {last} er avsluttet"), db.session.begin_nested():
            attempt()
    assert db.session.scalar(select(func.count()).select_from(LedgerTransfer)) == transfers


def test_year_end_needs_a_decision_per_agency_and_no_waiting_requests(ctx, lab):
    setup, last, _unpaid = last_year_setup(lab)
    with pytest.raises(ServiceError) as refused:
        books.close_year(lab, year=last, actor=setup.manager, decisions={})
    assert refused.value.field == f"decisions.{setup.agency.id}"
    with pytest.raises(ServiceError) as refused:
        books.close_year(
            lab, year=last, actor=setup.manager, decisions={setup.agency.id: {"unused": "keep", "unpaid": "release"}}
        )
    assert refused.value.field == f"decisions.{setup.agency.id}.unused"
    spend_in(setup, 100 * KR, last)
    with pytest.raises(ConflictError, match="venter på godkjenning"):
        books.close_year(
            lab, year=last, actor=setup.manager, decisions={setup.agency.id: {"unused": "return", "unpaid": "release"}}
        )
    with pytest.raises(ServiceError):
        books.close_year(lab, year=year() + 1, actor=setup.manager, decisions={})
    assert ledger.closed_years(lab.id, {last}) == set()


def test_budget_verify_checks_the_voucher_lines_against_the_payments(app, ctx, lab):
    from sqlalchemy import text

    setup = funded_family(lab)
    codes(setup)
    request = paid(setup, 4_000 * KR)
    services.reverse_payment(request.id, setup.lead, reason="Refundert")
    paid(setup, 1_000 * KR)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["budget", "verify"])
    assert result.exit_code == 0, result.output
    db.session.execute(
        text("UPDATE voucher_line SET amount = amount - 1 WHERE kind = 'payment' AND amount = :a"), {"a": 1_000 * KR}
    )
    result = runner.invoke(args=["budget", "verify"])
    assert result.exit_code == 1
    assert "voucher line" in result.output and "99999" in result.output
