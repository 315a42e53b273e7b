"""An attacker on the outcome report: what a manager can see, solved as an integer problem.

The attacker reads the report as the API publishes it (``sections`` and ``benefit`` of
``GET /api/v1/reports/outcome``): the numbers shown, the marks (``"<5"`` 1–4, or 0–4 as a part of a
``"<5"`` total; ``"×"`` at least 5, money more than 0; ``"–"`` anything), the row and column totals,
and the benefit model's savings (rounded to the ``saving_unit`` the report states), together with
the assumption set's yearly costs per level and agency (which the same manager can read).

It knows what the report means — that the matrix's margins are the distributions at intake and now,
that worse/same/better are sums of the matrix, that the families are those with an assessment plus
those without, that "under stabil at intake" are the matrix's first two rows, that all spend tables
add up to the paid total — and writes all of it as linear constraints over integer unknowns (the
true cells). Then, for every hidden cell, it minimises and maximises the cell with SciPy's ``milp``:
a cell whose minimum equals its maximum is *pinned*, a leak.

A differencing attack stacks two publications of nested selections (a period and the same period
extended: the later one holds every family of the earlier one, and a closed family stays closed)
and solves them together. :func:`difference_model` is the general one: any two reports (periods,
cohorts, agencies, themes) whose family sets differ by at most ``k`` families, so every count of
one is within ``k`` of the same count of the other; the differences themselves are what it is after
(a difference pinned to 1–4 says which cell the differing families are in).

With the cell-key method (the body's ``disclosure``), a shown count ``p`` is the truth ± ``noise``
(a shown 0 is 0 to ``noise``, ``"<5"`` a published 1–4, so 1 to 4 + ``noise``) and an amount is
within one ``money_base`` of the truth: the attacker then tries to pin shown cells too.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

T = 5
BIG = 100_000  # families: more than any lab holds
BIG_KR = 10_000_000_000  # kroner
LEVELS = (1, 2, 3, 4)
CLOSE_REASONS = ("goals_reached", "moved", "withdrew", "other")
MOVEMENTS = ("worse", "same", "better")


@dataclass
class Model:
    """Unknowns (integer counts or continuous kroner), published cells as linear expressions over
    them, and the sums the reader knows (for the marks' meaning: parts of a "<5" total may be 0)."""

    names: list[str] = field(default_factory=list)
    integer: list[bool] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    cells: dict[Hashable, tuple[dict[int, float], object, bool]] = field(default_factory=dict)  # expr, mark, money
    sums: list[tuple[Hashable, list[Hashable]]] = field(default_factory=list)
    extra: list[tuple[dict[int, float], float, float]] = field(default_factory=list)  # expr in [lo, hi]
    # Counts the page does not print but a reader can form from it (the families without an
    # assessment, the intake rows at stabil or better): a leak too when pinned to 1–4.
    derived: dict[Hashable, dict[int, float]] = field(default_factory=dict)
    # Money the page does not print but a reader can work out: a leak when pinned and not 0.
    derived_money: dict[Hashable, dict[int, float]] = field(default_factory=dict)
    # The rule that marks the zero parts of a "<5" total (issue 14); before it, "<5" was always 1–4.
    zeros_marked: bool = True
    # The cell-key method: counts published ± noise, amounts within money_base kroner (0: exact).
    noise: int = 0
    money_base: float = 0

    def var(self, name: str, *, money: bool = False) -> int:
        self.names.append(name)
        self.integer.append(not money)
        self.upper.append(BIG_KR if money else BIG)
        return len(self.names) - 1

    def publish(self, key: Hashable, expr: dict[int, float], value, *, money: bool = False) -> None:
        self.cells[key] = (expr, value, money)

    def constrain(self, expr: dict[int, float], low: float, high: float) -> None:
        self.extra.append((expr, low, high))


def add(*exprs: dict[int, float], scale: float = 1) -> dict[int, float]:
    total: dict[int, float] = {}
    for expr in exprs:
        for k, v in expr.items():
            total[k] = total.get(k, 0) + v * scale
    return total


def minus(a: dict[int, float], b: dict[int, float]) -> dict[int, float]:
    return add(a, {k: -v for k, v in b.items()})


def hidden(value) -> bool:
    return isinstance(value, str)


def _mark_bounds(model: Model) -> dict[Hashable, tuple[float, float]]:
    small_totals = {total for total, _parts in model.sums if model.cells[total][1] == f"<{T}"}
    maybe_zero = {part for total, parts in model.sums if total in small_totals for part in parts} \
        if model.zeros_marked else set()
    bounds = {}
    for key, (_expr, value, money) in model.cells.items():
        if model.noise and not (money and not model.money_base):
            bounds[key] = _noisy_bounds(model, value, money)
        elif not hidden(value):
            number = float(value) / 100 if money else float(value)
            bounds[key] = (number, number)
        elif value == "–":
            bounds[key] = (0, np.inf)
        elif money:
            bounds[key] = (0.01, np.inf)
        elif value == f"<{T}":
            bounds[key] = (0 if key in maybe_zero else 1, T - 1)
        else:
            bounds[key] = (T, np.inf)
    return bounds


def _noisy_bounds(model: Model, value, money: bool) -> tuple[float, float]:
    """What a perturbed cell says about the truth (see the module's docstring)."""
    if value == "–":
        return (0, np.inf)
    if money:
        if hidden(value):
            return (0.01, np.inf)
        kroner, base = float(value) / 100, model.money_base
        return (0 if kroner == 0 else max(0.01, kroner - base + 0.01), kroner + base - 0.01)
    if value == f"<{T}":
        return (1, T - 1 + model.noise)
    if hidden(value):
        return (1, np.inf)
    return (0, model.noise) if value == 0 else (max(1, value - model.noise), value + model.noise)


def _row(model: Model, expr: dict[int, float]) -> np.ndarray:
    row = np.zeros(len(model.names))
    for k, v in expr.items():
        row[k] += v
    return row


def pinned(model: Model) -> dict[Hashable, float]:
    """Every hidden cell the published constraints determine exactly: {key: its value}. Raises when
    the publication has no solution (the attacker's model would be wrong)."""
    bounds = _mark_bounds(model)
    rows, lows, highs = [], [], []
    for key, (expr, _value, _money) in model.cells.items():
        if expr:
            rows.append(_row(model, expr))
            lows.append(bounds[key][0])
            highs.append(bounds[key][1])
    for expr, low, high in model.extra:
        rows.append(_row(model, expr))
        lows.append(low)
        highs.append(high)
    constraint = LinearConstraint(np.array(rows), np.array(lows), np.array(highs))
    variable_bounds = Bounds(np.zeros(len(model.names)), np.array(model.upper))
    integrality = np.array([1 if i else 0 for i in model.integer])
    found = {}
    for key, (expr, value, money) in model.cells.items():
        if not hidden(value) and not (model.noise and not (money and not model.money_base)):
            continue
        objective = _row(model, expr)
        extremes = []
        for sign in (1, -1):
            result = milp(sign * objective, constraints=constraint, bounds=variable_bounds,
                          integrality=integrality, options={"presolve": True})
            if result.status != 0:
                raise AssertionError(f"the publication has no solution ({result.message}) for {key}")
            extremes.append(sign * result.fun)
        low, high = extremes
        if (money and high - low < 1) or (not money and round(high) == round(low) and round(low) != 0):
            found[key] = low
    for key, expr in model.derived.items():
        objective = _row(model, expr)
        low = milp(objective, constraints=constraint, bounds=variable_bounds, integrality=integrality).fun
        high = -milp(-objective, constraints=constraint, bounds=variable_bounds, integrality=integrality).fun
        if round(low) == round(high) and 1 <= abs(round(low)) < T:
            found[key] = low
    for key, expr in model.derived_money.items():
        objective = _row(model, expr)
        low = milp(objective, constraints=constraint, bounds=variable_bounds, integrality=integrality).fun
        high = -milp(-objective, constraints=constraint, bounds=variable_bounds, integrality=integrality).fun
        if high - low < 1 and low >= 1:
            found[key] = low
    return found


# --- reading the API's publication ----------------------------------------------------------------

def _rows(section: dict) -> dict[str, list]:
    return {row["key"]: row["values"] for row in section["rows"]}


def counts_model(sections: dict, model: Model | None = None, prefix: str = "") -> tuple[Model, dict]:
    """The linked counts (flow, distribution, matrix, movement, time to stable), as constraints over
    the matrix cells, the flow's states, the families without assessments and who reached stabil."""
    m = model or Model()
    p = prefix
    n = {(i, j): {m.var(f"{p}n{i}{j}"): 1} for i in LEVELS for j in LEVELS}
    row = {i: add(*[n[(i, j)] for j in LEVELS]) for i in LEVELS}
    col = {j: add(*[n[(i, j)] for i in LEVELS]) for j in LEVELS}
    total = add(*row.values())
    move = {"worse": add(*[n[(i, j)] for i in LEVELS for j in LEVELS if j < i]),
            "same": add(*[n[(i, i)] for i in LEVELS]),
            "better": add(*[n[(i, j)] for i in LEVELS for j in LEVELS if j > i])}
    flow = {"referred": {m.var(f"{p}referred"): 1}, "active": {m.var(f"{p}active"): 1}}
    for reason in CLOSE_REASONS:
        flow[f"closed_{reason}"] = {m.var(f"{p}closed_{reason}"): 1}
    flow["closed"] = add(*[flow[f"closed_{r}"] for r in CLOSE_REASONS])
    flow["total"] = add(flow["referred"], flow["active"], flow["closed"])
    unassessed = {m.var(f"{p}unassessed"): 1}
    m.constrain(minus(flow["total"], add(total, unassessed)), 0, 0)
    reached = {m.var(f"{p}reached"): 1}
    stable = _rows(sections["time_to_stable"])
    if sections["time_to_stable"]["rows"][0]["label"].startswith("Startet"):
        # The old figure: families that had started, of those whose intake was below stabil.
        below = {m.var(f"{p}below"): 1}
        m.constrain(minus(add(row[1], row[2]), below), 0, BIG)
    else:
        below = add(row[1], row[2])
    m.constrain(minus(below, reached), 0, BIG)
    m.derived[(p, "unassessed")] = unassessed
    m.derived[(p, "intake_stable_or_better")] = add(row[3], row[4])

    transitions = _rows(sections["transitions"])
    if "under" in transitions:  # levels grouped: under stabil (1, 2) / stabil or better (3, 4)
        groups = {"under": (1, 2), "stable": (3, 4)}
        for a, rows in groups.items():
            for index, (b, columns) in enumerate(groups.items()):
                cell = add(*[n[(i, j)] for i in rows for j in columns])
                m.publish((p, "g", a, b), cell, transitions[a][index])
            m.publish((p, "grow", a), add(*[row[i] for i in rows]), transitions[a][2])
            m.publish((p, "gcol", a), add(*[col[j] for j in rows]), transitions["total"][list(groups).index(a)])
            m.sums.append(((p, "grow", a), [(p, "g", a, b) for b in groups]))
            m.sums.append(((p, "gcol", a), [(p, "g", b, a) for b in groups]))
        m.publish((p, "total"), total, transitions["total"][2])
        m.sums.append(((p, "total"), [(p, "grow", a) for a in groups]))
    else:
        for i in LEVELS:
            values = transitions[str(i)]
            for j in LEVELS:
                m.publish((p, "n", i, j), n[(i, j)], values[j - 1])
            m.publish((p, "row", i), row[i], values[4])
        bottom = transitions["total"]
        for j in LEVELS:
            m.publish((p, "col", j), col[j], bottom[j - 1])
        m.publish((p, "total"), total, bottom[4])
        for i in LEVELS:
            m.sums.append(((p, "row", i), [(p, "n", i, j) for j in LEVELS]))
            m.sums.append(((p, "col", i), [(p, "n", j, i) for j in LEVELS]))
        m.sums.append(((p, "total"), [(p, "row", i) for i in LEVELS]))
        m.sums.append(((p, "total"), [(p, "col", j) for j in LEVELS]))

    distribution = _rows(sections["distribution"])
    for i in LEVELS:
        m.publish((p, "dist_intake", i), row[i], distribution[str(i)][0])
        m.publish((p, "dist_now", i), col[i], distribution[str(i)][1])
    m.publish((p, "dist_total"), total, distribution["total"][0])
    # A table of its own: the parts of a "<5" total are all marked, zeros included (as the report's
    # rule marks them), so a "<5" level there may be 0. Without these sums a selection of one family
    # was "pinned" to four, one at each level (the benchmark lab's small cohort, cell key off).
    m.sums.append(((p, "dist_total"), [(p, "dist_intake", i) for i in LEVELS]))
    m.sums.append(((p, "dist_total"), [(p, "dist_now", i) for i in LEVELS]))

    flow_rows = _rows(sections["flow"])
    for key, expr in flow.items():
        m.publish((p, "flow", key), expr, flow_rows[key][0])
    for key in ("referred_in_period", "started_in_period"):  # some of the families
        part = {m.var(f"{p}{key}"): 1}
        m.constrain(minus(flow["total"], part), 0, BIG)
        m.publish((p, "flow", key), part, flow_rows[key][0])
        m.derived[(p, f"not_{key}")] = minus(flow["total"], part)
    m.sums.append(((p, "flow", "closed"), [(p, "flow", f"closed_{r}") for r in CLOSE_REASONS]))
    m.sums.append(((p, "flow", "total"), [(p, "flow", k) for k in ("referred", "active", "closed")]))

    movement = _rows(sections["movement"])
    for kind in MOVEMENTS:
        m.publish((p, "move", kind), move[kind], movement[kind][0])
    m.sums.append(((p, "total"), [(p, "move", kind) for kind in MOVEMENTS]))
    for kind in MOVEMENTS:
        m.sums.append(((p, "move", kind), [(p, "n", i, j) for i in LEVELS for j in LEVELS
                                           if {"worse": j < i, "same": j == i, "better": j > i}[kind]]))
    if "unassessed" in movement:
        m.publish((p, "unassessed"), unassessed, movement["unassessed"][0])
        m.sums.append(((p, "flow", "total"), [(p, "total"), (p, "unassessed")]))
    m.publish((p, "move_total"), flow["total"] if "unassessed" in movement else total, movement["total"][0])

    m.publish((p, "below"), below, stable["started_below"][0])
    m.publish((p, "reached"), reached, stable["reached"][0])
    m.sums.append(((p, "below"), [(p, "row", 1), (p, "row", 2)]))
    m.sums.append(((p, "below"), [(p, "reached")]))
    exprs = {"n": n, "row": row, "col": col, "total": total, "flow": flow, "below": below}
    return m, exprs


def money_model(sections: dict, model: Model | None = None, prefix: str = "") -> Model:
    """The spend tables: per theme, per category and next to movement, all adding up to what was
    paid (kroner, continuous)."""
    m = model or Model()
    paid = {m.var(f"{prefix}paid", money=True): 1}
    for section_id in ("spend_theme", "spend_category"):
        rows = _rows(sections[section_id])
        parts = {key: {m.var(f"{prefix}{section_id}_{key}", money=True): 1} for key in rows if key != "total"}
        m.constrain(minus(add(*parts.values()), paid), 0, 0)
        for key, expr in parts.items():
            m.publish((prefix, section_id, key), expr, rows[key][0], money=True)
        m.publish((prefix, section_id, "total"), paid, rows["total"][0], money=True)
    movement = _rows(sections["movement"])
    kinds = [k for k in movement if k != "total"]
    parts = {k: {m.var(f"{prefix}move_money_{k}", money=True): 1} for k in kinds}
    moved = add(*parts.values())
    if "unassessed" in movement:
        m.constrain(minus(moved, paid), 0, 0)
    else:  # the old table: its total is the families with assessments only, at most what was paid
        m.constrain(minus(paid, moved), 0, BIG_KR)
        m.derived_money[(prefix, "money_without_assessment")] = minus(paid, moved)
    for k, expr in parts.items():
        m.publish((prefix, "move_money", k), expr, movement[k][1], money=True)
    m.publish((prefix, "move_money", "total"), moved, movement["total"][1], money=True)
    return m


def benefit_constraints(m: Model, exprs: dict, benefit: dict, costs: list[dict]) -> None:
    """The model's savings as constraints: S = Σ n(i, j)·(cost(i) − cost(j)) (all agencies and per
    agency) and Q = Σ_{j below target} now(j)·(cost(j) − cost(target)), each known to within half its
    rounding unit."""
    if not benefit.get("shown"):
        return
    half = benefit["saving_unit"] / 2 / 100 if benefit["saving_unit"] > 1 else 0.005
    by_agency: dict = {}
    for c in costs:
        by_agency.setdefault(c["agency_id"], {})[c["level"]] = c["yearly_cost"] / 100

    def cost(level, agency=None) -> float:
        if agency is not None:
            return by_agency.get(agency, {}).get(level, 0)
        return sum(levels.get(level, 0) for levels in by_agency.values())

    def saving(agency=None) -> dict[int, float]:
        return add(*[{k: v * (cost(i, agency) - cost(j, agency)) for k, v in exprs["n"][(i, j)].items()}
                     for i in LEVELS for j in LEVELS])

    published = [(saving(), benefit["yearly_saving"])]
    published += [(saving(row["agency_id"]), row["yearly_saving"]) for row in benefit["per_agency"]]
    target = benefit["assumption_set"]["target_level"]
    potential = add(*[{k: v * (cost(j) - cost(target)) for k, v in exprs["col"][j].items()}
                      for j in LEVELS if j < target])
    published.append((potential, benefit["potential_yearly_saving"]))
    for expr, value in published:
        m.constrain(expr, value / 100 - half - 1e-6, value / 100 + half + 1e-6)


def _disclosure(m: Model, body: dict) -> None:
    disclosure = body.get("disclosure") or {}
    if disclosure.get("cell_key"):
        m.noise, m.money_base = int(disclosure["noise"]), disclosure["money_base"] / 100


def report_model(body: dict, *, zeros_marked: bool = True) -> Model:
    """Everything one report publishes (the API's body), as one model."""
    m, exprs = counts_model(body["sections"])
    m.zeros_marked = zeros_marked
    _disclosure(m, body)
    money_model(body["sections"], m)
    benefit = body.get("benefit") or {}
    if benefit.get("shown"):
        benefit_constraints(m, exprs, benefit, benefit["assumption_set"]["costs"])
    return m


def nested_model(earlier: dict, later: dict) -> Model:
    """Two reports of the same start whose ends differ: the later one's families include the earlier
    one's, and a family closed (for a reason) by the earlier end is still closed for it by the later."""
    m, first = counts_model(earlier["sections"], prefix="a.")
    _m, second = counts_model(later["sections"], m, prefix="b.")
    m.constrain(minus(second["flow"]["total"], first["flow"]["total"]), 0, BIG)
    for reason in CLOSE_REASONS:
        key = f"closed_{reason}"
        m.constrain(minus(second["flow"][key], first["flow"][key]), 0, BIG)
    return m


def difference_model(first: dict, second: dict, k: int) -> Model:
    """Two reports whose family sets differ by at most ``k`` families (any filters: periods,
    cohorts, agencies, themes): each count of one is within ``k`` of the same count of the other.
    The differences of the counts are what the attacker tries to pin (``derived``: a leak when
    pinned to ±1–4)."""
    m, _a = counts_model(first["sections"], prefix="a.")
    _m, _b = counts_model(second["sections"], m, prefix="b.")
    _disclosure(m, first)
    for key, (expr, _value, _money) in list(m.cells.items()):
        if key[0] != "a.":
            continue
        other = m.cells.get(("b.", *key[1:]))
        if other is None:
            continue
        difference = minus(expr, other[0])
        m.constrain(difference, -k, k)
        m.derived[("difference", *key[1:])] = difference
    return m


def leaks(models: Iterable[Model]) -> dict:
    found: dict = {}
    for model in models:
        found.update(pinned(model))
    return found


def difference_leaks(first: dict, second: dict) -> dict:
    """The difference table of two publications of overlapping selections: a cell shown in both
    whose values differ by 1–4, or shown 0 in one and "<5" in the other, counts the few families
    that changed between them (a family that moved out in the days between two period ends)."""
    found = {}
    for section_id, section in first["sections"].items():
        other = {row["key"]: row["values"] for row in second["sections"][section_id]["rows"]}
        for row in section["rows"]:
            for column, (a, b) in enumerate(zip(row["values"], other.get(row["key"], []), strict=False)):
                key = (section_id, row["key"], column)
                if isinstance(a, int) and isinstance(b, int) and 1 <= abs(a - b) < T:
                    found[key] = abs(a - b)
                elif {a, b} == {0, f"<{T}"}:
                    found[key] = f"1–{T - 1}"
    return found


# --- the per-person section (issue 15, ``GET /api/v1/reports/outcome/persons``) -------------------

PERSON_FOLLOW_UPS = ("follow_up_6", "follow_up_12")


def persons_model(body: dict, model: Model | None = None, prefix: str = "") -> Model:
    """The per-person section's counts as constraints: the young people = the rated (at stabil or
    better + not) + those never rated about themselves; each follow-up = held + not. The noise is
    the body's ``disclosure`` (person keys, ± ``noise`` young people)."""
    m = model or Model()
    p = prefix
    yes, no, unrated = ({m.var(f"{p}person_{name}"): 1} for name in ("stable", "not_stable", "unrated"))
    rated = add(yes, no)
    m.publish((p, "persons", "young_people"), add(rated, unrated), body["young_people"])
    m.publish((p, "persons", "now", "stable"), yes, body["now"]["stable"])
    m.publish((p, "persons", "now", "not_stable"), no, body["now"]["not_stable"])
    m.publish((p, "persons", "now", "rated"), rated, body["now"]["rated"])
    m.sums.append(((p, "persons", "now", "rated"),
                   [(p, "persons", "now", "stable"), (p, "persons", "now", "not_stable")]))
    m.sums.append(((p, "persons", "young_people"), [(p, "persons", "now", "rated")]))
    m.derived[(p, "persons", "unrated")] = unrated
    for kind in PERSON_FOLLOW_UPS:
        row = body["follow_ups"][kind]
        held, lost = {m.var(f"{p}{kind}_stable"): 1}, {m.var(f"{p}{kind}_not"): 1}
        m.publish((p, "persons", kind, "stable"), held, row["stable"])
        m.publish((p, "persons", kind, "not_stable"), lost, row["not_stable"])
        m.publish((p, "persons", kind, "rated"), add(held, lost), row["rated"])
        m.sums.append(((p, "persons", kind, "rated"),
                       [(p, "persons", kind, "stable"), (p, "persons", kind, "not_stable")]))
    disclosure = body.get("disclosure") or {}
    if disclosure.get("cell_key"):
        m.noise = int(disclosure["noise"])
    return m


def persons_difference_model(first: dict, second: dict, k: int) -> Model:
    """Two per-person sections whose young people differ by at most ``k`` persons (in who they are
    or in their ratings): every count of one within ``k`` of the other's; the differences are what
    the attacker is after (a leak when pinned to ±1–4)."""
    m = persons_model(first, prefix="a.")
    persons_model(second, m, prefix="b.")
    for key, (expr, _value, _money) in list(m.cells.items()):
        if key[0] != "a.":
            continue
        other = m.cells.get(("b.", *key[1:]))
        if other is None:
            continue
        difference = minus(expr, other[0])
        m.constrain(difference, -k, k)
        m.derived[("difference", *key[1:])] = difference
    return m


# --- predicted versus actual (issue 14, ``sections.effects_category`` / ``effects_theme``) ---------

EFFECT_OUTCOMES = ("reached", "fewer", "unknown", "no_prediction")


def effects_model(body: dict, model: Model | None = None, prefix: str = "") -> Model:
    """The two tables of *Forventet og faktisk endring*: per row (a category or theme, and ``all``)
    four counts of families and their total (the families paid in the row)."""
    m = model or Model()
    p = prefix
    for section_id in ("effects_category", "effects_theme"):
        for row_key, values in _rows(body["sections"][section_id]).items():
            parts = {o: {m.var(f"{p}{section_id}_{row_key}_{o}"): 1} for o in EFFECT_OUTCOMES}
            for index, o in enumerate(EFFECT_OUTCOMES):
                m.publish((p, section_id, row_key, o), parts[o], values[index])
            m.publish((p, section_id, row_key, "total"), add(*parts.values()), values[4])
            m.sums.append(((p, section_id, row_key, "total"), [(p, section_id, row_key, o) for o in EFFECT_OUTCOMES]))
    _disclosure(m, body)
    return m


def effects_difference_model(first: dict, second: dict, k: int) -> Model:
    """Two reports whose paid families differ by at most ``k``: every count of one within ``k`` of
    the other's; a difference pinned to ±1–4 says which row and outcome the differing family is in."""
    m = effects_model(first, prefix="a.")
    effects_model(second, m, prefix="b.")
    for key, (expr, _value, _money) in list(m.cells.items()):
        if key[0] != "a.":
            continue
        other = m.cells.get(("b.", *key[1:]))
        if other is not None:
            difference = minus(expr, other[0])
            m.constrain(difference, -k, k)
            m.derived[("difference", *key[1:])] = difference
    return m


def _flat(body, path=()) -> dict:
    """Every integer of a body by its path (section, row, column …)."""
    if isinstance(body, dict):
        return {k: v for key, value in body.items() for k, v in _flat(value, (*path, key)).items()}
    if isinstance(body, list):
        return {k: v for index, value in enumerate(body) for k, v in _flat(value, (*path, index)).items()}
    return {path: body} if isinstance(body, int) and not isinstance(body, bool) else {}


def aligned(exact: tuple[dict, dict], published: tuple[dict, dict], noise: int) -> list:
    """The cells where the documented limit of the cell-key method happened (docs/reports.md, *Why it
    holds*): the true counts of two reports differ, and their noises sit at opposite ends (the
    published difference is the true one ± 2·noise), so a reader who knows how many families differ
    can pin it. The test's view of the truth (``exact``: the same reports with the cell key off),
    never the attacker's."""
    true_a, true_b = (_flat(body) for body in exact)
    shown_a, shown_b = (_flat(body) for body in published)
    found = []
    for path, a in true_a.items():
        b = true_b.get(path)
        if b is None or a == b or path not in shown_a or path not in shown_b:
            continue
        if abs((shown_a[path] - shown_b[path]) - (a - b)) == 2 * noise:
            found.append(path)
    return found
