"""Predicted versus actual (issue 14): what the money does.

For every spend paid in the period to a family of the outcome report's selection, the level change
it was meant to bring on its theme is set against the change that followed within 6 months of the
payment, and the families are counted by category and by theme.

The rule, in plain words (``docs/reports.md``, *Forventet og faktisk endring*):

* **The prediction** is the request's ``expected_level_change`` (0: hold the level, 1–3 levels up,
  within 6 months of payment). A request without one — older requests, or left blank — reads the
  hoped-for change ``level_to − level_from`` when the level now was given; otherwise it has none.
* **Before**: the team's rating of the family on the spend's theme in the family's latest current
  assessment on or before the day of payment (else the request's own ``level_from``).
* **After**: the team's rating on the theme in the latest current assessment *after* the payment
  and within 6 calendar months of it (and by the end of the period, so a report of a past quarter
  reads only what was known by then).
* **Reached**: after − before ≥ the prediction; **fewer**: less than predicted; **unknown**: no
  rating after (not yet, or never), or no level before; **without prediction**: none stated.
* **The unit is the family**, as everywhere in the report: per category (and per theme) a family
  counts once, by its first spend of that category paid in the period (the earliest payment, then
  the lowest id); the row *Alle* counts each family once by its first paid spend of all. So every
  row adds up to the families paid in it, and a family with three spends in a category does not
  weigh three times.

Counted in the database (one aggregate statement, run with ``outcome.execute_all``, the same on
SQLite and PostgreSQL), with the enrolment's record key summed beside every count; published like
the family tables: the cell-key method (``reports.cellkey``), primary and secondary suppression of
each table as a whole (``reports.suppression``).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import CompoundSelect, Select, case, func, literal, literal_column, select, union_all

from velferdslab.budget.forms import CATEGORY_LABELS
from velferdslab.budget.models import SPEND_CATEGORIES, SpendRequest
from velferdslab.cases.journey.models import JourneyAssessment, ThemeRating
from velferdslab.cases.themes import THEME_BY_CODE, THEME_CODES
from velferdslab.reports import cellkey, figures, suppression
from velferdslab.reports.cellkey import record_key
from velferdslab.reports.outcome import (
    OutcomeFilter,
    add_months,
    built,
    current_version,
    execute_all,
    paid_conditions,
    selection,
)
from velferdslab.reports.suppression import Table

WINDOW_MONTHS = 6
OUTCOMES = ("reached", "fewer", "unknown", "no_prediction")
GROUPINGS = ("category", "theme")
ALL = "all"


def outcome_labels() -> dict[str, str]:
    return {"reached": _("Nådde forventet endring eller mer"), "fewer": _("Mindre enn forventet"),
            "unknown": _("Ukjent (ingen vurdering etter)"), "no_prediction": _("Uten forventet endring"),
            "total": _("Familier med utbetaling")}


def _rating(f: OutcomeFilter, spend, end, *, after: bool):
    """SQL: the team's rating of the family on the spend's theme — the latest on or before the
    payment, or (``after``) the latest in the 6 months after it (and by the end of the period)."""
    r, a = ThemeRating.__table__, JourneyAssessment.__table__
    conditions = [a.c.family_id == spend.c.family_id, current_version(f, a), r.c.theme == spend.c.theme,
                  r.c.perspective == "team", r.c.subject_member_id.is_(None)]
    if after:
        conditions += [a.c.assessed_on > spend.c.paid_on,
                       a.c.assessed_on <= add_months(spend.c.paid_on, literal_column(str(WINDOW_MONTHS))),
                       a.c.assessed_on <= end]
    else:
        conditions.append(a.c.assessed_on <= spend.c.paid_on)
    return (select(r.c.level).select_from(r.join(a, a.c.id == r.c.assessment_id)).where(*conditions)
            .order_by(a.c.assessed_on.desc(), a.c.id.desc()).limit(1).scalar_subquery())


def _spends(f: OutcomeFilter):
    """One row per paid spend of the selection in the period: its family's enrolment, category,
    theme, and outcome (:data:`OUTCOMES`)."""
    s = SpendRequest.__table__
    sel = selection(f)
    conditions = paid_conditions(f, s)
    if f.theme is not None:
        conditions.append(s.c.theme == f.theme)
    predicted = func.coalesce(s.c.expected_level_change,
                              case((s.c.level_from.is_not(None), s.c.level_to - s.c.level_from), else_=None))
    paid = (select(s.c.id, s.c.family_id, sel.c.id.label("enrolment_id"), s.c.theme, s.c.category, s.c.paid_on,
                   s.c.level_from, predicted.label("predicted"))
            .join(sel, sel.c.family_id == s.c.family_id).where(*conditions).subquery("paid"))
    before = func.coalesce(_rating(f, paid, f.end, after=False), paid.c.level_from)
    after = _rating(f, paid, f.end, after=True)
    rated = (select(paid.c.id, paid.c.enrolment_id, paid.c.theme, paid.c.category, paid.c.paid_on,
                    paid.c.predicted, before.label("before"), after.label("after"))
             # MATERIALIZED: each rating looked up once per spend. Inlined, PostgreSQL ran the "after"
             # lookup once for every use of it in the outcome below (twice per spend), and the
             # statement's estimated cost crossed jit_above_cost: ~300 ms of JIT compilation a page.
             .cte("rated").prefix_with("MATERIALIZED"))
    result = case((rated.c.predicted.is_(None), "no_prediction"),
                  (rated.c.before.is_(None) | rated.c.after.is_(None), "unknown"),
                  (rated.c.after - rated.c.before >= rated.c.predicted, "reached"), else_="fewer")
    return (select(rated.c.id, rated.c.enrolment_id, rated.c.theme, rated.c.category, rated.c.paid_on,
                   result.label("outcome"))
            .cte("effects").prefix_with("MATERIALIZED"))


def _grouped(spends, grouping: str | None) -> Select:
    """Families by (row, outcome): each family once per row, by its first paid spend in it."""
    partition = (spends.c.enrolment_id, spends.c[grouping]) if grouping else (spends.c.enrolment_id,)
    row = spends.c[grouping] if grouping else literal(ALL)
    first = (select(row.label("row"), spends.c.outcome, spends.c.enrolment_id,
                    func.row_number().over(partition_by=partition, order_by=(spends.c.paid_on, spends.c.id))
                    .label("rk"))
             .subquery(f"first_{grouping or ALL}"))
    return (select(literal(grouping or ALL).label("grouping"), first.c.row, first.c.outcome,
                   func.count().label("families"), func.sum(record_key(first.c.enrolment_id)).label("key"))
            .where(first.c.rk == 1).group_by(first.c.row, first.c.outcome))


def query(f: OutcomeFilter) -> CompoundSelect:
    """The section's one statement: per category, per theme and over all, from one pass over the
    paid spends (the ``effects`` CTE, computed once)."""
    spends = _spends(f)
    return union_all(*[_grouped(spends, grouping) for grouping in (*GROUPINGS, None)])


def queries(f: OutcomeFilter) -> dict[str, Select | CompoundSelect]:
    """The section's statements by name (for the benchmark, like ``outcome.queries``; kept like
    them: ``outcome.built``)."""
    return built(("effects", f), lambda: {"effects": query(f)})


@dataclass
class EffectData:
    """The raw counts: {grouping: {(row, outcome): (families, key)}}, ``ALL`` rows under "all"."""

    counts: dict[str, dict[tuple, tuple[int, int]]] = field(default_factory=dict)

    @property
    def families(self) -> int:
        return sum(n for n, _key in self.counts.get(ALL, {}).values())


def run(f: OutcomeFilter) -> EffectData:
    data = EffectData(counts={grouping: {} for grouping in (*GROUPINGS, ALL)})
    for r in execute_all(queries(f), f)["effects"]:
        data.counts[r.grouping][(r.row, r.outcome)] = (int(r.families), int(r.key or 0))
    return data


def table(data: EffectData, grouping: str) -> Table:
    """One grouping's table: per row the four outcomes and their total (the families paid in it),
    and the row *Alle* the same over all spends; each row a sum, with the cell keys."""
    rows = [*(SPEND_CATEGORIES if grouping == "category" else THEME_CODES), ALL]
    counts = {**data.counts.get(grouping, {}), **data.counts.get(ALL, {})}
    values: dict[Hashable, int] = {}
    keys: dict[Hashable, int] = {}
    result = Table(values, [])
    for row in rows:
        for outcome in OUTCOMES:
            n, key = counts.get((row, outcome), (0, 0))
            values[(row, outcome)], keys[(row, outcome)] = n, key % cellkey.MODULUS
        values[(row, "total")] = sum(values[(row, o)] for o in OUTCOMES)
        keys[(row, "total")] = sum(keys[(row, o)] for o in OUTCOMES) % cellkey.MODULUS
        result.add_sum((row, "total"), [(row, o) for o in OUTCOMES])
    result.keys = keys
    return result


@dataclass
class EffectReport:
    threshold: int
    cells: dict[str, dict]  # grouping → {(row, column): Figure}
    data: EffectData
    perturbed: bool = False

    def tables(self) -> list[figures.ReportTable]:
        labels = outcome_labels()
        columns = [*OUTCOMES, "total"]
        specs = []
        for grouping, title, names in (
                ("category", _("Forventet og faktisk endring per kategori (familier med utbetaling i perioden)"),
                 {c: str(CATEGORY_LABELS[c]) for c in SPEND_CATEGORIES}),
                ("theme", _("Forventet og faktisk endring per tema (familier med utbetaling i perioden)"),
                 {c: str(THEME_BY_CODE[c].name) for c in THEME_CODES})):
            spec = figures.ReportTable(f"effects_{grouping}", title, [labels[c] for c in columns])
            cells = self.cells[grouping]
            for row, name in [*names.items(), (ALL, _("Alle"))]:
                spec.rows.append((row, name, [cells[(row, c)] for c in columns]))
            specs.append(spec)
        return specs


def build(data: EffectData, threshold: int, noise: bool = False) -> EffectReport:
    """Each grouping's table perturbed (``noise``: the cell-key method) and suppressed as a whole."""
    published = {}
    for grouping in GROUPINGS:
        t = figures.perturb(table(data, grouping), threshold, on=noise)
        published[grouping] = suppression.figures(t, threshold, suppression.decide(t, threshold))
    return EffectReport(threshold, published, data, perturbed=noise)


def report(f: OutcomeFilter, threshold: int, noise: bool) -> EffectReport:
    return build(run(f), threshold, noise)
