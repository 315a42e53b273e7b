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
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

LESS_THAN = "<{threshold}"
HIDDEN = "×"
MAX_ROUNDS = 200

WITHHELD_MARK = "–"

SHOWN, PRIMARY, SECONDARY, WITHHELD = "shown", "primary", "secondary", "withheld"


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
    # Cells hidden to protect another only when nothing else will do (the number of families).
    keep: frozenset = frozenset()
    # Cells that are never published but tie others together (the families referred before the
    # period: the families minus those referred in it). Always hidden; a leak if pinned.
    unpublished: frozenset = frozenset()
    # The cell-key method (``reports.cellkey``): what each shown cell is published as (the count
    # with its noise, the amount rounded), and how far that may be from the truth (counts: ± that
    # many families; money: less than that many øre). Empty: shown cells are exact.
    published: Mapping = field(default_factory=dict)
    spread: int = 0
    # The cell keys of the cells (``reports.cellkey``) the published values are drawn from.
    keys: dict = field(default_factory=dict)

    def add_sum(self, total: Hashable, parts: Iterable[Hashable]) -> None:
        self.sums.append((total, list(parts)))


def zero_possible(table: Table, status: dict) -> set:
    """The ``"<5"`` cells that may hold 0: the parts of a sum whose total is itself ``"<5"``
    (there every part is marked, zeros too — see :func:`_primary`). A reader sees this from the
    marks alone."""
    keys: set = set()
    for total, parts in table.sums:
        if status[total] == PRIMARY:
            keys.update(part for part in parts if status[part] == PRIMARY)
    return keys


def _ranges(table: Table, threshold: int, status: dict) -> dict:
    """What a reader knows about each cell before using the sums: a number is itself; ``"<5"`` is
    1–4 (0–4 as a part of a ``"<5"`` total); ``"×"`` is at least 5 (money: more than 0); ``"–"``
    (a withheld table) is anything from 0."""
    known = {}
    maybe_zero = zero_possible(table, status)
    for key, value in table.values.items():
        if status[key] == SHOWN and key in table.published:
            known[key] = _perturbed_range(table, threshold, table.published[key])
        elif status[key] == SHOWN:
            known[key] = (value, value)
        elif status[key] == WITHHELD:
            known[key] = (0, math.inf)
        elif table.money:
            known[key] = (1, math.inf)
        elif table.spread:  # perturbed counts: "<5" is a published 1–4, "×" a count of at least 1
            known[key] = (1, threshold - 1 + table.spread) if status[key] == PRIMARY else (1, math.inf)
        elif status[key] == PRIMARY:
            known[key] = (0 if key in maybe_zero else 1, threshold - 1)
        else:
            known[key] = (threshold, math.inf)
    return known


def _perturbed_range(table: Table, threshold: int, published: int) -> tuple:
    """What a reader knows of a perturbed cell from its published value: 0 is 0; a count is at
    least the threshold (smaller ones are marked) and within ± spread; an amount is within less
    than one rounding unit (and more than 0)."""
    if table.money:
        return (0 if published == 0 else max(1, published - table.spread + 1), published + table.spread - 1)
    return (0, table.spread) if published == 0 else (max(1, published - table.spread), published + table.spread)


def _fixed(table: Table, status: dict, key: Hashable) -> bool:
    """A cell the reader knows exactly: shown and not perturbed."""
    return status[key] == SHOWN and key not in table.published


@dataclass(frozen=True)
class Published:
    """Something else the page publishes about the cells: Σ coefficient·cell lies in [low, high].

    The benefit model, for one, publishes the yearly saving Σ (cost(intake) − cost(now))·families,
    rounded to a unit: a weighted sum of the transition matrix's cells known to within that unit.
    """

    coefficients: Mapping
    low: Fraction
    high: Fraction


Equation = tuple[dict, Fraction, Fraction]  # {hidden key: coefficient}, low, high


