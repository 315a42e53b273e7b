"""Small-number suppression for management's reports: no figure can identify a family.

The rule (``docs/reports.md`` states it for readers):

1. **Primary suppression.** Every count of families from 1 to the threshold minus one
   (``SUPPRESSION_THRESHOLD``, default 5) is shown as ``"<5"``. An amount of money that rests
   on 1 to threshold − 1 families is hidden the same way, shown as ``"×"``. Zero is shown: it
   identifies nobody.
2. **Secondary suppression.** A table is a set of cells and the sums that tie them together
   (each row and column adds up to its total, the totals to the grand total). A reader who knows
   those sums, the shown cells, and that a ``"<5"`` cell holds 1–4 and a ``"×"`` cell holds at
   least 5 (or, for money, more than 0), could narrow a hidden cell down. We run that reasoning
   ourselves — interval propagation over every sum until nothing changes — and while any hidden
   cell is pinned to a single value, we hide one more cell: the smallest shown non-zero cell in a
   sum that pins it (inner cells before totals). Those extra cells are shown as ``"×"``.

Interval propagation finds every value that can be worked out one sum at a time, and chains of
sums across rows and columns; it is the check official statistics use for tables this size.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

LESS_THAN = "<{threshold}"
HIDDEN = "×"
MAX_ROUNDS = 200

SHOWN, PRIMARY, SECONDARY = "shown", "primary", "secondary"


@dataclass(frozen=True)
class Figure:
    """One cell as the reader gets it: the value, or a mark in its place.

    ``text`` is what HTML, PDF and CSV show; ``json`` is the API value (an int, or the mark).
    """

    value: int | None
    status: str
    mark: str | None = None
    money: bool = False

    @property
    def hidden(self) -> bool:
        return self.status != SHOWN

    @property
    def text(self) -> str:
        if self.hidden:
            return self.mark or HIDDEN
        if self.money:
            from velferdslab.core.money import format_nok

            return format_nok(self.value)
        return str(self.value)

    @property
    def json(self):
        return self.mark if self.hidden else self.value

    def __str__(self) -> str:
        return self.text


def shown(value: int, money: bool = False) -> Figure:
    return Figure(value, SHOWN, money=money)


@dataclass
class Table:
    """Cells keyed by anything hashable, and the sums between them (``total = Σ parts``)."""

    values: dict
    sums: list[tuple[Hashable, list[Hashable]]]
    money: bool = False
    # For money: how many families each amount rests on (primary suppression counts families).
    families: Mapping | None = None

    def add_sum(self, total: Hashable, parts: Iterable[Hashable]) -> None:
        self.sums.append((total, list(parts)))


def _ranges(table: Table, threshold: int, status: dict) -> dict:
    """What a reader knows about each cell before using the sums."""
    known = {}
    for key, value in table.values.items():
        if status[key] == SHOWN:
            known[key] = (value, value)
        elif table.money:
            known[key] = (1, math.inf)
        elif status[key] == PRIMARY:
            known[key] = (1, threshold - 1)
        else:
            known[key] = (threshold, math.inf)
    return known


def _system(table: Table, status: dict) -> list[tuple[dict, Fraction]]:
    """Every sum as a linear equation over the hidden cells: {key: coefficient} = right-hand side."""
    rows = []
    for total, parts in table.sums:
        coefs: dict = {}
        rhs = Fraction(0)
        for coef, key in [(-1, total)] + [(1, part) for part in parts]:
            if status[key] == SHOWN:
                rhs -= coef * table.values[key]
            else:
                coefs[key] = coefs.get(key, 0) + coef
        coefs = {k: Fraction(c) for k, c in coefs.items() if c}
        if coefs:
            rows.append((coefs, rhs))
    return rows


def _reduced(rows: list[tuple[dict, Fraction]]) -> list[tuple[dict, Fraction]]:
    """The same equations in reduced row echelon form (exact), so that combinations of sums —
    "the grand total minus this row is that column" — are equations the propagation sees too."""
    variables = sorted({k for coefs, _rhs in rows for k in coefs}, key=str)
    matrix = [[coefs.get(v, Fraction(0)) for v in variables] + [rhs] for coefs, rhs in rows]
    pivot_row = 0
    for col in range(len(variables)):
        found = next((r for r in range(pivot_row, len(matrix)) if matrix[r][col] != 0), None)
        if found is None:
            continue
        matrix[pivot_row], matrix[found] = matrix[found], matrix[pivot_row]
        pivot = matrix[pivot_row][col]
        matrix[pivot_row] = [x / pivot for x in matrix[pivot_row]]
        for r in range(len(matrix)):
            if r != pivot_row and matrix[r][col] != 0:
                factor = matrix[r][col]
                matrix[r] = [a - factor * b for a, b in zip(matrix[r], matrix[pivot_row], strict=True)]
        pivot_row += 1
    reduced = []
    for row in matrix[:pivot_row]:
        coefs = {v: c for v, c in zip(variables, row[:-1], strict=True) if c != 0}
        reduced.append((coefs, row[-1]))
    return reduced


def _tighten(coefs: dict, rhs: Fraction, key, bounds: dict) -> tuple:
    """x_key's interval from one equation Σ a·x = rhs and the others' intervals (integers)."""
    low = high = Fraction(0)
    for other, a in coefs.items():
        if other == key:
            continue
        lo, hi = bounds[other]
        low, high = (low + a * lo, high + a * hi) if a > 0 else (low + a * hi, high + a * lo)
    a = coefs[key]
    new_lo, new_hi = ((rhs - high) / a, (rhs - low) / a) if a > 0 else ((rhs - low) / a, (rhs - high) / a)
    lo, hi = bounds[key]
    if new_lo != -math.inf:
        lo = max(lo, math.ceil(new_lo))
    if new_hi != math.inf:
        hi = min(hi, math.floor(new_hi))
    return lo, hi


def propagate(table: Table, threshold: int, status: dict) -> dict:
    """The tightest interval of every hidden cell that a reader can reach from the sums, one
    equation at a time, over the sums themselves and their reduced echelon form, until stable."""
    bounds = _ranges(table, threshold, status)
    rows = _system(table, status)
    rows += _reduced(rows)
    for _round in range(MAX_ROUNDS):
        changed = False
        for coefs, rhs in rows:
            for key in coefs:
                tightened = _tighten(coefs, rhs, key, bounds)
                if tightened != bounds[key]:
                    bounds[key] = tightened
                    changed = True
        if not changed:
            break
    return bounds


def _primary(table: Table, threshold: int) -> dict:
    status = {}
    for key, value in table.values.items():
        weight = table.families[key] if table.money and table.families is not None else value
        status[key] = PRIMARY if 1 <= weight < threshold else SHOWN
    return status


def _candidate(table: Table, status: dict, pinned: Hashable):
    """The smallest shown non-zero cell in a sum with ``pinned`` (else in any sum with a hidden cell)."""
    totals = {total for total, _parts in table.sums}

    def pick(groups) -> Hashable | None:
        options = {key for keys in groups for key in keys if status[key] == SHOWN and table.values[key] != 0}
        if not options:
            return None
        return min(options, key=lambda k: (table.values[k], k in totals, str(k)))

    groups = [[total, *parts] for total, parts in table.sums]
    return (pick(g for g in groups if pinned in g)
            or pick(g for g in groups if any(status[k] != SHOWN for k in g)))


def protect(table: Table, threshold: int) -> dict:
    """Decide every cell's fate: {key: Figure}."""
    status = _primary(table, threshold)
    if threshold > 1:
        while True:
            bounds = propagate(table, threshold, status)
            pinned = next((k for k in table.values if status[k] != SHOWN and bounds[k][0] == bounds[k][1]), None)
            if pinned is None:
                break
            extra = _candidate(table, status, pinned)
            if extra is None:
                break
            status[extra] = SECONDARY
    less_than = LESS_THAN.format(threshold=threshold)
    result = {}
    for key, value in table.values.items():
        if status[key] == SHOWN:
            result[key] = shown(value, table.money)
        else:
            mark = less_than if status[key] == PRIMARY and not table.money else HIDDEN
            result[key] = Figure(None, status[key], mark, table.money)
    return result


