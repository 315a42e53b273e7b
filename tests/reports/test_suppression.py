"""Primary and secondary suppression, checked against a reader who tries every possible value."""

from __future__ import annotations

import itertools
import random

import pytest

from velferdslab.reports.suppression import (
    HIDDEN,
    PRIMARY,
    SECONDARY,
    WITHHELD_MARK,
    protect_list,
    protect_matrix,
    protect_money,
    share,
)

T = 5


def texts(figures: dict) -> dict:
    return {k: f.text for k, f in figures.items()}


def test_counts_one_to_four_are_shown_as_less_than_five_and_zero_is_shown():
    figures = protect_list({"a": 0, "b": 4, "c": 9, "d": 3, "e": 20}, T)
    assert figures["b"].text == "<5" and figures["d"].text == "<5"
    assert figures["a"].text == "0"
    assert figures["b"].status == PRIMARY and figures["b"].json == "<5" and figures["b"].value is None
    # Two hidden cells whose sum (7) is known: 3 + 4, 4 + 3 or ... nothing more to hide.
    assert figures["c"].text == "9" and figures["total"].text == "36"


def test_a_single_small_cell_takes_the_next_smallest_cell_with_it():
    figures = protect_list({"a": 12, "b": 3, "c": 7, "d": 0}, T)
    assert texts(figures) == {"a": "12", "b": "<5", "c": HIDDEN, "d": "0", "total": "22"}
    assert figures["c"].status == SECONDARY


def test_a_hidden_pair_that_would_still_give_itself_away_takes_a_third_cell():
    # 1 + 5 = 6: "<5" is 1–4 and "×" is at least 5, so the pair could only be 1 and 5.
    figures = protect_list({"a": 1, "b": 5, "c": 20}, T)
    assert texts(figures) == {"a": "<5", "b": HIDDEN, "c": HIDDEN, "total": "26"}


@pytest.mark.parametrize("counts", [{"a": 1, "b": 1, "c": 30}, {"a": 4, "b": 4, "c": 30}])
def test_two_small_cells_at_the_edge_of_the_range_are_protected(counts):
    # 1 + 1 = 2 and 4 + 4 = 8 can each be split only one way.
    figures = protect_list(counts, T)
    assert figures["c"].hidden


def test_a_small_total_is_itself_suppressed_and_so_are_its_zero_parts():
    # A shown 0 beside a "<5" total would say the other part holds every family of the total.
    figures = protect_list({"a": 3, "b": 0}, T)
    assert texts(figures) == {"a": "<5", "b": "<5", "total": "<5"}


def test_four_small_parts_of_a_small_total_are_not_each_pinned_to_one():
    """Issue 14, leak 2: four "<5" cells and a "<5" total could only be 1 + 1 + 1 + 1 = 4 while
    "<5" meant 1–4. Parts of a "<5" total are marked zeros included, so there "<5" means 0–4."""
    from velferdslab.reports.suppression import Table, decide, pinned

    table = Table({"a": 1, "b": 1, "c": 1, "d": 1, "e": 0, "total": 4}, [("total", ["a", "b", "c", "d", "e"])])
    status = decide(table, T)
    assert set(status.values()) == {PRIMARY}
    assert pinned(table, T, status) == []


def test_threshold_is_configurable():
    figures = protect_list({"a": 7, "b": 12, "c": 30}, 10)
    assert figures["a"].text == "<10" and figures["b"].hidden


def test_matrix_row_and_column_get_secondary_cells():
    cells = {(1, 1): 10, (1, 2): 3, (1, 3): 8, (2, 1): 6, (2, 2): 9, (2, 3): 7, (3, 1): 12, (3, 2): 11, (3, 3): 15}
    figures = protect_matrix(cells, [1, 2, 3], [1, 2, 3], T)
    assert figures[(1, 2)].text == "<5"
    hidden_in_row = [c for c in (1, 2, 3) if figures[(1, c)].hidden]
    hidden_in_col = [r for r in (1, 2, 3) if figures[(r, 2)].hidden]
    assert len(hidden_in_row) >= 2 and len(hidden_in_col) >= 2
    assert not figures["total"].hidden  # the grand total stays when inner cells suffice