def _system(table: Table, status: dict, published: Iterable[Published] = ()) -> list[Equation]:
    """Every sum (and every published constraint) as a linear relation over the hidden cells."""
    relations = [({total: -1, **{part: 1 for part in parts}}, Fraction(0), Fraction(0))
                 for total, parts in table.sums]
    relations += [(dict(p.coefficients), Fraction(p.low), Fraction(p.high)) for p in published]
    rows = []
    for terms, low, high in relations:
        coefs: dict = {}
        for key, coef in terms.items():
            if _fixed(table, status, key):
                low -= coef * table.values[key]
                high -= coef * table.values[key]
            elif coef:
                coefs[key] = coefs.get(key, 0) + Fraction(coef)
        coefs = {k: c for k, c in coefs.items() if c}
        if coefs:
            rows.append((coefs, low, high))
    return rows


def _reduced(rows: list[Equation]) -> list[Equation]:
    """The same relations in reduced row echelon form (exact integer elimination, intervals carried
    along soundly), so that combinations — "the grand total minus this row is that column" — are
    relations the propagation sees too."""
    variables = sorted({k for coefs, _lo, _hi in rows for k in coefs}, key=str)
    matrix = []
    for terms, low, high in _integer_rows(rows):
        coefficients = dict(terms)
        matrix.append(([coefficients.get(v, 0) for v in variables], low, high))
    pivot_row = 0
    for col in range(len(variables)):
        found = next((r for r in range(pivot_row, len(matrix)) if matrix[r][0][col] != 0), None)
        if found is None:
            continue
        matrix[pivot_row], matrix[found] = matrix[found], matrix[pivot_row]
        pivot, p_low, p_high = matrix[pivot_row]
        p = pivot[col]
        for r, (row, low, high) in enumerate(matrix):
            if r == pivot_row or row[col] == 0:
                continue
            f = row[col]
            # p·row − f·pivot: the column's entry cancels; the interval follows the signs.
            new = [p * a - f * b for a, b in zip(row, pivot, strict=True)]
            lo_a, hi_a = (p * low, p * high) if p > 0 else (p * high, p * low)
            lo_b, hi_b = (f * p_low, f * p_high) if f > 0 else (f * p_high, f * p_low)
            divisor = math.gcd(*new, lo_a - hi_b, hi_a - lo_b) or 1
            matrix[r] = ([x // divisor for x in new], (lo_a - hi_b) // divisor, (hi_a - lo_b) // divisor)
        pivot_row += 1
    return [({v: Fraction(c) for v, c in zip(variables, row, strict=True) if c != 0}, Fraction(low), Fraction(high))
            for row, low, high in matrix[:pivot_row]]


IntRow = tuple[list[tuple[Hashable, int]], int, int]  # [(key, coefficient)], low, high — all integers


def _integer_rows(rows: list[Equation]) -> list[IntRow]:
    """Scale each relation to whole numbers (exact), so propagation runs on fast integer arithmetic."""
    result = []
    for coefs, low, high in rows:
        scale = math.lcm(*(Fraction(c).denominator for c in coefs.values()),
                         Fraction(low).denominator, Fraction(high).denominator)
        terms = [(key, int(c * scale)) for key, c in coefs.items()]
        result.append((terms, int(low * scale), int(high * scale)))
    return result


def _ceil_div(n: int, d: int) -> int:
    return -((-n) // d)


Bounds = dict[Hashable, tuple[int, int | None]]  # {cell: (low, high or None when unbounded)}


def _tighten(terms: list[tuple[Hashable, int]], low_rhs: int, high_rhs: int, index: int,
             bounds: Bounds) -> tuple[int, int | None]:
    """The interval of the ``index``-th term's cell from one relation Σ a·x ∈ [low, high] and the
    others' intervals. Upper bounds may be None (unbounded); lower bounds are always finite."""
    # Σ a·x over the other cells; None when unbounded that way
    low: int | None = 0
    high: int | None = 0
    for position, (other, a) in enumerate(terms):
        if position == index:
            continue
        lo, hi = bounds[other]
        if a > 0:
            low = None if low is None else low + a * lo
            high = None if high is None or hi is None else high + a * hi
        else:
            low = None if low is None or hi is None else low + a * hi
            high = None if high is None else high + a * lo
    key, a = terms[index]
    lo, hi = bounds[key]
    # a·x = rhs − others, with rhs ∈ [low_rhs, high_rhs] and others ∈ [low, high].
    span_low = None if high is None else low_rhs - high
    span_high = None if low is None else high_rhs - low
    if a < 0:
        a, span_low, span_high = -a, (None if span_high is None else -span_high), \
            (None if span_low is None else -span_low)
    if span_low is not None:
        lo = max(lo, _ceil_div(span_low, a))
    if span_high is not None:
        new_hi = span_high // a
        hi = new_hi if hi is None else min(hi, new_hi)
    return lo, hi


def propagate(table: Table, threshold: int, status: dict, published: Iterable[Published] = ()) -> Bounds:
    """The tightest interval of every hidden cell that a reader can reach from the sums (and what
    else is published), one relation at a time, over the relations themselves and their reduced
    echelon form, until nothing changes."""
    bounds: Bounds = {k: (lo, None if hi == math.inf else hi)
                      for k, (lo, hi) in _ranges(table, threshold, status).items()}
    equations = _system(table, status, published)
    rows = _integer_rows(equations + _reduced(equations))
    for _round in range(MAX_ROUNDS):
        changed = False
        for terms, low, high in rows:
            for index in range(len(terms)):
                key = terms[index][0]
                tightened = _tighten(terms, low, high, index, bounds)
                if tightened != bounds[key]:
                    bounds[key] = tightened
                    changed = True
        if not changed:
            break
    return bounds


def pinned(table: Table, threshold: int, status: dict, published: Iterable[Published] = ()) -> list:
    """The hidden cells a reader could work out exactly (to be 0 is no disclosure: a zero
    identifies nobody, and is shown elsewhere)."""
    bounds = propagate(table, threshold, status, published)
    return [k for k in table.values if not _fixed(table, status, k) and bounds[k][0] == bounds[k][1] != 0
            and _discloses(table, threshold, k, bounds[k][0])]


def _discloses(table: Table, threshold: int, key: Hashable, value: int | float) -> bool:
    """A cell worked out exactly is a leak — for a cell never published, only when it is small (the
    families referred before the period, when they are the families minus a shown figure, are no
    secret unless there are only a few)."""
    return key not in table.unpublished or 1 <= round(value) < threshold


def _milp_problem(table: Table, threshold: int, status: dict, published: Iterable[Published],
                  hidden_keys: list):
    """The reader's knowledge as SciPy's ``milp`` takes it: (constraints, bounds, integrality)."""
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint

    index = {k: i for i, k in enumerate(hidden_keys)}
    known = _ranges(table, threshold, status)
    lows = np.array([float(known[k][0]) for k in hidden_keys])
    # "At least 5" has no upper end; a finite one far beyond any lab keeps the solver bounded.
    ceiling = 1e15 if table.money else 1e7
    highs = np.array([min(float(known[k][1]), ceiling) for k in hidden_keys])
    rows = _system(table, status, published)
    integrality = np.zeros(len(hidden_keys)) if table.money else np.ones(len(hidden_keys))
    constraints = []
    if rows:
        matrix = np.zeros((len(rows), len(hidden_keys)))
        for r, (coefs, _low, _high) in enumerate(rows):
            for key, coef in coefs.items():
                matrix[r, index[key]] = float(coef)
        constraints.append(LinearConstraint(matrix, np.array([float(lo) for _c, lo, _h in rows]),
                                            np.array([float(hi) for _c, _l, hi in rows])))
    return constraints, Bounds(lows, highs), integrality


def exact_pinned(table: Table, threshold: int, status: dict, published: Iterable[Published] = ()) -> list:
    """The hidden cells a reader could work out exactly, found as an integer solver finds them
    (SciPy's ``milp``), subject to every sum, every published relation and what the marks say.
    Counts are whole numbers, which interval reasoning cannot use: with the sums and a rounded
    saving, only one whole-number solution may fit."""
    import numpy as np
    from scipy.optimize import milp

    hidden_keys = [k for k in table.values if not _fixed(table, status, k)]
    if not hidden_keys:
        return []
    constraints, bounds, integrality = _milp_problem(table, threshold, status, published, hidden_keys)
    truth = np.array([float(table.values[k]) for k in hidden_keys])

    def solve(objective) -> np.ndarray:
        solved = milp(objective, constraints=constraints, bounds=bounds, integrality=integrality)
        if solved.status != 0:
            raise RuntimeError(f"disclosure check failed: {solved.message}")
        return solved.x

    # A cell is pinned when no solution differs from the truth in it. Every solution found shows
    # the cells it moves are not, so push many cells at once first, then the rest one by one.
    open_cells = set(range(len(hidden_keys)))

    def moved(x: np.ndarray) -> None:
        open_cells.difference_update(i for i in list(open_cells) if abs(x[i] - truth[i]) >= 0.5)

    everything = np.ones(len(hidden_keys))
    moved(solve(everything))
    moved(solve(-everything))
    result = []
    for i in range(len(hidden_keys)):
        if i not in open_cells:
            continue
        objective = np.zeros(len(hidden_keys))
        objective[i] = 1.0
        moved(solve(-objective))
        if i in open_cells:
            moved(solve(objective))
        if i in open_cells:
            key = hidden_keys[i]
            if truth[i] != 0 and _discloses(table, threshold, key, truth[i]):
                result.append(key)
            open_cells.discard(i)
    return result


def _primary(table: Table, threshold: int) -> dict:
    """Counts (and amounts resting on) 1 to threshold − 1 families. In a count table, the parts of
    a sum whose total is that small are all marked, zeros included: otherwise the shown zeros
    would tell which parts hold at least one family, and four ``"<5"`` parts of a ``"<5"`` total
    could only be 1 each."""
    status = {}
    for key, value in table.values.items():
        weight = table.families[key] if table.money and table.families is not None else value
        if table.spread and not table.money:  # perturbed counts: the mark follows the published value
            weight = table.published.get(key, 0)
        status[key] = PRIMARY if 1 <= weight < threshold else SHOWN
    for key in table.unpublished:
        status[key] = WITHHELD
    if not table.money and not table.spread:
        changed = True
        while changed:
            changed = False
            known_zero = {part for total, parts in table.sums
                          if status[total] == SHOWN and table.values[total] == 0 for part in parts}
            for total, parts in table.sums:
                if status[total] == PRIMARY:
                    for part in parts:
                        if status[part] == SHOWN and table.values[part] == 0 and part not in known_zero:
                            status[part] = PRIMARY
                            changed = True
    return status


def _candidate(table: Table, status: dict, pinned: Hashable, exposed: Iterable = ()):
    """The smallest shown non-zero cell in a sum with ``pinned`` (else in a sum with another exposed
    cell, else in any sum with a hidden cell); cells in ``table.keep`` only when nothing else will do."""
    totals = {total for total, _parts in table.sums}

    def pick(groups, keep: bool) -> Hashable | None:
        options = {key for keys in groups for key in keys if status[key] == SHOWN and table.values[key] != 0
                   and (keep or key not in table.keep)}
        if not options:
            return None
        return min(options, key=lambda k: (k in table.keep, table.values[k], k in totals, str(k)))

    groups = [[total, *parts] for total, parts in table.sums]
    exposed = set(exposed) | {pinned}
    for keep in (False, True):
        found = (pick([g for g in groups if pinned in g], keep)
                 or pick([g for g in groups if exposed & set(g)], keep)
                 or pick([g for g in groups if any(status[k] != SHOWN for k in g)], keep))
        if found is not None:
            return found
    return None


# decide() is a pure function of the table, the threshold and what else is published, and its
# integer checks cost milliseconds per table; a report reads the same tables again and again until
# the data changes, so each worker keeps the latest decisions (keyed by every input, values included).
_DECISIONS: OrderedDict[Hashable, dict] = OrderedDict()
_DECISIONS_KEPT = 512
_DECISIONS_LOCK = threading.Lock()


def _decision_key(table: Table, threshold: int, published: list[Published]) -> Hashable:
    return (threshold, table.money, tuple(table.values.items()),
            tuple((total, tuple(parts)) for total, parts in table.sums),
            tuple(table.families.items()) if table.families is not None else None,
            table.keep, table.unpublished, tuple(table.published.items()), table.spread,
            tuple((tuple(p.coefficients.items()), p.low, p.high) for p in published))


def decide(table: Table, threshold: int, published: Iterable[Published] = ()) -> dict:
    """Every cell's status (shown, primary, secondary, withheld) after primary and secondary
    suppression: hidden cells are added until no hidden cell can be worked out. When no shown cell
    is left that could protect a pinned one, the whole table is withheld (``"–"``) rather than
    published with a cell a reader can solve."""
    published = list(published)
    key = _decision_key(table, threshold, published)
    with _DECISIONS_LOCK:
        kept = _DECISIONS.get(key)
        if kept is not None:
            _DECISIONS.move_to_end(key)
            return dict(kept)
    status = _decide(table, threshold, published)
    with _DECISIONS_LOCK:
        _DECISIONS[key] = dict(status)
        while len(_DECISIONS) > _DECISIONS_KEPT:
            _DECISIONS.popitem(last=False)
    return status


def _decide(table: Table, threshold: int, published: list[Published]) -> dict:
    status = _primary(table, threshold)
    groups = [[total, *parts] for total, parts in table.sums]
    if threshold > 1:
        while True:
            # Interval reasoning first (fast, finds most); when it finds nothing, the integer solver.
            exposed = pinned(table, threshold, status, published) or exact_pinned(table, threshold, status, published)
            if not exposed:
                break
            added: set = set()
            touched: set = set()
            for cell in exposed:
                # One more hidden cell per exposed cell, unless a sum it is in already got one, or
                # holds another exposed cell, in this round (that may be enough; the next round checks).
                if any(cell in group and touched & set(group) for group in groups):
                    continue
                extra = _candidate(table, status, cell, exposed)
                if extra in table.keep and added:
                    continue  # the cells hidden this round may be enough; the next round checks
                touched.add(cell)
                if extra is not None:
                    status[extra] = SECONDARY
                    added.add(extra)
                    touched.add(extra)
            if not added:
                # A pinned cell and nothing left to hide beside it (every cell of its sums is
                # hidden or zero): no pattern of marks protects it, so nothing of the table is shown.
                return dict.fromkeys(table.values, WITHHELD)
    return status


def protect(table: Table, threshold: int) -> dict:
    """Decide every cell's fate: {key: Figure}."""
    return figures(table, threshold, decide(table, threshold))


def figures(table: Table, threshold: int, status: dict) -> dict:
    less_than = LESS_THAN.format(threshold=threshold)
    result = {}
    for key, value in table.values.items():
        if status[key] == SHOWN:
            result[key] = shown(table.published.get(key, value), table.money)
        else:
            mark = (WITHHELD_MARK if status[key] == WITHHELD
                    else less_than if status[key] == PRIMARY and not table.money else HIDDEN)
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
    return protect(matrix_table(cells, rows, columns), threshold)


def matrix_table(cells: Mapping[tuple, int], rows: Iterable, columns: Iterable) -> Table:
    """The :class:`Table` of a two-way table and its margins (see :func:`protect_matrix`)."""
    rows, columns = list(rows), list(columns)
    values: dict[Hashable, int] = {(r, c): cells.get((r, c), 0) for r in rows for c in columns}
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
    return table


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
    if numerator.hidden or denominator.hidden or complement.hidden or not denominator.value \
            or numerator.value is None:
        return None
    # Perturbed counts (reports.cellkey) need not fit exactly: a part is at most its whole.
    return percent(min(numerator.value, denominator.value), denominator.value)


def percent(part: int, whole: int) -> str:
    """A whole percentage, halves rounded up: 1 of 8 is "13 %"."""
    return f"{(200 * part + whole) // (2 * whole)} %"
