"""The cell-key method (``reports.cellkey``) against differencing: two reports whose family sets
differ by a few families. The attacker (``tests/reports/attacker.py``, :func:`difference_model`)
finds the family that differs when the figures are exact (the report before this change), and
nothing once they are published with the cell key — on a lab built for it and on the demo lab over
periods, cohorts, agencies and themes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests import factories
from tests.reports import attacker
from tests.reports import factories as rf
from velferdslab.core.models import today_local
from velferdslab.reports import cellkey, outcome

pytestmark = pytest.mark.cell_key


def test_the_same_families_get_the_same_noise_and_it_stays_within_its_bound(app):
    with app.app_context():
        for n in range(0, 40):
            for key in (0, 1, 12345, cellkey.MODULUS - 1):
                published = cellkey.perturb_count(n, key)
                assert published == cellkey.perturb_count(n, key)
                assert abs(published - n) <= cellkey.NOISE and published >= 0
        assert cellkey.perturb_count(0, 99) == 0
        # Different families (keys) of the same size do not all get the same noise.
        assert len({cellkey.perturb_count(20, key) for key in range(200)}) == 2 * cellkey.NOISE + 1


def test_money_is_rounded_up_or_down_to_its_base_and_unbiased(app):
    base = cellkey.MONEY_BASE
    with app.app_context():
        assert cellkey.round_money(7 * base, 5) == 7 * base
        rounded = [cellkey.round_money(7 * base + base // 4, key) for key in range(2000)]
        assert set(rounded) == {7 * base, 8 * base}
        assert abs(sum(rounded) / len(rounded) - (7 * base + base // 4)) < base / 20  # nothing added on average


def test_keys_add_up_like_the_families_they_count():
    a, b = cellkey.Tally(3, 10), cellkey.Tally(4, cellkey.MODULUS - 3)
    assert (a + b) == cellkey.Tally(7, 7)
    assert (a + b) - b == a


@pytest.fixture
def moved_this_quarter(lab):
    """12 active families, 5 closed long ago with their goals reached, and one that moved out in
    this quarter (before: active)."""
    today = today_local()
    this_quarter = (today - outcome.quarter_start(today)).days
    for _ in range(12):
        rf.journey(lab, [(0, 1), (100, 3)], started=-400)
    for _ in range(5):
        rf.journey(lab, [(0, 1), (300, 3)], started=-700, closed=-300)
    rf.journey(lab, [(0, 2), (100, 2)], started=-400, closed=-max(this_quarter // 2, 0), reason="moved")
    return lab


def _pair(client, lab) -> tuple[dict, dict]:
    """The report up to the end of the last quarter, and up to today: the same families, one of
    them closed (moved) in between."""
    today = today_local()
    start = rf.day(-800).isoformat()
    last_quarter_end = (outcome.quarter_start(today) - timedelta(days=1)).isoformat()
    return (
        client.get(f"/api/v1/reports/outcome?start={start}&end={last_quarter_end}").get_json(),
        client.get(f"/api/v1/reports/outcome?start={start}").get_json(),
    )


def test_before_exact_figures_give_the_family_that_differs_away(moved_this_quarter, login, app):
    client = login(factories.user(moved_this_quarter, roles=("manager",)))
    app.config["REPORT_CELL_KEY"] = False
    try:
        earlier, later = _pair(client, moved_this_quarter)
    finally:
        app.config["REPORT_CELL_KEY"] = True
    assert not earlier["disclosure"]["cell_key"]
    # Each report alone is protected; together they say why the one family left.
    assert attacker.pinned(attacker.report_model(earlier)) == {}
    assert attacker.pinned(attacker.report_model(later)) == {}
    found = attacker.pinned(attacker.difference_model(later, earlier, k=1))
    assert found.get(("difference", "flow", "closed_moved")) == 1


def test_with_the_cell_key_the_difference_gives_nothing_away(moved_this_quarter, login, app):
    client = login(factories.user(moved_this_quarter, roles=("manager",)))
    earlier, later = _pair(client, moved_this_quarter)
    again = _pair(client, moved_this_quarter)  # read first: PostgreSQL times out idle transactions
    assert (
        later["disclosure"]
        == {
            "cell_key": True,
            "noise": cellkey.NOISE,
            "money_base": cellkey.MONEY_BASE,
            "note": later["disclosure"]["note"],
        }
        and later["disclosure"]["note"]
    )
    assert attacker.pinned(attacker.report_model(earlier)) == {}
    assert attacker.pinned(attacker.report_model(later)) == {}
    for k in (1, 2, 4):
        assert attacker.pinned(attacker.difference_model(later, earlier, k=k)) == {}, k
    # The same families read twice give the same figures (no averaging the noise away).
    assert again == (earlier, later)


def test_the_page_and_the_exports_say_the_figures_are_perturbed(moved_this_quarter, login):
    client = login(factories.user(moved_this_quarter, roles=("manager",)))
    start = rf.day(-800).isoformat()
    page = client.get(f"/rapporter/resultater?start={start}").get_data(as_text=True)
    assert 'id="noise-note"' in page and f"± inntil {cellkey.NOISE} familier" in page
    api = client.get(f"/api/v1/reports/outcome?start={start}").get_json()
    csv = client.get(f"/rapporter/resultater.csv?start={start}").get_data(as_text=True)
    # The CSV carries the same (perturbed) figures as the API.
    flow = {row["key"]: row["values"][0] for row in api["sections"]["flow"]["rows"]}
    assert f";{flow['total']};" in csv.replace(" ", "")


def _families(lab_id: int, query: dict) -> set[int]:
    """The families a report of ``query`` counts (the test's view of the truth, not the attacker's)."""
    from sqlalchemy import select

    from velferdslab.extensions import db

    f = outcome.OutcomeFilter(lab_id, **query)
    sel = outcome.selection(f)
    return set(db.session.scalars(select(sel.c.family_id)))


def test_the_demo_lab_differenced_over_filters_gives_nothing_away(app, login):
    from sqlalchemy import select

    from velferdslab import demo
    from velferdslab.auth.models import Agency, Lab
    from velferdslab.cases.themes import THEME_CODES
    from velferdslab.extensions import db

    demo.load(seed=2026, size=1)
    lab = db.session.scalars(select(Lab).order_by(Lab.id)).first()
    client = login(factories.user(lab, roles=("manager",)))
    today = today_local()
    base = {"start": outcome.quarter_start(today.replace(year=today.year - 3)), "end": today}
    # Same period, another filter: the families outside it are the only difference (periods are
    # differenced in the tests above, where the families that changed are known).
    variants = [dict(base, cohort=year) for year in range(today.year - 3, today.year + 1)]
    variants += [dict(base, theme=code) for code in THEME_CODES]
    agencies = db.session.scalars(select(Agency).where(Agency.lab_id == lab.id)).all()
    variants += [dict(base, agency_id=a.id) for a in agencies]

    def body(query: dict) -> dict:
        text = "&".join(f"{k}={v.isoformat() if hasattr(v, 'isoformat') else v}" for k, v in query.items())
        return client.get(f"/api/v1/reports/outcome?{text}").get_json()

    def exact(query: dict) -> dict:
        """The same report without the noise: the test's truth, never the attacker's."""
        app.config["REPORT_CELL_KEY"] = False
        try:
            return body(query)
        finally:
            app.config["REPORT_CELL_KEY"] = True

    everyone = _families(lab.id, base)
    all_body, all_exact = body(base), exact(base)
    pairs = []  # read every report first, solve after (PostgreSQL times out idle transactions)
    for query in variants:
        differing = len(everyone ^ _families(lab.id, query))
        if 1 <= differing <= 4:
            pairs.append((query, body(query), exact(query), differing))
    checked = 0
    for query, other, other_exact, differing in pairs:
        found = attacker.pinned(attacker.difference_model(all_body, other, k=differing))
        # Nothing is pinned — unless the documented limit happened: a differing count's two noises
        # at opposite ends (docs/reports.md; the demo's ids, and so its keys, differ from run to run
        # on PostgreSQL). Then the reader can pin a difference, and the test accepts only that case.
        alignment = attacker.aligned((all_exact, other_exact), (all_body, other), cellkey.NOISE)
        assert found == {} or alignment, (query, found)
        checked += 1
    assert checked >= 1


def test_a_theme_matrix_with_small_cells_is_published_as_under_stabil_or_stabil_or_better(app):
    from velferdslab.reports import figures

    with app.test_request_context():
        small = figures.matrix("Bolig", {(1, 1): 6, (1, 3): 2, (2, 4): 3, (3, 3): 7, (4, 4): 5}, 5)
        assert small.grouped
        spec = figures.matrix_table_spec("transitions_bolig", small)
        assert [row[0] for row in spec.rows] == ["under", "stable", "total"]
        values = [figures.cell_text(c) for _key, _label, cells in spec.rows for c in cells]
        assert "<5" not in values and "×" not in values  # 6 / 5 under → under, 7 + 5 stable: all numbers
        assert "slått sammen" in spec.title
        large = figures.matrix("Bolig", {(i, j): 6 for i in range(1, 5) for j in range(1, 5)}, 5)
        assert not large.grouped and len(figures.matrix_table_spec("t", large).rows) == 5


def test_a_small_lab_reads_the_overall_matrix_by_level_groups_and_it_gives_nothing_away(lab_data, login):
    client = login(factories.user(lab_data["lab"], roles=("manager",)))
    body = client.get(f"/api/v1/reports/outcome?start={rf.day(-700).isoformat()}").get_json()
    rows = {row["key"]: row["values"] for row in body["sections"]["transitions"]["rows"]}
    assert list(rows) == ["under", "stable", "total"]
    assert "slått sammen" in body["sections"]["transitions"]["title"]
    # The distribution by level stays, for the chart and the benefit model.
    assert [row["key"] for row in body["sections"]["distribution"]["rows"]] == ["1", "2", "3", "4", "total"]
    page = client.get(f"/rapporter/resultater?start={rf.day(-700).isoformat()}").get_data(as_text=True)
    assert "Under stabil" in page and "nivåene er slått sammen" in page
    assert attacker.pinned(attacker.report_model(body)) == {}