def test_money_resting_on_few_families_is_hidden_and_cannot_be_worked_back():
    amounts = {"bolig": 500_000, "skole": 20_000, "helse": 90_000}
    families = {"bolig": 12, "skole": 2, "helse": 8}
    figures = protect_money(amounts, families, T, total_families=15)
    assert figures["skole"].text == HIDDEN
    assert figures["helse"].hidden  # else total − bolig − helse gives skole
    assert figures["bolig"].text == "5\u00a0000,00\u00a0kr"
    assert figures["total"].text == "6\u00a0100,00\u00a0kr"


def test_share_is_shown_only_when_nothing_behind_it_is_hidden():
    figures = protect_list({"yes": 12, "no": 8}, T)
    assert share(figures["yes"], figures["total"], figures["no"]) == "60 %"
    hidden = protect_list({"yes": 17, "no": 3}, T)
    assert share(hidden["yes"], hidden["total"], hidden["no"]) is None


# --- the reader who tries everything ----------------------------------------------------------

def _possible_values(figures: dict, rows, cols, top: int) -> dict:
    """Every value each hidden cell can take, given what is shown and what the marks say."""
    inner = [(r, c) for r in rows for c in cols]
    hidden_inner = [k for k in inner if figures[k].hidden]

    def small(key) -> bool:
        return figures[key].text == "<5"

    def maybe_zero(key) -> bool:
        """A "<5" part of a "<5" total may be 0 (zeros are marked there too)."""
        if key == "total":
            return False
        if key[0] in ("row", "col"):
            return small("total")
        return small(("row", key[0])) or small(("col", key[1]))

    def allowed(key, value) -> bool:
        if not figures[key].hidden:
            return figures[key].value == value
        if small(key):
            return (0 if maybe_zero(key) else 1) <= value < T
        return value >= (0 if figures[key].text == WITHHELD_MARK else T)

    def candidates(key):
        if small(key):
            return range(0 if maybe_zero(key) else 1, T)
        return range(0 if figures[key].text == WITHHELD_MARK else T, top + 1)

    possible = {k: set() for k, f in figures.items() if f.hidden}
    for combo in itertools.product(*[candidates(k) for k in hidden_inner]):
        values = {k: figures[k].value for k in inner if not figures[k].hidden}
        values.update(zip(hidden_inner, combo, strict=True))
        totals = {("row", r): sum(values[(r, c)] for c in cols) for r in rows}
        totals.update({("col", c): sum(values[(r, c)] for r in rows) for c in cols})
        totals["total"] = sum(values.values())
        consistent = all(allowed(k, v) for k, v in totals.items())
        if consistent:
            for k in possible:
                possible[k].add(values[k] if k in values else totals[k])
    return possible


def test_no_hidden_cell_can_be_worked_back_by_trying_every_value():
    rng = random.Random(2026)
    pool = [0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 14]
    checked = 0
    while checked < 60:
        n = rng.choice([2, 3, 3, 4])
        rows = cols = list(range(1, n + 1))
        cells = {(r, c): rng.choice(pool) for r in rows for c in cols}
        figures = protect_matrix(cells, rows, cols, T)
        if sum(figures[k].hidden for k in cells) > 4:
            continue  # keeps the brute force fast; the rule is the same for larger patterns
        checked += 1
        possible = _possible_values(figures, rows, cols, max(cells.values()) + T)
        for key, values in possible.items():
            true_value = cells.get(key)
            assert len(values) >= 2, f"{key} can be worked back to {values} in {cells}"
            if true_value is not None:
                assert true_value in values


def test_a_decision_is_kept_per_worker_and_a_changed_value_is_decided_again(monkeypatch):
    """decide() keeps its answers (the integer checks cost milliseconds per table); the key holds
    every value, so a table whose counts changed is decided afresh."""
    from velferdslab.reports import suppression as s

    calls = []
    real = s._decide
    monkeypatch.setattr(s, "_decide", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(s, "_DECISIONS", s.OrderedDict())
    table = s.Table(values={"total": 13, "a": 3, "b": 10}, sums=[("total", ["a", "b"])])
    first = s.decide(table, 5)
    first["a"] = "tampered"  # the caller's copy, not the kept one
    assert s.decide(table, 5) == s.decide(s.Table(values=dict(table.values), sums=list(table.sums)), 5)
    assert s.decide(table, 5)["a"] != "tampered"
    assert len(calls) == 1
    changed = s.Table(values={"total": 14, "a": 4, "b": 10}, sums=[("total", ["a", "b"])])
    s.decide(changed, 5)
    assert len(calls) == 2
