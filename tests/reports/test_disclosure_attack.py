"""The attacker (``tests/reports/attacker.py``) against the outcome report.

For each leak of issue 14 there are two tests: the attacker against a deliberately weak
configuration — the report as it was published before (``figures.build(..., linked=False)``: every
table protected on its own and the savings rounded by interval reasoning; or the marks the old rule
printed; or two arbitrary period ends) — must find the leak, which proves it can; and the same
attacker against the report as it is now must find nothing. Then the demo lab, read through the API
as a manager reads it, over its filters.
"""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pytest

from tests import factories
from tests.reports import attacker
from tests.reports import factories as rf
from velferdslab.core.models import today_local
from velferdslab.reports import api, figures, outcome
from velferdslab.reports.outcome import OutcomeData, OutcomeFilter

T = 5
COSTS_KR = {1: 1_000_000, 2: 500_000, 3: 150_000, 4: 25_000}
COSTS = [{"level": level, "agency_id": 7, "yearly_cost": kr * 100} for level, kr in COSTS_KR.items()]


class Costs:
    """An assumption set as ``figures.build`` reads it (one agency, 7, bears every cost)."""

    target_level = 3
    horizon_years = 5
    staff_cost_per_family_month = None
    name = "Test"
    version = 1

    def yearly_cost(self):
        return {level: {7: kr * 100} for level, kr in COSTS_KR.items()}

    def rate(self, name):
        return {"deadweight": Fraction(1, 5), "drop_off": Fraction(1, 10), "discount_rate": Fraction(1, 25),
                "success_rate": Fraction(1, 2)}[name]


def data(transitions: dict, *, flow: list | None = None, reached: int | None = None, paid: int = 0,
         paid_families: int = 0, movement_spend: dict | None = None, spend_by_theme: dict | None = None,
         spend_by_category: dict | None = None) -> OutcomeData:
    """The database's aggregates for a made-up selection (every family active unless ``flow`` says)."""
    families = sum(transitions.values())
    if reached is None:
        reached = sum(n for (i, j), n in transitions.items() if i < 3 <= j)
    return OutcomeData(
        filter=OutcomeFilter(1, date(2026, 1, 1), date(2026, 3, 31)),
        flow=flow or [("active", None, families, 0, 0)], transitions=transitions, reached_stable=reached,
        started_below=sum(n for (i, _j), n in transitions.items() if i < 3),
        families=sum(row[2] for row in flow) if flow else families, paid=paid, paid_families=paid_families,
        movement_spend=movement_spend or {}, spend_by_theme=spend_by_theme or {},
        spend_by_category=spend_by_category or {})


def published(d: OutcomeData, *, linked: bool = True, costs: bool = False) -> dict:
    """What the API publishes for ``d`` (``GET /api/v1/reports/outcome``'s body)."""
    report = figures.build(d, T, assumption_set=Costs() if costs else None, linked=linked)
    body = {"sections": _sections(report)}
    benefit = api.result_out(report.benefit, report.benefit.result, None)
    if benefit["shown"]:
        benefit["assumption_set"] = {"target_level": 3, "costs": COSTS}
    body["benefit"] = benefit
    return body


def _sections(report) -> dict:
    """The report's tables as ``api.outcome_out`` writes them."""
    return {t.id: {"title": t.title, "columns": t.columns,
                   "rows": [{"key": str(key), "label": label, "values": [figures.cell_json(c) for c in cells]}
                            for key, label, cells in t.rows]}
            for t in figures.tables(report)}


def leaks(body: dict, **kwargs) -> dict:
    return attacker.pinned(attacker.report_model(body, **kwargs))


# --- leak 2: four "<5" parts of a "<5" total -------------------------------------------------------

FOUR_CLOSED = data({(1, 2): 10, (2, 3): 10, (2, 2): 4},
                   flow=[("active", None, 20, 0, 0), *[("closed", r, 1, 0, 0) for r in attacker.CLOSE_REASONS]])


def test_weak_the_attacker_solves_four_small_parts_of_a_small_total():
    """What the old rule printed here: four closing reasons "<5", closed in all "<5" — and it stopped,
    with every part pinned to 1, because no shown non-zero cell was left to hide."""
    body = published(FOUR_CLOSED)
    old = {"referred": 0, "active": "×", "closed": "<5", "total": "×",
           **{f"closed_{r}": "<5" for r in attacker.CLOSE_REASONS}}
    for row in body["sections"]["flow"]["rows"]:
        if row["key"] in old:
            row["values"] = [old[row["key"]]]
    found = leaks(body, zeros_marked=False)  # then "<5" always meant 1–4
    assert {("", "flow", f"closed_{r}") for r in attacker.CLOSE_REASONS} <= set(found)
    assert all(found[("", "flow", f"closed_{r}")] == 1 for r in attacker.CLOSE_REASONS)


