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
from velferdslab.cases.themes import LEVELS, THEME_BY_CODE, THEME_CODES
from velferdslab.reports import benefit, suppression
from velferdslab.reports.models import AssumptionSet
from velferdslab.reports.outcome import DAYS_PER_MONTH_DEN, DAYS_PER_MONTH_NUM, MILESTONE_MONTHS, OutcomeData
from velferdslab.reports.suppression import Figure, Published, Table

MOVEMENTS = ("worse", "same", "better")
# Rounding units (øre) tried in turn for the benefit model's savings: the first that leaves no
# hidden cell of the transition matrix to be worked out wins (1 øre: no rounding at all).
SAVING_UNITS = (1, 1_000_00, 10_000_00, 100_000_00, 1_000_000_00, 10_000_000_00)


def movement_labels() -> dict[str, str]:
    return {"worse": _("Dårligere"), "same": _("Uendret"), "better": _("Bedre")}


@dataclass
class Matrix:
    """A transition matrix (intake → now) with margins and movement counts, suppressed."""

    title: str
    figures: dict
    table: Table
    status: dict

    def cell(self, intake: int, now: int) -> Figure:
        return self.figures[(intake, now)]

    def intake(self, level: int) -> Figure:
        return self.figures[("row", level)]

    def now(self, level: int) -> Figure:
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
    follow_ups: list[ShareRow]
    spend_by_theme: MoneyTable
    spend_by_category: MoneyTable
    spend_by_agency: MoneyTable
    movement_families: dict
    movement_spend: dict
    spend_per_family: int | None  # øre
    benefit: BenefitView

    @property
    def empty(self) -> bool:
        return self.data.families == 0

    @property
    def too_few(self) -> bool:
        return 0 < self.data.families < self.threshold


# --- the pieces ---------------------------------------------------------------------------------

def flow_figures(data: OutcomeData, threshold: int) -> dict:
    """Families by state at the end of the period; closed ones by reason. Keys: 'referred',
    'active', ('closed', reason), 'closed', 'total'."""
    values: dict[Hashable, int] = {"referred": 0, "active": 0, **{("closed", r): 0 for r in CLOSE_REASONS}}
    for state, reason, families, _referred, _started in data.flow:
        key = ("closed", reason) if state == "closed" else state
        values[key] = values.get(key, 0) + int(families)
    values["closed"] = sum(values[("closed", r)] for r in CLOSE_REASONS)
    values["total"] = values["referred"] + values["active"] + values["closed"]
    table = Table(values, [("closed", [("closed", r) for r in CLOSE_REASONS]),
                           ("total", ["referred", "active", "closed"])])
    return suppression.protect(table, threshold)


def single(value: int, threshold: int) -> Figure:
    """A count that stands alone (no sum ties it to another figure)."""
    return suppression.protect(Table({"n": value}, []), threshold)["n"]


def transition_table(cells: dict) -> Table:
    table = suppression.matrix_table(cells, LEVELS, LEVELS)
    groups: dict[str, list[tuple[int, int]]] = {"worse": [], "same": [], "better": []}
    for i in LEVELS:
        for j in LEVELS:
            groups["better" if j > i else "worse" if j < i else "same"].append((i, j))
    for kind, keys in groups.items():
        table.values[("move", kind)] = sum(table.values[k] for k in keys)
        table.add_sum(("move", kind), keys)
    table.add_sum("total", [("move", kind) for kind in MOVEMENTS])
    return table


def matrix(title: str, cells: dict, threshold: int) -> Matrix:
    table = transition_table(cells)
    status = suppression.decide(table, threshold)
    return Matrix(title, suppression.figures(table, threshold, status), table, status)


def share_row(label: str, yes: int, total: int, threshold: int) -> ShareRow:
    figures = suppression.protect_list({"yes": yes, "no": total - yes}, threshold)
    return ShareRow(label, figures["yes"], figures["no"], figures["total"])


def counted_share_row(label: str, counts: tuple[int, int], threshold: int) -> ShareRow:
    """A share row from a query's (families, of whom yes) pair."""
    total, yes = counts
    return share_row(label, yes, total, threshold)


def money_table(title: str, rows: list[tuple[object, str]], amounts: dict, threshold: int,
                total_families: int) -> MoneyTable:
    values = {key: amounts.get(key, (0, 0))[0] for key, _label in rows}
    families = {key: amounts.get(key, (0, 0))[1] for key, _label in rows}
    figures = suppression.protect_money(values, families, threshold, total_key="__total__",
                                        total_families=total_families)
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
                 agency_names: dict | None = None) -> BenefitView:
    view = BenefitView(assumption_set)
    if assumption_set is None:
        view.hidden_reason = _("Ingen forutsetninger for gevinstmodellen er lagt inn ennå.")
        return view
    families = overall.total.value
    if overall.total.hidden or families is None or families < threshold:
        view.hidden_reason = _("For få familier med vurderinger i utvalget til å beregne gevinst.")
        return view
    if spend_total.hidden:
        view.hidden_reason = _("Utbetalingene i utvalget kan ikke vises, og da heller ikke gevinsten.")
        return view
    assumptions = to_assumptions(assumption_set)
    paid_by_agency = {key: amount for key, (amount, _families) in data.spend_by_agency.items()}
    selection = benefit.Selection(
        transitions=data.transitions, spend_paid=data.paid,
        family_months=benefit.round_ore(Fraction(data.family_days * DAYS_PER_MONTH_DEN, DAYS_PER_MONTH_NUM)),
        spend_paid_by_agency=paid_by_agency)
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

