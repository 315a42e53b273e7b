"""The outcome report as readers get it: the database's aggregates, suppressed, labelled, with the
benefit model's result for the selection.

Everything here works on the few dozen numbers ``reports.outcome.run`` returns; no query and no
loop over families. Each table is protected as a whole (``reports.suppression``): the transition
matrix together with its margins (the level distributions at intake and now) and the movement
counts (worse / same / better), so no figure on the page can be combined with another to work a
hidden one back.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from fractions import Fraction

from flask_babel import gettext as _

from velferdslab.budget.forms import CATEGORY_LABELS
from velferdslab.budget.models import SPEND_CATEGORIES
from velferdslab.cases.enrolment.forms import CLOSE_REASON_LABELS
from velferdslab.cases.enrolment.models import CLOSE_REASONS
from velferdslab.cases.themes import LEVELS, STABIL, THEME_BY_CODE, THEME_CODES
from velferdslab.reports import benefit, cellkey, suppression
from velferdslab.reports.cellkey import Tally
from velferdslab.reports.models import AssumptionSet
from velferdslab.reports.outcome import DAYS_PER_MONTH_DEN, DAYS_PER_MONTH_NUM, MILESTONE_MONTHS, OutcomeData
from velferdslab.reports.suppression import Figure, Published, Table

MOVEMENTS = ("worse", "same", "better")
# Rounding units (øre) tried in turn for the benefit model's savings: the first that leaves no
# hidden cell of the transition matrix to be worked out wins (1 øre: no rounding at all).
SAVING_UNITS = (1, 1_000_00, 10_000_00, 100_000_00, 1_000_000_00, 10_000_000_00)
# What the model's money figures are rounded to on the report: 1 000 kr. The savings rest on
# assumed yearly costs; øre would claim a precision they do not have.
BENEFIT_UNIT = 1_000_00
MARGINS = (*[("row", level) for level in LEVELS], *[("col", level) for level in LEVELS], "total")


def movement_labels() -> dict[str, str]:
    return {"worse": _("Dårligere"), "same": _("Uendret"), "better": _("Bedre"),
            "unassessed": _("Uten inntaksvurdering")}


@dataclass
class Matrix:
    """A transition matrix (intake → now) with margins and movement counts, suppressed."""

    title: str
    figures: dict
    table: Table
    status: dict
    # Levels grouped into "under stabil" / "stabil eller bedre" (a 2×2 table) where the 4×4 one
    # would show small cells: the keys are then GROUPS' names.
    grouped: bool = False

    def cell(self, intake, now) -> Figure:
        return self.figures[(intake, now)]

    def intake(self, level) -> Figure:
        return self.figures[("row", level)]

    def now(self, level) -> Figure:
        return self.figures[("col", level)]

    def movement(self, kind: str) -> Figure:
        return self.figures[("move", kind)]

    @property
    def total(self) -> Figure:
        return self.figures["total"]


@dataclass
class ShareRow:
    label: str
    yes: Figure
    no: Figure
    total: Figure
    # In the base, but not assessed by then (the 6/12-month milestones, the follow-ups): *unknown*.
    unknown: Figure | None = None

    @property
    def share(self) -> str | None:
        return suppression.share(self.yes, self.total, self.no)


@dataclass
class MoneyRow:
    key: object
    label: str
    amount: Figure


@dataclass
class MoneyTable:
    title: str
    rows: list[MoneyRow]
    total: Figure


@dataclass
class AgencyBenefit:
    name: str
    invested: Figure
    yearly_saving: int
    present_value: int
    net_benefit: Figure


@dataclass
class BenefitView:
    assumption_set: AssumptionSet | None
    result: benefit.BenefitResult | None = None
    hidden_reason: str | None = None
    per_agency: list[AgencyBenefit] = field(default_factory=list)

    @property
    def unit_ore(self) -> int:
        return self.result.saving_unit if self.result else 1


@dataclass
class OutcomeReport:
    data: OutcomeData
    threshold: int
    families: Figure
    flow: dict
    referred_in_period: Figure
    started_in_period: Figure
    overall: Matrix
    themes: dict[str, Matrix]
    milestones: list[ShareRow]
    time_to_stable: ShareRow
    median_months: str | None
    on_way: Figure  # below stabil at intake, not reached it yet, still active
    follow_ups: list[ShareRow]
    spend_by_theme: MoneyTable
    spend_by_category: MoneyTable
    spend_by_agency: MoneyTable
    movement_families: dict
    movement_spend: dict
    spend_per_family: int | None  # øre
    benefit: BenefitView
    perturbed: bool = False  # published by the cell-key method (reports.cellkey)
    # Tables of other sections, in page order after these (predicted versus actual: reports.effects).
    extra_tables: list = field(default_factory=list)

    @property
    def noise_note(self) -> str | None:
        """What the reader is told about the perturbation (page, PDF, CSV, xlsx)."""
        if not self.perturbed:
            return None
        return _("Tallene er litt forskjøvet for å verne enkeltfamilier: hvert antall er det sanne ± inntil "
                 "%(noise)s familier, og hvert beløp er avrundet opp eller ned til nærmeste %(base)s kr. De samme "
                 "familiene gir alltid det samme tallet, så tabellene summerer ikke alltid helt.",
                 noise=cellkey.NOISE, base=cellkey.MONEY_BASE // 100)

    @property
    def empty(self) -> bool:
        return self.data.families == 0

    @property
    def too_few(self) -> bool:
        return 0 < self.data.families < self.threshold


# --- the pieces ---------------------------------------------------------------------------------

FLOW_KEYS = ("referred", "active", *[("closed", r) for r in CLOSE_REASONS], "closed", "total")


def _flow_values(data: OutcomeData) -> dict[Hashable, int]:
    values: dict[Hashable, int] = {"referred": 0, "active": 0, **{("closed", r): 0 for r in CLOSE_REASONS}}
    for state, reason, families, _referred, _started in data.flow:
        key = ("closed", reason) if state == "closed" else state
        values[key] = values.get(key, 0) + int(families)
    values["closed"] = sum(values[("closed", r)] for r in CLOSE_REASONS)
    values["total"] = values["referred"] + values["active"] + values["closed"]
    return values


def flow_figures(data: OutcomeData, threshold: int) -> dict:
    """Families by state at the end of the period, protected on their own (the report protects
    them together with the matrix: :func:`linked_counts`). Keys: 'referred', 'active',
    ('closed', reason), 'closed', 'total'."""
    values = _flow_values(data)
    table = Table(values, [("closed", [("closed", r) for r in CLOSE_REASONS]),
                           ("total", ["referred", "active", "closed"])])
    return suppression.protect(table, threshold)


def single(value: int, threshold: int) -> Figure:
    """A count that stands alone (no sum ties it to another figure)."""
    return suppression.protect(Table({"n": value}, []), threshold)["n"]


def transition_table(cells: dict, keys: dict | None = None) -> Table:
    """The matrix, its margins and worse / same / better; ``keys`` (the cells' keys) make
    :func:`perturb` possible, and are kept as ``table.keys``."""
    table = suppression.matrix_table(cells, LEVELS, LEVELS)
    groups: dict[str, list[tuple[int, int]]] = {"worse": [], "same": [], "better": []}
    for i in LEVELS:
        for j in LEVELS:
            groups["better" if j > i else "worse" if j < i else "same"].append((i, j))
    for kind, members in groups.items():
        table.values[("move", kind)] = sum(table.values[k] for k in members)
        table.add_sum(("move", kind), members)
    table.add_sum("total", [("move", kind) for kind in MOVEMENTS])
    keys = keys or {}
    tallies: dict[Hashable, Tally] = {(i, j): Tally(table.values[(i, j)], keys.get((i, j), 0) % cellkey.MODULUS)
                                      for i in LEVELS for j in LEVELS}
    for i in LEVELS:
        tallies[("row", i)] = cellkey.total(tallies[(i, j)] for j in LEVELS)
        tallies[("col", i)] = cellkey.total(tallies[(j, i)] for j in LEVELS)
    tallies["total"] = cellkey.total(tallies[("row", i)] for i in LEVELS)
    for kind, members in groups.items():
        tallies[("move", kind)] = cellkey.total(tallies[k] for k in members)
    table.keys = {k: t.key for k, t in tallies.items()}
    return table


def perturb(table: Table, threshold: int, keys: dict | None = None, on: bool = True) -> Table:
    """Publish every count of ``table`` at or above the threshold as the cell-key method has it
    (``reports.cellkey``: ± ``NOISE`` families, fixed by the families in the cell), every amount
    rounded to ``MONEY_BASE`` (up or down by the cell key). ``on=False``: exact (as before)."""
    keys = keys if keys is not None else table.keys
    if not on:
        return table
    if table.money:
        table.published = {k: cellkey.round_money(v, keys.get(k, 0)) for k, v in table.values.items() if v}
        table.spread = cellkey.MONEY_BASE
    else:
        table.published = {k: cellkey.perturb_count(v, keys.get(k, 0))
                           for k, v in table.values.items() if v > 0 and k not in table.unpublished}
        table.spread = cellkey.NOISE
    return table


BELOW_LEVELS = tuple(level for level in LEVELS if level < STABIL)
GROUPS = {"under": BELOW_LEVELS, "stable": tuple(level for level in LEVELS if level >= STABIL)}


def group_labels() -> dict[str, str]:
    return {"under": _("Under stabil"), "stable": _("Stabil eller bedre")}


def grouped_cells(cells: dict, keys: dict | None) -> tuple[dict, dict]:
    """The matrix's cells added up by level group (and their keys)."""
    keys = keys or {}
    counts: dict = {}
    grouped_keys: dict = {}
    for a, rows in GROUPS.items():
        for b, columns in GROUPS.items():
            counts[(a, b)] = sum(cells.get((i, j), 0) for i in rows for j in columns)
            grouped_keys[(a, b)] = sum(keys.get((i, j), 0) for i in rows for j in columns) % cellkey.MODULUS
    return counts, grouped_keys


def matrix(title: str, cells: dict, threshold: int, keys: dict | None = None, noise: bool = True) -> Matrix:
    """A per-theme matrix; where the 4×4 one would show a cell as ``"<5"``, the 2×2 one of the level
    groups (under *stabil* / *stabil* or better) instead, so a small lab reads numbers."""
    table = perturb(transition_table(cells, keys), threshold, on=noise)
    status = suppression.decide(table, threshold)
    if not noise or not any(status[(i, j)] == suppression.PRIMARY for i in LEVELS for j in LEVELS):
        return Matrix(title, suppression.figures(table, threshold, status), table, status)
    counts, grouped_keys = grouped_cells(cells, keys)
    table = suppression.matrix_table(counts, GROUPS, GROUPS)
    tallies: dict[Hashable, Tally] = {k: Tally(counts[k], grouped_keys[k]) for k in counts}
    for a in GROUPS:
        tallies[("row", a)] = cellkey.total(tallies[(a, b)] for b in GROUPS)
        tallies[("col", a)] = cellkey.total(tallies[(b, a)] for b in GROUPS)
    tallies["total"] = cellkey.total(tallies[("row", a)] for a in GROUPS)
    perturb(table, threshold, {k: t.key for k, t in tallies.items()}, on=noise)
    status = suppression.decide(table, threshold)
    return Matrix(title, suppression.figures(table, threshold, status), table, status, grouped=True)




def linked_table(data: OutcomeData, grouped: bool = False) -> Table:
    """Every count of the report that adds up with another, as one table (linked tables are
    protected together, else one gives the other away: the matrix's total minus "under stabil at
    intake", or the families minus those with assessments):

    - the transition matrix, its margins and worse / same / better (:func:`transition_table`);
    - the flow: ``("flow", key)`` with referred + active + closed = the families, closed = Σ reasons;
    - ``"unassessed"``: the families without an assessment, so the families = matrix total + it;
    - ``"below"`` = the intake rows under *stabil*, = ``("ts", "yes")`` + ``("ts", "no")`` (reached
      *stabil* by the end of the period, or not yet).
    """
    table = transition_table(data.transitions, data.keys.get("transitions"))
    keys = table.keys
    if grouped:
        _group_levels(table, data)
    flow = _flow_values(data)
    flow_keys = _flow_keys(data)
    for key, value in flow.items():
        table.values[("flow", key)] = value
    table.add_sum(("flow", "closed"), [("flow", ("closed", r)) for r in CLOSE_REASONS])
    table.add_sum(("flow", "total"), [("flow", "referred"), ("flow", "active"), ("flow", "closed")])
    table.values["unassessed"] = flow["total"] - table.values["total"]
    table.add_sum(("flow", "total"), ["total", "unassessed"])
    table.values["below"] = sum(table.values[("row", level)] for level in BELOW_LEVELS)
    table.add_sum("below", [("row", level) for level in BELOW_LEVELS])
    table.values[("ts", "yes")] = data.reached_stable
    table.values[("ts", "no")] = table.values["below"] - data.reached_stable
    table.add_sum("below", [("ts", "yes"), ("ts", "no")])
    # Of those not there yet, still on the way (active at the end of the period) and the rest.
    table.values[("ts", "on_way")] = data.on_way
    table.values[("ts", "stopped")] = table.values[("ts", "no")] - data.on_way
    table.add_sum(("ts", "no"), [("ts", "on_way"), ("ts", "stopped")])
    # New referrals and starts in the period are some of the families: each with its complement.
    for name, column in (("referred_in_period", 3), ("started_in_period", 4)):
        table.values[("flow", name)] = sum(int(r[column] or 0) for r in data.flow)
        table.values[("flow", f"not_{name}")] = flow["total"] - table.values[("flow", name)]
        table.add_sum(("flow", "total"), [("flow", name), ("flow", f"not_{name}")])
    table.keep = frozenset({("flow", "total")})
    table.unpublished = frozenset({("flow", "not_referred_in_period"), ("flow", "not_started_in_period"),
                                   ("ts", "stopped")})
    # The same sums on the cell keys: a total's key is its parts' keys added up.
    keys.update({("flow", k): v for k, v in flow_keys.items()})
    keys["unassessed"] = (flow_keys["total"] - keys["total"]) % cellkey.MODULUS
    keys["below"] = sum(keys[("row", level)] for level in BELOW_LEVELS) % cellkey.MODULUS
    _below_key, reached_key, on_way_key = (tuple(data.keys.get("time_to_stable", ())) + (0, 0, 0))[:3]
    keys[("ts", "yes")] = int(reached_key or 0) % cellkey.MODULUS
    keys[("ts", "no")] = (keys["below"] - keys[("ts", "yes")]) % cellkey.MODULUS
    keys[("ts", "on_way")] = int(on_way_key or 0) % cellkey.MODULUS
    keys[("ts", "stopped")] = (keys[("ts", "no")] - keys[("ts", "on_way")]) % cellkey.MODULUS
    for name in ("referred_in_period", "started_in_period"):
        keys[("flow", f"not_{name}")] = (flow_keys["total"] - flow_keys[name]) % cellkey.MODULUS
    return table


def _group_levels(table: Table, data: OutcomeData) -> None:
    """The matrix's sixteen cells replaced by the four of the level groups (under *stabil* /
    *stabil* or better), tied to the margins by level through the groups' margins
    ``("row", group)`` and ``("col", group)``; worse / same / better stay (they add up to the total)."""
    inner = {(i, j) for i in LEVELS for j in LEVELS}
    for key in inner:
        del table.values[key]
        table.keys.pop(key, None)
    table.sums = [(total, parts) for total, parts in table.sums if not inner & set(parts)]
    counts, keys = grouped_cells(data.transitions, data.keys.get("transitions"))
    table.values.update(counts)
    table.keys.update(keys)
    for a, levels in GROUPS.items():
        for side, parts in (("row", [(a, b) for b in GROUPS]), ("col", [(b, a) for b in GROUPS])):
            table.values[(side, a)] = sum(table.values[(side, level)] for level in levels)
            table.keys[(side, a)] = sum(table.keys[(side, level)] for level in levels) % cellkey.MODULUS
            table.add_sum((side, a), [(side, level) for level in levels])
            table.add_sum((side, a), parts)


def _flow_keys(data: OutcomeData) -> dict:
    """The cell keys of :func:`_flow_values`' counts, and of the referred and started in the period."""
    keys: dict = {"referred": 0, "active": 0, **{("closed", r): 0 for r in CLOSE_REASONS},
                  "referred_in_period": 0, "started_in_period": 0}
    for (state, reason), (key, referred, started) in data.keys.get("flow", {}).items():
        target = ("closed", reason) if state == "closed" else state
        keys[target] = keys.get(target, 0) + int(key)
        keys["referred_in_period"] += int(referred)
        keys["started_in_period"] += int(started)
    keys["closed"] = sum(keys[("closed", r)] for r in CLOSE_REASONS)
    keys["total"] = keys["referred"] + keys["active"] + keys["closed"]
    return {k: v % cellkey.MODULUS for k, v in keys.items()}


MOVEMENT_ROWS = (*MOVEMENTS, "unassessed")


def linked_money(data: OutcomeData, threshold: int, noise: bool = True) -> dict:
    """The paid spend by theme, by category and by movement (worse / same / better / without an
    assessment), protected as one table: all three add up to the same total, so a total minus the
    others can give away no hidden amount. Keys ``(grouping, key)`` and ``"__total__"``."""
    groupings = {
        "theme": {c: data.spend_by_theme.get(c, (0, 0)) for c in THEME_CODES},
        "category": {c: data.spend_by_category.get(c, (0, 0)) for c in SPEND_CATEGORIES},
    }
    movement = {k: data.movement_spend.get(k, (0, 0, 0))[1:] for k in MOVEMENTS}
    movement["unassessed"] = (data.paid - sum(a for a, _n in movement.values()),
                              data.paid_families - sum(n for _a, n in movement.values()))
    groupings["movement"] = movement
    paid_key = data.keys.get("totals", (0, 0))[1]
    moved_keys = {k: v[1] for k, v in data.keys.get("movement_spend", {}).items()}
    keys: dict = {"__total__": paid_key, ("movement", "unassessed"): paid_key - sum(moved_keys.values())}
    keys.update({("movement", k): v for k, v in moved_keys.items()})
    for name in ("theme", "category"):
        keys.update({(name, k): v for k, v in data.keys.get(f"spend_by_{name}", {}).items()})
    values: dict[Hashable, int] = {"__total__": data.paid}
    families: dict[Hashable, int] = {"__total__": data.paid_families}
    table = Table(values, [], money=True, families=families)
    for name, rows in groupings.items():
        for key, (amount, count) in rows.items():
            values[(name, key)], families[(name, key)] = amount, count
        if sum(amount for amount, _count in rows.values()) == data.paid:
            table.add_sum("__total__", [(name, key) for key in rows])
        else:  # a grouping that does not add up to the total (never expected): protected alone
            values[(name, "__sum__")] = sum(amount for amount, _count in rows.values())
            families[(name, "__sum__")] = data.paid_families
            table.add_sum((name, "__sum__"), [(name, key) for key in rows])
    return suppression.protect(perturb(table, threshold, keys, on=noise), threshold)


def _money_alone(data: OutcomeData, threshold: int) -> dict:
    """The spend tables each protected on their own (the weak configuration of :func:`build`)."""
    result: dict = {}
    for name, amounts, keys in (("theme", data.spend_by_theme, THEME_CODES),
                                ("category", data.spend_by_category, SPEND_CATEGORIES)):
        figures = suppression.protect_money({k: amounts.get(k, (0, 0))[0] for k in keys},
                                            {k: amounts.get(k, (0, 0))[1] for k in keys}, threshold,
                                            total_key="__total__", total_families=data.paid_families)
        result.update({(name, k): figures[k] for k in keys})
        result["__total__"] = figures["__total__"]
    movement = suppression.protect_money({k: data.movement_spend.get(k, (0, 0, 0))[1] for k in MOVEMENTS},
                                         {k: data.movement_spend.get(k, (0, 0, 0))[2] for k in MOVEMENTS},
                                         threshold, total_key="__total__")
    result.update({("movement", k): movement[k] for k in MOVEMENTS})
    result[("movement", "__total__")] = movement["__total__"]
    return result


def share_row(label: str, yes: int, total: int, threshold: int, keys: tuple[int, int] = (0, 0),
              noise: bool = True) -> ShareRow:
    """Families of whom ``yes`` (and the rest), with their total; ``keys``: the cell keys of the
    total and of the yes."""
    table = Table({"yes": yes, "no": total - yes, "total": total}, [("total", ["yes", "no"])])
    total_key, yes_key = (int(k or 0) for k in keys)
    perturb(table, threshold, {"yes": yes_key, "no": total_key - yes_key, "total": total_key}, on=noise)
    figures = suppression.protect(table, threshold)
    return ShareRow(label, figures["yes"], figures["no"], figures["total"])


def counted_share_row(label: str, counts: tuple, threshold: int, keys: tuple = (0, 0),
                      noise: bool = True) -> ShareRow:
    """A share row from a query's (families, of whom yes) pair (and their keys); or from a
    (base, of whom yes, of whom assessed) triple (and their keys), the base less the assessed being
    *unknown* — shown with the row, protected with it (yes + no + unknown = the base)."""
    if len(counts) < 3:
        total, yes = counts[:2]
        return share_row(label, yes, total, threshold, tuple(keys)[:2], noise)
    total, yes, assessed = counts
    total_key, yes_key, assessed_key = (int(k or 0) for k in (tuple(keys) + (0, 0, 0))[:3])
    table = Table({"yes": yes, "no": assessed - yes, "unknown": total - assessed, "total": total},
                  [("total", ["yes", "no", "unknown"])])
    perturb(table, threshold, {"yes": yes_key, "no": assessed_key - yes_key, "unknown": total_key - assessed_key,
                               "total": total_key}, on=noise)
    figures = suppression.protect(table, threshold)
    return ShareRow(label, figures["yes"], figures["no"], figures["total"], figures["unknown"])


def money_table(title: str, rows: list[tuple[object, str]], amounts: dict, threshold: int,
                total_families: int, keys: dict | None = None, total_key: int = 0, noise: bool = True) -> MoneyTable:
    values = {key: amounts.get(key, (0, 0))[0] for key, _label in rows}
    families = {key: amounts.get(key, (0, 0))[1] for key, _label in rows}
    values["__total__"], families["__total__"] = sum(values.values()), total_families
    table = Table(values, [("__total__", [key for key, _label in rows])], money=True, families=families)
    perturb(table, threshold, {**(keys or {}), "__total__": total_key}, on=noise)
    figures = suppression.protect(table, threshold)
    return MoneyTable(title, [MoneyRow(key, label, figures[key]) for key, label in rows], figures["__total__"])


def months_text(days_sum: int, count: int) -> str:
    """The median in months (mean calendar month), one decimal, Norwegian comma."""
    months = Fraction(days_sum, count) * DAYS_PER_MONTH_DEN / DAYS_PER_MONTH_NUM
    tenths = (months * 10 * 2 + 1) // 2
    return f"{tenths // 10},{tenths % 10}"


# --- the benefit model on the selection ---------------------------------------------------------

def to_assumptions(row: AssumptionSet) -> benefit.Assumptions:
    return benefit.Assumptions(
        yearly_cost=row.yearly_cost(), deadweight=row.rate("deadweight"), drop_off=row.rate("drop_off"),
        discount_rate=row.rate("discount_rate"), horizon_years=row.horizon_years,
        staff_cost_per_family_month=row.staff_cost_per_family_month, target_level=row.target_level,
        success_rate=row.rate("success_rate"))


def _published(assumptions: benefit.Assumptions, selection: benefit.Selection, unit: int) -> list[Published]:
    """What the model's figures reveal about the matrix: S, Q and each agency's S, each rounded
    to ``unit`` (so known to within half a unit either way)."""
    half = Fraction(unit, 2) if unit > 1 else Fraction(0)

    def around(value: int) -> tuple[Fraction, Fraction]:
        rounded = benefit.round_to(value, unit)
        return rounded - half, rounded + half

    published = []
    for agency in [None, *assumptions.agencies]:
        coefs = {(i, j): assumptions.cost(i, agency) - assumptions.cost(j, agency) for i in LEVELS for j in LEVELS}
        low, high = around(benefit.yearly_saving(assumptions, selection, agency))
        published.append(Published(coefs, low, high))
    target_cost = assumptions.cost(assumptions.target_level)
    potential = {("col", j): assumptions.cost(j) - target_cost for j in LEVELS if j < assumptions.target_level}
    low, high = around(benefit.potential_saving(assumptions, selection))
    published.append(Published(potential, low, high))
    return published


def safe_unit(overall: Matrix, assumptions: benefit.Assumptions, selection: benefit.Selection,
              threshold: int) -> int | None:
    """The smallest rounding of the savings that keeps every hidden cell of the matrix hidden."""
    for unit in SAVING_UNITS:
        if not suppression.pinned(overall.table, threshold, overall.status, _published(assumptions, selection, unit)):
            return unit
    return None


def benefit_view(data: OutcomeData, overall: Matrix, spend_total: Figure, by_agency: MoneyTable,
                 assumption_set: AssumptionSet | None, threshold: int, success_rate=None,
                 agency_names: dict | None = None, linked: bool = True) -> BenefitView:
    view = BenefitView(assumption_set)
    if assumption_set is None:
        view.hidden_reason = _("Ingen forutsetninger for gevinstmodellen er lagt inn ennå.")
        return view
    families = overall.total.value
    if not overall.total.hidden and families is not None and families < threshold:
        view.hidden_reason = _("For få familier med vurderinger i utvalget til å beregne gevinst.")
        return view
    if spend_total.hidden:
        view.hidden_reason = _("Utbetalingene i utvalget kan ikke vises, og da heller ikke gevinsten.")
        return view
    assumptions = to_assumptions(assumption_set)
    paid_by_agency = {row.key: row.amount.value or 0 for row in by_agency.rows} if linked else \
        {key: amount for key, (amount, _families) in data.spend_by_agency.items()}
    # The model reads the figures the report publishes (its margins and what was paid), never the
    # exact ones behind them: the savings are Σ cost × margins, so they say nothing new.
    margins = {}
    if linked:
        margins = {"intake": {i: overall.intake(i).value or 0 for i in LEVELS},
                   "now": {j: overall.now(j).value or 0 for j in LEVELS}}
    selection = benefit.Selection(
        transitions=data.transitions, spend_paid=(spend_total.value or 0) if linked else data.paid, **margins,
        family_months=benefit.round_ore(Fraction(data.family_days * DAYS_PER_MONTH_DEN, DAYS_PER_MONTH_NUM)),
        spend_paid_by_agency=paid_by_agency)
    if linked:
        # The savings are Σ families × cost by level at intake and now: functions of the matrix's
        # margins alone. Shown margins make every saving a sum of shown figures, so it tells a
        # reader nothing new; with a margin hidden, no rounding is safe against an integer solver.
        if any(overall.status[key] != suppression.SHOWN for key in MARGINS):
            view.hidden_reason = _("Gevinsten regnes ut fra hvor mange familier som er på hvert nivå ved inntak "
                                   "og nå. Noen av disse tallene er skjult i dette utvalget for å verne små "
                                   "grupper, og da vises heller ikke gevinsten.")
            return view
        unit: int | None = BENEFIT_UNIT
    else:  # the old way (kept to show the attacker test what it finds): interval propagation
        unit = safe_unit(overall, assumptions, selection, threshold)
    if unit is None:
        view.hidden_reason = _("Gevinsten kan ikke vises uten å avsløre små grupper i utvalget.")
        return view
    view.result = benefit.compute(assumptions, selection, success_rate=success_rate, saving_unit=unit)
    invested = {row.key: row.amount for row in by_agency.rows}
    names = agency_names or {}
    for row in view.result.per_agency:
        figure = invested.get(row.agency, suppression.shown(row.invested, money=True))
        net = suppression.shown(row.net_benefit, money=True) if not figure.hidden else figure
        view.per_agency.append(AgencyBenefit(names.get(row.agency, str(row.agency)), figure, row.yearly_saving,
                                             row.present_value, net))
    return view


# --- the whole report ---------------------------------------------------------------------------

def _linked_status(data: OutcomeData, threshold: int, noise: bool) -> tuple[Table, dict, bool]:
    """The linked counts (:func:`linked_table`) perturbed and suppressed as one table: (table,
    status, grouped)."""
    linked_tables = perturb(linked_table(data), threshold, on=noise)
    grouped = False
    status = suppression.decide(linked_tables, threshold)
    if noise and any(status[(i, j)] == suppression.PRIMARY for i in LEVELS for j in LEVELS):
        # A small selection: the matrix by level groups, so it reads as numbers, not marks.
        grouped = True
        linked_tables = perturb(linked_table(data, grouped=True), threshold)
        status = suppression.decide(linked_tables, threshold)
    return linked_tables, status, grouped


def _movement_families(linked_figures: dict, rows) -> dict:
    return {k: linked_figures[("move", k)] if k in MOVEMENTS else linked_figures[k] for k in rows}


@dataclass
class LinkedCounts:
    """The overall matrix and the movement counts of a report, exactly as :func:`build` publishes
    them, without the rest of the report (what the quarterly trend reads: ``summary.stable_now``)."""

    threshold: int
    overall: Matrix
    movement_families: dict


def linked_counts(data: OutcomeData, threshold: int, *, noise: bool = False) -> LinkedCounts:
    """:func:`build`'s overall matrix and movement counts alone; ``data`` needs only the statements
    of ``outcome.TREND_STATEMENTS`` (the linked table is made of them and nothing else)."""
    table, status, grouped = _linked_status(data, threshold, noise)
    linked_figures = suppression.figures(table, threshold, status)
    movement_families = _movement_families(linked_figures, MOVEMENT_ROWS)
    movement_families["total"] = linked_figures[("flow", "total")]
    return LinkedCounts(threshold, Matrix(_("Samlet nivå"), linked_figures, table, status, grouped=grouped),
                        movement_families)


def build(data: OutcomeData, threshold: int, *, assumption_set: AssumptionSet | None = None,
          success_rate=None, agency_names: dict | None = None, linked: bool = True,
          noise: bool = False) -> OutcomeReport:
    """Suppress, perturb and label every figure of the report.

    ``noise``: every count and amount is published by the cell-key method (``reports.cellkey``), as
    the app does (``REPORT_CELL_KEY``, on by default: ``reading.build_outcome``); without it the
    figures are exact, as the report was before — the configuration the differencing attack
    (``tests/reports/test_cell_key.py``) shows to give families away.

    ``linked=False`` protects each table on its own and rounds the benefit model's savings by
    interval propagation, as the report did before issue 14: a deliberately weak configuration the
    attacker test (``tests/reports/test_disclosure_attack.py``) uses to show what it finds."""
    agency_names = agency_names or {}
    if linked:
        linked_tables, status, grouped = _linked_status(data, threshold, noise)
    else:
        linked_tables, grouped = perturb(linked_table(data), threshold, on=noise), False
        status = {}
        for part in (transition_table(data.transitions), Table(dict(linked_tables.values), [])):
            status.update({k: v for k, v in suppression.decide(part, threshold).items() if k not in status})
        flow_alone = flow_figures(data, threshold)
        status.update({("flow", k): figure.status for k, figure in flow_alone.items()})
        ts_alone = share_row("", data.reached_stable, linked_tables.values["below"], threshold)
        status.update({("ts", "yes"): ts_alone.yes.status, ("ts", "no"): ts_alone.no.status,
                       "below": ts_alone.total.status})
    linked_figures = suppression.figures(linked_tables, threshold, status)
    overall = Matrix(_("Samlet nivå"), linked_figures, linked_tables, status, grouped=grouped)
    theme_keys = data.keys.get("theme_transitions", {})
    themes = {code: matrix(str(THEME_BY_CODE[code].name), data.theme_transitions.get(code, {}), threshold,
                           theme_keys.get(code), noise)
              for code in THEME_CODES if code in data.theme_transitions}
    flow = {key: linked_figures[("flow", key)] for key in FLOW_KEYS}
    ts = ShareRow(_("Nådde stabil"), linked_figures[("ts", "yes")], linked_figures[("ts", "no")],
                  linked_figures["below"])
    # The median rests on at least threshold families; a "×" beside it says no more than that.
    median = (months_text(*data.median_days) if ts.yes.status in (suppression.SHOWN, suppression.SECONDARY)
              and data.reached_stable >= threshold and data.median_days[1] else None)
    milestones = [counted_share_row(_("%(months)s måneder etter start", months=m),
                                    data.milestones.get(m, (0, 0, 0)), threshold,
                                    data.keys.get("milestones", {}).get(m, (0, 0, 0)), noise)
                  for m in MILESTONE_MONTHS]
    follow_ups = [counted_share_row(label, data.follow_ups.get(kind, (0, 0, 0)), threshold,
                                    data.keys.get("follow_ups", {}).get(kind, (0, 0, 0)), noise)
                  for kind, label in (("follow_up_6", _("6 måneder etter avslutning")),
                                      ("follow_up_12", _("12 måneder etter avslutning")))]
    money = linked_money(data, threshold, noise) if linked else _money_alone(data, threshold)
    by_theme = MoneyTable(_("Utbetalt per tema"), [MoneyRow(c, str(THEME_BY_CODE[c].name), money[("theme", c)])
                                                   for c in THEME_CODES], money["__total__"])
    by_category = MoneyTable(_("Utbetalt per kategori"),
                             [MoneyRow(c, str(CATEGORY_LABELS[c]), money[("category", c)]) for c in SPEND_CATEGORIES],
                             money["__total__"])
    agency_rows = [(key, agency_names.get(key, str(key))) for key in sorted(
        set(agency_names) | set(data.spend_by_agency), key=lambda k: agency_names.get(k, str(k)))]
    by_agency = money_table(_("Utbetalt per etat (delegerte midler)"), agency_rows, data.spend_by_agency,
                            threshold, data.paid_families, data.keys.get("spend_by_agency"),
                            data.keys.get("totals", (0, 0))[1], noise)
    # The movement table: worse / same / better and the families without an assessment, adding up to
    # the families and the money paid (the weak configuration: the old table, assessed families only).
    rows = MOVEMENT_ROWS if linked else MOVEMENTS
    movement_families = _movement_families(linked_figures, rows)
    movement_families["total"] = flow["total"] if linked else overall.total
    movement_money = {k: money[("movement", k)] for k in rows}
    movement_money["__total__"] = money["__total__"] if linked else money[("movement", "__total__")]
    families = flow["total"]
    per_family = None
    if not by_theme.total.hidden and not families.hidden and families.value:
        # From the published figures (a derived figure adds nothing to what they say).
        per_family = benefit.round_ore(Fraction(by_theme.total.value or 0, families.value))
    return OutcomeReport(
        data=data, threshold=threshold, families=families, flow=flow,
        referred_in_period=linked_figures[("flow", "referred_in_period")] if linked
        else single(sum(int(r[3] or 0) for r in data.flow), threshold),
        started_in_period=linked_figures[("flow", "started_in_period")] if linked
        else single(sum(int(r[4] or 0) for r in data.flow), threshold),
        overall=overall, themes=themes, milestones=milestones, time_to_stable=ts, median_months=median,
        on_way=linked_figures[("ts", "on_way")],
        follow_ups=follow_ups, spend_by_theme=by_theme, spend_by_category=by_category, spend_by_agency=by_agency,
        movement_families=movement_families, movement_spend=movement_money,
        spend_per_family=per_family,
        benefit=benefit_view(data, overall, by_theme.total, by_agency, assumption_set, threshold, success_rate,
                             agency_names, linked=linked), perturbed=noise)


def close_reason_labels() -> dict[str, str]:
    return {r: str(CLOSE_REASON_LABELS[r]) for r in CLOSE_REASONS}


# --- the report as tables (HTML, PDF, CSV and JSON all read these) --------------------------------

@dataclass
class ReportTable:
    """One table of the report: ``rows`` are (key, label, [cell…]); a cell is a Figure or text."""

    id: str
    title: str
    columns: list[str]
    rows: list[tuple[object, str, list]] = field(default_factory=list)
    row_header: str = ""


def _level_names() -> dict[int, str]:
    from velferdslab.cases.themes import LEVEL_NAMES

    return {level: str(LEVEL_NAMES[level]) for level in LEVELS}


def matrix_table_spec(table_id: str, m: Matrix) -> ReportTable:
    if m.grouped:
        return _grouped_spec(table_id, m)
    names = _level_names()
    spec = ReportTable(table_id, _("%(title)s: nivå ved inntak (rader) og nå (kolonner)", title=m.title),
                       [names[j] for j in LEVELS] + [_("I alt ved inntak")], row_header=_("Ved inntak"))
    for i in LEVELS:
        spec.rows.append((i, names[i], [m.cell(i, j) for j in LEVELS] + [m.intake(i)]))
    spec.rows.append(("total", _("I alt nå"), [m.now(j) for j in LEVELS] + [m.total]))
    return spec


def _grouped_spec(table_id: str, m: Matrix) -> ReportTable:
    names = group_labels()
    spec = ReportTable(table_id, _("%(title)s: under stabil eller stabil eller bedre ved inntak (rader) og nå "
                                   "(kolonner) — nivåene er slått sammen fordi utvalget er lite", title=m.title),
                       [names[b] for b in GROUPS] + [_("I alt ved inntak")], row_header=_("Ved inntak"))
    for a in GROUPS:
        spec.rows.append((a, names[a], [m.cell(a, b) for b in GROUPS] + [m.intake(a)]))
    spec.rows.append(("total", _("I alt nå"), [m.now(b) for b in GROUPS] + [m.total]))
    return spec


def _share_table(table_id: str, title: str, rows: list[ShareRow], yes_label: str) -> ReportTable:
    """Yes, no, unknown (not assessed by then: in the base) and the base; the share is of the base."""
    spec = ReportTable(table_id, title, [yes_label, _("Ikke"), _("Ukjent"), _("Familier"), _("Andel")])
    for index, row in enumerate(rows):
        spec.rows.append((index, row.label, [row.yes, row.no, row.unknown if row.unknown is not None
                                             else suppression.shown(0), row.total,
                                             row.share or suppression.HIDDEN]))
    return spec


def _money_spec(table_id: str, table: MoneyTable) -> ReportTable:
    spec = ReportTable(table_id, table.title, [_("Utbetalt")])
    spec.rows = [(row.key, row.label, [row.amount]) for row in table.rows]
    spec.rows.append(("total", _("I alt"), [table.total]))
    return spec


def tables(report: OutcomeReport) -> list[ReportTable]:
    """Every table of the report, in page order."""
    reasons = close_reason_labels()
    flow = ReportTable("flow", _("Familier etter status ved periodens slutt"), [_("Familier")])
    flow.rows = [("referred", _("Henvist, ikke startet"), [report.flow["referred"]]),
                 ("active", _("Aktive"), [report.flow["active"]])]
    flow.rows += [(f"closed_{r}", _("Avsluttet: %(reason)s", reason=reasons[r]), [report.flow[("closed", r)]])
                  for r in CLOSE_REASONS]
    flow.rows += [("closed", _("Avsluttet i alt"), [report.flow["closed"]]),
                  ("total", _("Familier i utvalget"), [report.flow["total"]]),
                  ("referred_in_period", _("Nye henvisninger i perioden"), [report.referred_in_period]),
                  ("started_in_period", _("Startet i perioden"), [report.started_in_period])]
    names = _level_names()
    distribution = ReportTable("distribution", _("Samlet nivå ved inntak og nå (familier)"),
                               [_("Ved inntak"), _("Nå")])
    distribution.rows = [(i, names[i], [report.overall.intake(i), report.overall.now(i)]) for i in LEVELS]
    distribution.rows.append(("total", _("I alt"), [report.overall.total, report.overall.total]))
    result = [flow, distribution, matrix_table_spec("transitions", report.overall)]
    movement = ReportTable("movement", _("Utbetalinger ved siden av bevegelsen fra inntak til nå"),
                           [_("Familier"), _("Utbetalt")])
    labels = movement_labels()
    movement.rows = [(k, labels[k], [report.movement_families[k], report.movement_spend[k]])
                     for k in MOVEMENT_ROWS if k in report.movement_spend]
    movement.rows.append(("total", _("I alt"), [report.movement_families["total"], report.movement_spend["__total__"]]))
    result.append(movement)
    result.append(_share_table("milestones", _("Stabil eller bedre etter 6 og 12 måneder i laben"),
                               report.milestones, _("Stabil eller bedre")))
    stable = ReportTable("time_to_stable", _("Tid til første vurdering som stabil (familier under stabil ved "
                                              "inntak)"), [_("Verdi")])
    stable.rows = [("started_below", _("Under stabil ved inntak"), [report.time_to_stable.total]),
                   ("reached", _("Har nådd stabil"), [report.time_to_stable.yes]),
                   ("on_way", _("Fortsatt på vei (aktive, ikke nådd stabil ennå)"), [report.on_way]),
                   ("median_months", _("Median antall måneder"), [report.median_months or suppression.HIDDEN])]
    result.append(stable)
    result.append(_share_table("follow_ups", _("Fortsatt stabil eller bedre ved oppfølging etter avslutning "
                                               "(familier som var stabile ved avslutning)"),
                               report.follow_ups, _("Fortsatt stabil eller bedre")))
    for code, m in report.themes.items():
        result.append(matrix_table_spec(f"transitions_{code}", m))
    result += [_money_spec("spend_theme", report.spend_by_theme),
               _money_spec("spend_category", report.spend_by_category),
               _money_spec("spend_agency", report.spend_by_agency)]
    per_family = ReportTable("spend_per_family", _("Utbetalt per familie i utvalget"), [_("Utbetalt")])
    per_family.rows = [("per_family", _("Gjennomsnitt per familie"),
                        [suppression.shown(report.spend_per_family, money=True) if report.spend_per_family is not None
                         else suppression.HIDDEN])]
    result.append(per_family)
    result += report.extra_tables
    return result


def cell_text(cell) -> str:
    return cell.text if isinstance(cell, Figure) else str(cell)


def cell_json(cell):
    return cell.json if isinstance(cell, Figure) else str(cell)
