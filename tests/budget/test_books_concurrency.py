"""Issue 17: an export is consistent to one snapshot while payments are being recorded, and a period
marked exported while payments arrive locks exactly what it counted (PostgreSQL, real commits)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from tests.budget.factories import KR, funded_family, spend
from velferdslab.budget import books, ledger, services, vouchers
from velferdslab.budget.models import LedgerAccount, PeriodExport, SpendRequest, VoucherLine
from velferdslab.core.errors import ConflictError
from velferdslab.core.models import today_local
from velferdslab.extensions import db

pytestmark = [pytest.mark.real_commits, pytest.mark.postgres]
PERIOD = vouchers.period_of(today_local())
PAYMENTS = 40


def scene(app):
    with app.app_context():
        setup = funded_family(allocated=100_000 * KR)
        books.save_codes(
            setup.lab,
            agency_id=setup.agency.id,
            year=today_local().year,
            ansvar="41",
            funksjon="242",
            art="14700",
            actor=setup.manager,
        )
        ids = []
        for n in range(PAYMENTS):
            request = spend(setup, (100 + n) * KR + n)
            services.approve_spend(request.id, setup.lead)
            ids.append(request.id)
        db.session.commit()
        return setup.lab.id, setup.agency.id, setup.lead.id, setup.manager.id, ids


def pay(app, lead_id: int, spend_id: int) -> str:
    from velferdslab.auth.models import User

    with app.app_context():
        lead = db.session.get(User, lead_id)
        try:
            ledger.run_with_retries(
                lambda: services.pay_spend(spend_id, lead, paid_on=today_local(), reference=f"Bilag {spend_id}")
            )
            db.session.commit()
            return "paid"
        except ConflictError:
            db.session.rollback()
            return "locked"


def test_an_export_reads_one_snapshot_while_payments_are_recorded(committed_app):
    app = committed_app
    lab_id, agency_id, lead_id, _manager_id, ids = scene(app)
    done = threading.Event()
    mismatches: list[tuple[int, int]] = []
    seen: list[int] = []

    def export_repeatedly():
        with app.app_context():
            while not done.is_set():
                with books.snapshot() as session:
                    file = books.voucher_file(session, lab_id, agency_id, PERIOD)
                    time.sleep(0.02)  # payments commit in between: a snapshot must not see them
                    paid = session.scalar(
                        select(func.coalesce(func.sum(LedgerAccount.balance), 0)).where(
                            LedgerAccount.agency_id == agency_id, LedgerAccount.kind == "paid"
                        )
                    )
                    report = books.reconcile(session, lab_id, agency_id, PERIOD)
                if not (file.control_sum == int(paid) == report.paid == report.vouchers_sum):
                    mismatches.append((file.control_sum, int(paid)))
                seen.append(file.count)

    reader = threading.Thread(target=export_repeatedly)
    reader.start()
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda spend_id: pay(app, lead_id, spend_id), ids))
    done.set()
    reader.join()
    assert results == ["paid"] * PAYMENTS
    assert mismatches == []
    assert len(set(seen)) > 1, "the reader never ran while payments were being recorded"
    with app.app_context():
        assert ledger.verify(lab_id) == []
        total = db.session.scalar(select(func.sum(SpendRequest.amount)).where(SpendRequest.id.in_(ids)))
        assert books.voucher_file(db.session, lab_id, agency_id, PERIOD).control_sum == total


def test_marking_a_period_exported_while_payments_arrive_locks_what_it_counted(committed_app):
    app = committed_app
    lab_id, agency_id, lead_id, manager_id, ids = scene(app)

    def mark():
        from velferdslab.auth.models import User

        time.sleep(0.05)
        with app.app_context():
            manager = db.session.get(User, manager_id)
            ledger.run_with_retries(
                lambda: books.mark_exported(manager.lab, agency_id=agency_id, period=PERIOD, actor=manager)
            )
            db.session.commit()

    with ThreadPoolExecutor(max_workers=6) as pool:
        marker = pool.submit(mark)
        results = list(pool.map(lambda spend_id: pay(app, lead_id, spend_id), ids))
        marker.result()
    with app.app_context():
        export = db.session.scalar(select(PeriodExport))
        lines = db.session.scalars(select(VoucherLine).where(VoucherLine.period == PERIOD)).all()
        assert (export.line_count, export.control_sum) == (len(lines), sum(line.amount for line in lines))
        assert results.count("paid") == len(lines) and results.count("locked") == PAYMENTS - len(lines)
        statuses = dict(
            db.session.execute(select(SpendRequest.id, SpendRequest.status).where(SpendRequest.id.in_(ids))).all()
        )
        assert sorted(statuses.values()).count("approved") == results.count("locked")
        assert ledger.verify(lab_id) == []