# --- the table shapes the reports use ---------------------------------------------------------

def protect_list(counts: Mapping, threshold: int, total_key: Hashable = "total") -> dict:
    """A one-way table: the counts and their total (the total is added under ``total_key``)."""
    values = dict(counts)
    values[total_key] = sum(counts.values())
    return protect(Table(values, [(total_key, list(counts))]), threshold)


def protect_matrix(cells: Mapping[tuple, int], rows: Iterable, columns: Iterable, threshold: int) -> dict:
    """A two-way table with row totals ``("row", r)``, column totals ``("col", c)`` and ``"total"``."""
    rows, columns = list(rows), list(columns)
    values = {(r, c): cells.get((r, c), 0) for r in rows for c in columns}
    for r in rows:
        values[("row", r)] = sum(values[(r, c)] for c in columns)
    for c in columns:
        values[("col", c)] = sum(values[(r, c)] for r in rows)
    values["total"] = sum(values[("row", r)] for r in rows)
    table = Table(values, [])
    for r in rows:
        table.add_sum(("row", r), [(r, c) for c in columns])
    for c in columns:
        table.add_sum(("col", c), [(r, c) for r in rows])
    table.add_sum("total", [("row", r) for r in rows])
    table.add_sum("total", [("col", c) for c in columns])
    return protect(table, threshold)


def protect_money(amounts: Mapping, families: Mapping, threshold: int, total_key: Hashable = "total",
                  total_families: int | None = None) -> dict:
    """Amounts of money by category and their total; an amount resting on few families is hidden."""
    values = dict(amounts)
    values[total_key] = sum(amounts.values())
    counts = dict(families)
    counts[total_key] = total_families if total_families is not None else sum(families.values())
    return protect(Table(values, [(total_key, list(amounts))], money=True, families=counts), threshold)


def share(numerator: Figure, denominator: Figure, complement: Figure) -> str | None:
    """A percentage, only when the count, its complement and the base are all shown."""
    if numerator.hidden or denominator.hidden or complement.hidden or not denominator.value:
        return None
    return percent(numerator.value, denominator.value)


def percent(part: int, whole: int) -> str:
    """A whole percentage, halves rounded up: 1 of 8 is "13 %"."""
    return f"{(200 * part + whole) // (2 * whole)} %"
