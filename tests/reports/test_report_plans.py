"""A long-lived worker plans the report as well as a fresh one (issue 19).

psycopg prepares a statement on the server after its fifth execution on a connection; PostgreSQL
may then switch a prepared statement to a *generic* plan, made without the lab, period and filter
values, which for these aggregates was 3-4× slower. The report runs its statements with
``plan_cache_mode = force_custom_plan``: however often a connection has run them, every execution
gets a plan made with its values (``custom_plans`` grows, ``generic_plans`` stays 0).
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.reports import factories as rf
from velferdslab.core.models import today_local
from velferdslab.extensions import db
from velferdslab.reports import outcome
from velferdslab.reports.outcome import OutcomeFilter


@pytest.fixture
def postgresql(backend):
    if backend != "postgresql":
        pytest.skip("plan caching is PostgreSQL's")


def test_the_report_statements_never_get_a_generic_plan(postgresql, lab):
    # Where PostgreSQL would choose generic plans (forced here for this transaction, so the test
    # does not depend on the planner's cost estimates), the report still gets custom ones.
    db.session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
    for level in (1, 2, 3):
        rf.journey(lab, [(0, level), (120, level + 1)], started=-400)
    today = today_local()
    f = OutcomeFilter(lab_id=lab.id, start=outcome.quarter_start(today), end=today)
    before = plans()
    first = outcome.run(f)
    for _ in range(9):  # well past psycopg's prepare threshold (5) on this one connection
        assert outcome.run(f) == first
    after = plans()
    report = {name: counts for name, counts in after.items() if counts != before.get(name)}
    assert report, "no statement was server-prepared: the test would prove nothing"
    assert all(custom > before.get(name, (0, 0))[1] for name, (_, custom) in report.items())
    assert all(generic == before.get(name, (0, 0))[0] for name, (generic, _) in report.items())
    # The setting is the report's own: the rest of the transaction plans as it did before.
    assert db.session.execute(text("SHOW plan_cache_mode")).scalar() == "force_generic_plan"


def plans() -> dict[str, tuple[int, int]]:
    """Plans per server-prepared statement, the report's own settings statements left out."""
    rows = db.session.execute(text("SELECT name, generic_plans, custom_plans FROM pg_prepared_statements "
                                   "WHERE statement NOT LIKE '%plan_cache_mode%'"))
    return {name: (generic, custom) for name, generic, custom in rows}


def test_the_hold_back_count_runs_as_the_report_does(postgresql, lab):
    """The count of what changed between two releases (``releases.changed``) is one of the
    report's aggregates: custom plans and no JIT, as the report's own (compiling it took 1.7 s of its
    1.9 s over a lab of 10 000 families on the pages' settings)."""
    from dataclasses import replace
    from datetime import timedelta

    from sqlalchemy import event

    from velferdslab.core.models import utcnow
    from velferdslab.reports import releases

    rf.journey(lab, [(0, 2), (120, 3)], started=-400)
    today, now = today_local(), utcnow()
    after = OutcomeFilter(lab_id=lab.id, start=outcome.quarter_start(today), end=today, as_of=now)
    before = replace(after, end=today - timedelta(days=92), as_of=now - timedelta(days=92))
    seen = []

    def watch(_conn, cursor, statement, *_args):
        if "sel_before AS" in statement:
            seen.append(tuple(cursor.connection.execute(
                "SELECT current_setting('jit'), current_setting('plan_cache_mode')").fetchone()))

    event.listen(db.engine, "before_cursor_execute", watch)
    try:
        assert releases.changed(before, after) >= 0
    finally:
        event.remove(db.engine, "before_cursor_execute", watch)
    assert seen == [("off", "force_custom_plan")]