def test_four_small_parts_of_a_small_total_give_nothing_away():
    body = published(FOUR_CLOSED)
    flow = {row["key"]: row["values"][0] for row in body["sections"]["flow"]["rows"]}
    assert flow["closed"] == "<5" and flow["closed_moved"] == "<5"
    assert leaks(body) == {}


# --- leak 3: tables protected one by one give each other away ---------------------------------------

NEARLY_ALL_BELOW = data({(1, 2): 100, (1, 3): 100, (2, 2): 40, (2, 3): 25, (3, 3): 1})

MONEY_WITHOUT_ASSESSMENT = data(
    {(1, 3): 10, (2, 2): 10, (2, 3): 8},
    flow=[("active", None, 28, 0, 0), ("referred", None, 2, 0, 0)],
    paid=300_000_00, paid_families=12,
    movement_spend={"better": (10, 200_000_00, 5), "same": (10, 80_000_00, 5)},
    spend_by_theme={"bolig": (300_000_00, 12)}, spend_by_category={"deposit": (300_000_00, 12)})


def test_weak_matrix_total_minus_started_below_stable_pins_a_row():
    """Matrix total 266 − "under stabil at intake" 265 = 1: the one family at stabil at intake."""
    found = leaks(published(NEARLY_ALL_BELOW, linked=False))
    assert found.get(("", "row", 3)) == 1 or found.get(("", "intake_stable_or_better")) == 1


def test_weak_spend_total_minus_movement_total_is_the_money_of_families_without_assessments():
    found = leaks(published(MONEY_WITHOUT_ASSESSMENT, linked=False))
    assert found.get(("", "money_without_assessment")) == 20_000  # kroner, of 2 families
    assert found.get(("", "unassessed")) == 2  # and how many they are: families − the matrix's total


@pytest.mark.parametrize("d", [NEARLY_ALL_BELOW, MONEY_WITHOUT_ASSESSMENT], ids=["below", "money"])
def test_linked_tables_protected_together_give_nothing_away(d):
    body = published(d)
    assert leaks(body) == {}
    # The money of the families without an assessment is a row of the movement table now.
    movement = {row["key"]: row["values"] for row in body["sections"]["movement"]["rows"]}
    assert "unassessed" in movement


# --- leak 1: the benefit model's savings pin the hidden cells -------------------------------------

# Found by a random search: the old check (interval propagation) let the savings be published
# exactly (unit 1 øre); with the margins, an integer solver has one solution.
SAVINGS_PIN = data({(1, 1): 10, (1, 2): 8, (1, 3): 3, (1, 4): 4, (2, 1): 4, (2, 2): 4, (2, 4): 3, (3, 1): 2,
                    (3, 2): 10, (3, 3): 6, (3, 4): 1, (4, 1): 10, (4, 2): 8, (4, 4): 4})


def test_weak_the_savings_pin_hidden_margins():
    body = published(SAVINGS_PIN, linked=False, costs=True)
    assert body["benefit"]["shown"]
    without = attacker.counts_model(body["sections"])[0]
    assert attacker.pinned(without) == {}  # the tables alone hold
    found = leaks(body)
    assert ("", "row", 1) in found and ("", "col", 4) in found
    assert found[("", "row", 1)] == 25


def test_the_savings_are_published_only_when_they_tell_nothing_new():
    body = published(SAVINGS_PIN, costs=True)
    assert leaks(body) == {}
    assert body["benefit"]["shown"] is False  # a hidden margin hides the model


def test_with_every_margin_shown_the_savings_are_published_and_give_nothing_away():
    body = published(data({(i, j): 5 + i + j for i in range(1, 5) for j in range(1, 5)}), costs=True)
    assert body["benefit"]["shown"] and body["benefit"]["saving_unit"] == figures.BENEFIT_UNIT
    assert leaks(body) == {}


def test_random_selections_with_the_savings_give_nothing_away():
    import random

    rng = random.Random(14)
    pool = [0, 0, 1, 2, 3, 4, 5, 6, 8, 10, 12]
    for _ in range(25):
        transitions = {(i, j): rng.choice(pool) for i in range(1, 5) for j in range(1, 5)}
        transitions = {k: v for k, v in transitions.items() if v}
        if not transitions:
            continue
        assert leaks(published(data(transitions), costs=True)) == {}, transitions