def build(data: OutcomeData, threshold: int, *, assumption_set: AssumptionSet | None = None,
          success_rate=None, agency_names: dict | None = None) -> OutcomeReport:
    """Suppress and label every figure of the report."""
    agency_names = agency_names or {}
    overall = matrix(_("Samlet nivå"), data.transitions, threshold)
    themes = {code: matrix(str(THEME_BY_CODE[code].name), data.theme_transitions.get(code, {}), threshold)
              for code in THEME_CODES if code in data.theme_transitions}
    flow = flow_figures(data, threshold)
    ts = share_row(_("Nådde stabil"), data.reached_stable, data.started_below, threshold)
    median = (months_text(*data.median_days) if not ts.yes.hidden and data.reached_stable >= threshold
              and data.median_days[1] else None)
    milestones = [counted_share_row(_("%(months)s måneder etter start", months=m), data.milestones.get(m, (0, 0)),
                                    threshold) for m in MILESTONE_MONTHS]
    follow_ups = [counted_share_row(label, data.follow_ups.get(kind, (0, 0)), threshold)
                  for kind, label in (("follow_up_6", _("6 måneder etter avslutning")),
                                      ("follow_up_12", _("12 måneder etter avslutning")))]
    by_theme = money_table(_("Utbetalt per tema"), [(c, str(THEME_BY_CODE[c].name)) for c in THEME_CODES],
                           data.spend_by_theme, threshold, data.paid_families)
    by_category = money_table(_("Utbetalt per kategori"), [(c, str(CATEGORY_LABELS[c])) for c in SPEND_CATEGORIES],
                              data.spend_by_category, threshold, data.paid_families)
    agency_rows = [(key, agency_names.get(key, str(key))) for key in sorted(
        set(agency_names) | set(data.spend_by_agency), key=lambda k: agency_names.get(k, str(k)))]
    by_agency = money_table(_("Utbetalt per etat (delegerte midler)"), agency_rows, data.spend_by_agency,
                            threshold, data.paid_families)
    movement_money = suppression.protect_money(
        {k: data.movement_spend.get(k, (0, 0, 0))[1] for k in MOVEMENTS},
        {k: data.movement_spend.get(k, (0, 0, 0))[2] for k in MOVEMENTS}, threshold, total_key="__total__")
    families = flow["total"]
    per_family = None
    if not by_theme.total.hidden and not families.hidden and data.families:
        per_family = benefit.round_ore(Fraction(data.paid, data.families))
    return OutcomeReport(
        data=data, threshold=threshold, families=families, flow=flow,
        referred_in_period=single(sum(int(r[3] or 0) for r in data.flow), threshold),
        started_in_period=single(sum(int(r[4] or 0) for r in data.flow), threshold),
        overall=overall, themes=themes, milestones=milestones, time_to_stable=ts, median_months=median,
        follow_ups=follow_ups, spend_by_theme=by_theme, spend_by_category=by_category, spend_by_agency=by_agency,
        movement_families={k: overall.movement(k) for k in MOVEMENTS}, movement_spend=movement_money,
        spend_per_family=per_family,
        benefit=benefit_view(data, overall, by_theme.total, by_agency, assumption_set, threshold, success_rate,
                             agency_names))


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
    names = _level_names()
    spec = ReportTable(table_id, _("%(title)s: nivå ved inntak (rader) og nå (kolonner)", title=m.title),
                       [names[j] for j in LEVELS] + [_("I alt ved inntak")], row_header=_("Ved inntak"))
    for i in LEVELS:
        spec.rows.append((i, names[i], [m.cell(i, j) for j in LEVELS] + [m.intake(i)]))
    spec.rows.append(("total", _("I alt nå"), [m.now(j) for j in LEVELS] + [m.total]))
    return spec


def _share_table(table_id: str, title: str, rows: list[ShareRow], yes_label: str) -> ReportTable:
    spec = ReportTable(table_id, title, [yes_label, _("Ikke"), _("Familier"), _("Andel")])
    for index, row in enumerate(rows):
        spec.rows.append((index, row.label, [row.yes, row.no, row.total, row.share or suppression.HIDDEN]))
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
    movement.rows = [(k, labels[k], [report.movement_families[k], report.movement_spend[k]]) for k in MOVEMENTS]
    movement.rows.append(("total", _("I alt"), [report.overall.total, report.movement_spend["__total__"]]))
    result.append(movement)
    result.append(_share_table("milestones", _("Stabil eller bedre etter 6 og 12 måneder i laben"),
                               report.milestones, _("Stabil eller bedre")))
    stable = ReportTable("time_to_stable", _("Tid til første vurdering som stabil (familier som startet under "
                                              "stabil)"), [_("Verdi")])
    stable.rows = [("started_below", _("Startet under stabil"), [report.time_to_stable.total]),
                   ("reached", _("Har nådd stabil"), [report.time_to_stable.yes]),
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
    return result


def cell_text(cell) -> str:
    return cell.text if isinstance(cell, Figure) else str(cell)


def cell_json(cell):
    return cell.json if isinstance(cell, Figure) else str(cell)
