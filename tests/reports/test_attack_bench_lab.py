"""The attacker (``tests/reports/attacker.py``) on the benchmark lab (issue 14, *Done when*: "the
attacker test passes on the demo lab, the benchmark lab and edge cases").

The lab is the one the benchmark generator makes (``bench/generate.py``, the ``tiny`` scale its own
tests use: one lab, 45 families with two years of history), loaded into the test database inside
the test's transaction. Its manager reads the outcome report through the API, as published (with
the cell-key noise), for the default period, per cohort, theme and agency: each report alone must
pin nothing. Then the pairwise differences the
demo-lab test of ``test_cell_key.py`` checks: the report over the whole period against the same
period with one filter more, where the two selections differ by 1–4 families, must pin nothing —
unless the documented limit happened (a differing count's two noises at opposite ends,
docs/reports.md), recognised from the exact figures.

The generator loads with PostgreSQL's COPY (and its ledger and audit-chain triggers), so this runs
on PostgreSQL only: marked ``postgres``, it is deselected on SQLite (tests/conftest.py), never
skipped on PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.reports import attacker
from velferdslab.core.models import today_local
from velferdslab.extensions import db
from velferdslab.reports import cellkey, outcome

pytestmark = [pytest.mark.postgres, pytest.mark.cell_key, pytest.mark.slow]


class _InTheTestsTransaction:
    """The generator's connection, inside the test's outer transaction: its commits do nothing, so
    everything it loads is rolled back with the test (the id sequences it sets are not, and need
    not be: they only move)."""

    def __init__(self, raw) -> None:
        self.raw = raw

    def cursor(self):
        return self.raw.cursor()

    def commit(self) -> None:
        pass


@pytest.fixture
def bench_lab(app, db_session, backend):
    """The ``tiny`` benchmark installation (seed 7, as ``tests/bench``), its lab and its manager."""
    from sqlalchemy import text

    from bench.generate import BENCH_PASSWORD, SCALES, Generator
    from velferdslab.auth.models import Lab, User
    from velferdslab.auth.services import hash_password

    assert backend == "postgresql"  # the marker keeps this test to PostgreSQL (tests/conftest.py)
    # The attacker's solves take longer than the app's idle-in-transaction timeout, while the
    # test's transaction waits: lift it for this connection (as test_cell_key.py does).
    db_session.execute(text("SET idle_in_transaction_session_timeout = 0"))
    raw = db_session.get_bind().connection.driver_connection
    from dataclasses import replace

    # the regular lab only: the bench's extra large lab (for its report figure) is not needed here
    scale = replace(SCALES["tiny"], large_lab=0)
    result = Generator(_InTheTestsTransaction(raw), scale, seed=7, log=lambda *_: None).run(
        hash_password(BENCH_PASSWORD))
    (lab_id, manager_id), = result.users.manager_ids.items()
    return db.session.get(Lab, lab_id), db.session.get(User, manager_id), BENCH_PASSWORD


def _query(values: dict) -> str:
    return "&".join(f"{k}={v.isoformat() if hasattr(v, 'isoformat') else v}" for k, v in values.items())


def _families(lab_id: int, query: dict) -> set[int]:
    from sqlalchemy import select

    sel = outcome.selection(outcome.OutcomeFilter(lab_id, **query))
    return set(db.session.scalars(select(sel.c.family_id)))


def _read(app, login, bench_lab):
    """Every report the tests attack, read first and solved after: (name, query, as published, the
    same without the noise — the test's truth, never the attacker's)."""
    from sqlalchemy import select

    from velferdslab.auth.models import Agency
    from velferdslab.cases.themes import THEME_CODES

    lab, manager, password = bench_lab
    client = login(manager, password)
    today = today_local()
    base = {"start": outcome.quarter_start(today - timedelta(days=3 * 365)), "end": today}
    agencies = db.session.scalars(select(Agency).where(Agency.lab_id == lab.id).order_by(Agency.id)).all()
    variants = [dict(base, cohort=year) for year in range(today.year - 3, today.year + 1)]
    variants += [dict(base, theme=code) for code in THEME_CODES]
    variants += [dict(base, agency_id=a.id) for a in agencies]

    def body(query: dict) -> dict:
        response = client.get(f"/api/v1/reports/outcome?{_query(query)}")
        assert response.status_code == 200, (query, response.get_data(as_text=True)[:300])
        return response.get_json()

    def exact(query: dict) -> dict:
        app.config["REPORT_CELL_KEY"] = False
        try:
            return body(query)
        finally:
            app.config["REPORT_CELL_KEY"] = True

    # The default period (this year so far), the whole period, then each filter over the whole period.
    queries = [("default", {}), ("base", base)] + [(_query(v), v) for v in variants]
    reports = [(name, query, body(query), exact(query)) for name, query in queries]
    assert reports[0][2]["families"] and reports[1][2]["families"] >= reports[0][2]["families"]
    return lab, reports


def test_the_benchmark_lab_gives_nothing_away_in_any_filter_or_difference(app, login, bench_lab):
    lab, reports = _read(app, login, bench_lab)
    checked = 0
    for name, _q, published, _exact in reports:
        if not published["families"]:
            continue
        assert attacker.pinned(attacker.report_model(published)) == {}, name
        checked += 1
    assert checked >= 10  # the default period, the whole period, and at least one of each filter

    # The pairwise differences of the demo-lab test (test_cell_key.py): the whole period against the
    # same period with one filter more, where the selections differ by 1–4 families.
    _base, base, all_body, all_exact = reports[1]
    everyone = _families(lab.id, base)
    pairs = []
    for name, query, other, other_exact in reports[2:]:
        differing = len(everyone ^ _families(lab.id, query))
        if 1 <= differing <= 4:
            pairs.append(name)
            found = attacker.pinned(attacker.difference_model(all_body, other, k=differing))
            # Nothing is pinned — unless the documented limit happened: a differing count's two
            # noises at opposite ends (docs/reports.md). The test accepts only that case, seen in the
            # exact figures.
            alignment = attacker.aligned((all_exact, other_exact), (all_body, other), cellkey.NOISE)
            assert found == {} or alignment, (name, differing, found)
    # Which filters differ from the whole by 1–4 families depends on the generated data (fixed by its
    # seed; the teams' agencies and the themes rated do not move with today's date).
    assert pairs, "no filter of the benchmark lab differs from the whole by 1–4 families"


def test_without_the_noise_the_benchmark_lab_gives_nothing_away_in_any_filter(app, login, bench_lab):
    """The same reports with the cell key off (``VELFERDSLAB_REPORT_CELL_KEY=0``, exact figures),
    as the demo-lab test of ``test_disclosure_attack.py`` reads the demo lab: each pins nothing.
    (It found the attacker's own gap: the distribution's "<5" levels under a "<5" total may be 0.)"""
    _lab, reports = _read(app, login, bench_lab)
    found = {name: attacker.pinned(attacker.report_model(exact)) for name, _q, _published, exact in reports
             if exact["families"]}
    assert {name: pins for name, pins in found.items() if pins} == {}