# --- leak 4: two reports whose periods end a few days apart ----------------------------------------

@pytest.fixture
def closed_nine_days_ago(lab):
    """12 active families, 5 closed long ago with their goals reached, and one that moved out 5
    days ago."""
    for _ in range(12):
        rf.journey(lab, [(0, 1), (100, 3)], started=-300)
    for _ in range(5):
        rf.journey(lab, [(0, 1), (300, 3)], started=-600, closed=-200)
    rf.journey(lab, [(0, 2), (100, 2)], started=-300, closed=-5, reason="moved")
    return lab


def _body(report) -> dict:
    return {"sections": _sections(report), "benefit": {"shown": False}}


def test_weak_two_period_ends_nine_days_apart_give_a_closing_reason_away(closed_nine_days_ago):
    lab = closed_nine_days_ago
    today = today_local()
    bodies = [_body(figures.build(outcome.run(OutcomeFilter(lab.id, rf.day(-700), end)), T))
              for end in (today - timedelta(days=9), today)]
    # Each report alone gives nothing away; their difference counts the family that moved out.
    assert attacker.pinned(attacker.report_model(bodies[0])) == {}
    assert attacker.pinned(attacker.report_model(bodies[1])) == {}
    assert attacker.difference_leaks(*bodies).get(("flow", "closed_moved", 0)) == "1–4"


def test_period_ends_a_few_days_apart_read_the_same_quarter(closed_nine_days_ago, login):
    client = login(factories.user(closed_nine_days_ago, roles=("manager",)))
    today = today_local()
    start = rf.day(-700).isoformat()
    earlier = max(today - timedelta(days=9), outcome.quarter_start(today))
    default = client.get(f"/api/v1/reports/outcome?start={start}").get_json()
    nine_days = client.get(f"/api/v1/reports/outcome?start={start}&end={earlier.isoformat()}").get_json()
    assert default["filters"] == nine_days["filters"]
    assert default["filters"]["end"] == today.isoformat()
    assert default["filters"]["start"] == outcome.quarter_start(rf.day(-700)).isoformat()
    assert default["sections"] == nine_days["sections"]
    assert attacker.difference_leaks(nine_days, default) == {}
    assert attacker.pinned(attacker.nested_model(nine_days, default)) == {}


@pytest.mark.parametrize("start, end, expected", [
    (date(2026, 2, 14), date(2026, 5, 3), (date(2026, 1, 1), date(2026, 6, 30))),
    (date(2025, 12, 31), date(2026, 3, 31), (date(2025, 10, 1), date(2026, 3, 31))),
    (date(2026, 7, 1), date(2026, 11, 20), (date(2026, 7, 1), date(2026, 11, 25))),  # today: 25 Nov
])
def test_reporting_periods_are_whole_quarters_up_to_today(start, end, expected):
    assert outcome.reporting_period(start, end, date(2026, 11, 25)) == expected


# --- the demo lab, as a manager reads it --------------------------------------------------------

def test_the_demo_lab_gives_nothing_away_in_any_filter(app, login):
    from sqlalchemy import select

    from velferdslab import demo
    from velferdslab.auth.models import Agency, Lab
    from velferdslab.cases.themes import THEME_CODES
    from velferdslab.extensions import db

    demo.load(seed=2026, size=1)
    lab = db.session.scalars(select(Lab).order_by(Lab.id)).first()
    client = login(factories.user(lab, roles=("manager",)))
    today = today_local()
    queries = ["", f"start={today.year - 2}-01-01", f"start={today.year - 1}-01-01&end={today.year - 1}-12-31"]
    queries += [f"start={today.year - 3}-01-01&cohort={year}" for year in range(today.year - 3, today.year + 1)]
    queries += [f"start={today.year - 3}-01-01&theme={code}" for code in THEME_CODES]
    agencies = db.session.scalars(select(Agency).where(Agency.lab_id == lab.id)).all()
    queries += [f"start={today.year - 3}-01-01&agency_id={a.id}" for a in agencies[:3]]
    checked = 0
    for query in queries:
        body = client.get(f"/api/v1/reports/outcome?{query}").get_json()
        if not body["families"]:
            continue
        assert leaks(body) == {}, query
        checked += 1
    assert checked >= 10
