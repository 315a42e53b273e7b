"""Demo step 30: delegations, allocations and spend in every state, with work for the demo logins."""

import random
import time

from sqlalchemy import func, select

from velferdslab import demo
from velferdslab.auth.models import User
from velferdslab.budget import demo as budget_demo
from velferdslab.budget import ledger, queries
from velferdslab.budget.models import SPEND_STATUSES, LedgerAccount, LedgerTransfer, SpendRequest
from velferdslab.cases import demo as cases_demo
from velferdslab.cases.plan.models import Goal
from velferdslab.extensions import db


def _load() -> demo.DemoContext:
    ctx = demo.DemoContext(rng=random.Random(2026), size=1)
    demo.labs_and_staff(ctx)
    cases_demo.families(ctx)
    db.session.flush()
    started = time.perf_counter()
    budget_demo.budgets(ctx)
    db.session.flush()
    ctx.extra["budget_seconds"] = time.perf_counter() - started
    return ctx


def test_the_demo_budget_is_realistic_and_balanced(db_session):
    ctx = _load()
    lab, year = ctx.labs[0], queries.current_year()
    assert ctx.extra["budget_seconds"] < 20
    overview = queries.pool_overview(lab.id, year)
    assert 2_000_000_00 <= overview.agency_total.delegated <= 5_000_000_00
    assert len(overview.agencies) >= 4  # several agencies delegate
    rows = [r for r in queries.allocation_rows(lab.id, year) if r.allocated]
    assert len(rows) >= 20
    assert all(50_000_00 <= r.allocated <= 250_000_00 for r in rows)
    spends = db.session.scalars(select(SpendRequest).where(SpendRequest.lab_id == lab.id)).all()
    assert {s.status for s in spends} == set(SPEND_STATUSES)
    assert {s.category for s in spends} >= {"deposit", "moving", "furniture", "debt_settlement", "course_licence",
                                            "equipment", "transport", "children_leisure", "childcare"}
    for spend in spends:  # every krone names the theme and a goal of its own family
        goal = db.session.get(Goal, spend.goal_id)
        assert goal.family_id == spend.family_id and goal.theme == spend.theme
    assert ledger.verify(lab.id) == []
    # The ledger holds exactly what the requests' states say.
    paid = sum(s.amount for s in spends if s.status == "paid" and s.budget_year == year)
    committed = sum(s.amount for s in spends if s.status == "approved" and s.budget_year == year)
    in_ledger = dict(db.session.execute(
        select(LedgerAccount.kind, func.sum(LedgerAccount.balance))
        .where(LedgerAccount.lab_id == lab.id, LedgerAccount.year == year,
               LedgerAccount.kind.in_(("allocation", "committed", "paid")))
        .group_by(LedgerAccount.kind)).all())
    assert (int(in_ledger["paid"]), int(in_ledger["committed"])) == (paid, committed)
    # The pool shows no spend (issue 14), but its "allocated" holds all of it.
    assert overview.agency_total.allocated == sum(int(v) for v in in_ledger.values())
    assert overview.agency_total.delegated == overview.agency_total.allocated + overview.agency_total.unallocated
    assert db.session.scalar(select(LedgerTransfer.id).where(LedgerTransfer.kind == "release").limit(1))


def test_the_demo_lead_and_management_have_work_waiting(db_session):
    ctx = _load()
    lab = ctx.labs[0]
    lead = db.session.scalar(select(User).where(User.email == f"investeringsleder@asker.{demo.DEMO_DOMAIN}"))
    assert len(queries.lead_queue(lead)) >= 2
    above = queries.management_queue(lab.id)
    assert len(above) >= 2 and all(s.amount > 50_000_00 for s in above)


def test_the_demo_lab_has_a_closed_previous_year_and_an_exported_period(db_session):
    from velferdslab.budget import books, vouchers
    from velferdslab.budget.models import PeriodExport, VoucherLine, YearClose

    ctx = _load()
    budget_demo.books(ctx)
    db.session.flush()
    lab, year = ctx.labs[0], queries.current_year()
    close = db.session.scalar(select(YearClose).where(YearClose.lab_id == lab.id))
    assert close.year == year - 1 and len(close.agencies) == 5
    assert sum(a.carried + a.returned for a in close.agencies) > 0
    assert {a.unused for a in close.agencies} == {"carry", "return"}
    exports = db.session.scalars(select(PeriodExport).where(PeriodExport.lab_id == lab.id)).all()
    assert len(exports) == 5 and len({e.period for e in exports}) == 1
    assert sum(e.line_count for e in exports) > 0
    assert db.session.scalar(select(func.count(VoucherLine.id)).where(VoucherLine.lab_id == lab.id,
                                                                     VoucherLine.art.is_(None))) == 0
    assert ledger.verify(lab.id) == []
    for agency in ctx.agencies[lab.id]:
        for period in (f"{year - 1}-12", vouchers.period_of(db.session.get(YearClose, close.id).closed_at.date())):
            assert books.reconcile(db.session, lab.id, agency.id, period).balanced


def test_the_summary_total_left_is_the_allocation_screen_sum(db_session):
    """``allocations_available`` (one statement, for the report's summary) is the sum of what the
    allocation screen lists, also with a restricted family and one whose enrolment closed."""
    from velferdslab.cases.enrolment.models import Enrolment
    from velferdslab.cases.household.models import Family
    from velferdslab.core.models import today_local, utcnow

    ctx = _load()
    lab, year = ctx.labs[0], queries.current_year()
    funded = [r.family_id for r in queries.allocation_rows(lab.id, year) if r.available]
    assert len(funded) >= 3
    db.session.get(Family, funded[0]).restricted_at = utcnow()
    for enrolment in db.session.scalars(select(Enrolment).where(Enrolment.family_id == funded[1],
                                                                Enrolment.status == "active")):
        enrolment.status, enrolment.closed_on, enrolment.close_reason = "closed", today_local(), "moved"
    db.session.flush()
    rows = queries.allocation_rows(lab.id, year)
    assert funded[0] not in {r.family_id for r in rows} and funded[1] in {r.family_id for r in rows}
    assert queries.allocations_available(lab.id, year) == sum(r.available for r in rows) > 0
