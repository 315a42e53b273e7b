"""The one-page summary of the outcome report (issue 14): a few sentences and key figures for a
municipal director, on top of the report and on management's start page.

Every number here is a protected figure of :class:`figures.OutcomeReport` (a ``Figure`` whose
``text`` is the number or its mark), or a sum of shown figures. Nothing is recomputed from the raw
aggregates: where the report hides a figure, the summary prints the same mark ("<5", "×") and
says in plain words why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _

from velferdslab.cases.themes import LEVELS, STABIL
from velferdslab.reports import figures, outcome, suppression
from velferdslab.reports.suppression import Figure

# The quarters the trend chart covers (the last one is the quarter under way).
TREND_QUARTERS = 6


@dataclass
class StableNow:
    """Families at *stabil* or better now, of the families with an assessment; and those without."""

    yes: Figure
    assessed: Figure
    unknown: Figure

    @property
    def share(self) -> str | None:
        return _share(self.yes, self.assessed)


@dataclass
class Money:
    spent: Figure  # paid in the report's period (the report's protected total)
    left: int | None = None  # øre not yet committed or paid in the budget year, or None (see reason)
    committed: int | None = None
    year: int | None = None
    left_reason: str | None = None


@dataclass
class BenefitLine:
    net_benefit: int | None = None  # øre, rounded as on the report
    low: int | None = None  # the range of the net benefit over the sensitivity tables' rates
    high: int | None = None
    horizon_years: int | None = None
    hidden_reason: str | None = None


@dataclass
class Summary:
    report: figures.OutcomeReport
    families: Figure
    active: Figure
    referred: Figure
    closed: Figure
    stable_now: StableNow
    milestones: list[figures.ShareRow]
    follow_ups: list[figures.ShareRow]
    money: Money
    benefit: BenefitLine
    sentences: list[str] = field(default_factory=list)

    @property
    def has_hidden(self) -> bool:
        return any(f.hidden for f in self._figures())

    def _figures(self) -> list[Figure]:
        rows = [*self.milestones, *self.follow_ups]
        return [self.families, self.active, self.referred, self.closed, self.stable_now.yes,
                self.stable_now.assessed, self.stable_now.unknown, self.money.spent,
                *[f for r in rows for f in (r.yes, r.total)]]


def _share(yes: Figure, total: Figure) -> str | None:
    """A share only from shown figures (the rest, total − yes, is then a difference of shown figures)."""
    if yes.hidden or total.hidden or yes.value is None or not total.value:
        return None
    return suppression.percent(yes.value, total.value)


def sum_shown(parts: list[Figure]) -> Figure:
    """The sum of protected figures: shown only when every part is shown (else "×"), so it tells a
    reader nothing the parts do not."""
    if any(p.hidden or p.value is None for p in parts):
        return Figure(None, suppression.SECONDARY, suppression.HIDDEN)
    return suppression.shown(sum(p.value for p in parts if p.value is not None))


def stable_now(report: figures.OutcomeReport | figures.LinkedCounts) -> StableNow:
    """At *stabil* or better now: the matrix's "now" margins from *stabil* up (or the total minus
    those below, when that is what is shown); the families without an assessment are unknown."""
    overall = report.overall
    above = sum_shown([overall.now(level) for level in LEVELS if level >= STABIL])
    if above.hidden:
        below = sum_shown([overall.now(level) for level in LEVELS if level < STABIL])
        if not below.hidden and not overall.total.hidden and overall.total.value is not None \
                and below.value is not None:
            difference = overall.total.value - below.value
            # A difference of published (perturbed) figures below the threshold is not shown as a
            # small count, as no published count is (1-4 is "<5"): hidden, like any derived cell.
            above = (suppression.shown(difference) if difference <= 0 or difference >= report.threshold
                     else Figure(None, suppression.SECONDARY, suppression.HIDDEN))
    return StableNow(above, overall.total, report.movement_families.get("unassessed", overall.total))


def benefit_line(report: figures.OutcomeReport) -> BenefitLine:
    view = report.benefit
    if view.result is None:
        return BenefitLine(hidden_reason=view.hidden_reason)
    result = view.result
    # Realised net benefit (no more families succeeding: s = 0) under each rate the sensitivity
    # tables try (discount rate ± 2 points, deadweight ± 10 points).
    values = [int(v) for table in result.sensitivity for rate, row in table.rows if rate == 0 for v in row]
    return BenefitLine(net_benefit=result.net_benefit, low=min(values) if values else None,
                       high=max(values) if values else None, horizon_years=result.assumptions.horizon_years)


def build(report: figures.OutcomeReport, *, money_left: tuple[int, int, int | None] | None = None,
          left_reason: str | None = None) -> Summary:
    """The summary of ``report``. ``money_left`` is (year, left, committed) from the budget, or None
    with ``left_reason`` saying why it is not shown."""
    money = Money(report.spend_by_theme.total)
    if money_left is not None and not money.spent.hidden:
        money.year, money.left, money.committed = money_left
    else:
        money.left_reason = left_reason or _("Utbetalingene i utvalget er skjult, så det som er igjen vises ikke.")
    summary = Summary(report=report, families=report.flow["total"], active=report.flow["active"],
                      referred=report.flow["referred"], closed=report.flow["closed"], stable_now=stable_now(report),
                      milestones=report.milestones, follow_ups=report.follow_ups, money=money,
                      benefit=benefit_line(report))
    summary.sentences = sentences(summary)
    return summary


def sentences(s: Summary) -> list[str]:
    """The summary in a few plain sentences, every number a protected figure's text."""
    from velferdslab.core.money import format_nok

    out = [_("%(families)s familier er med: %(active)s aktive, %(referred)s henvist og ikke startet ennå, "
             "%(closed)s avsluttet.", families=s.families.text, active=s.active.text, referred=s.referred.text,
             closed=s.closed.text)]
    now = s.stable_now
    if now.share is not None:
        out.append(_("%(yes)s av %(assessed)s familier med inntaksvurdering (%(share)s) er nå stabile eller "
                     "bedre; %(unknown)s har ingen inntaksvurdering ennå.", yes=now.yes.text,
                     assessed=now.assessed.text, share=now.share, unknown=now.unknown.text))
    else:
        out.append(_("Hvor mange som nå er stabile eller bedre, er skjult i dette utvalget (%(yes)s av "
                     "%(assessed)s med inntaksvurdering); %(unknown)s har ingen inntaksvurdering ennå.",
                     yes=now.yes.text, assessed=now.assessed.text, unknown=now.unknown.text))
    for months, row in zip(outcome.MILESTONE_MONTHS, s.milestones, strict=True):
        share = _share(row.yes, row.total)
        unknown = row.unknown.text if row.unknown is not None else "0"
        if share is not None:
            out.append(_("Etter %(months)s måneder i laben: %(yes)s av %(total)s (%(share)s) stabile eller bedre; "
                         "%(unknown)s av dem var ikke vurdert da.", months=months, yes=row.yes.text,
                         total=row.total.text, share=share, unknown=unknown))
        else:
            out.append(_("Etter %(months)s måneder i laben: %(yes)s av %(total)s stabile eller bedre (andelen er "
                         "skjult); %(unknown)s av dem var ikke vurdert da.", months=months, yes=row.yes.text,
                         total=row.total.text, unknown=unknown))
    held = s.follow_ups[0] if s.follow_ups else None
    if held is not None and held.total.value != 0:
        share = _share(held.yes, held.total)
        unknown = held.unknown.text if held.unknown is not None else "0"
        if share is not None:
            out.append(_("Etter avslutning holdt %(yes)s av %(total)s (%(share)s) seg stabile eller bedre ved "
                         "oppfølgingen etter 6 måneder; %(unknown)s av dem ble ikke fulgt opp.", yes=held.yes.text,
                         total=held.total.text, share=share, unknown=unknown))
        else:
            out.append(_("Etter avslutning holdt %(yes)s av %(total)s seg stabile eller bedre ved oppfølgingen "
                         "etter 6 måneder (andelen er skjult); %(unknown)s av dem ble ikke fulgt opp.",
                         yes=held.yes.text, total=held.total.text, unknown=unknown))
    money = s.money
    if money.left is not None:
        out.append(_("Utbetalt i perioden: %(spent)s. Igjen av budsjettet for %(year)s: %(left)s (ikke bundet).",
                     spent=money.spent.text, year=money.year, left=format_nok(money.left)))
    else:
        out.append(_("Utbetalt i perioden: %(spent)s.", spent=money.spent.text))
    b = s.benefit
    if b.net_benefit is not None:
        if b.low is not None and b.high is not None and b.low != b.high:
            out.append(_("Gevinstmodellen: netto gevinst %(net)s over %(years)s år, mellom %(low)s og %(high)s "
                         "med andre antakelser om rente og dødvekt.", net=format_nok(b.net_benefit),
                         years=b.horizon_years, low=format_nok(b.low), high=format_nok(b.high)))
        else:
            out.append(_("Gevinstmodellen: netto gevinst %(net)s over %(years)s år.", net=format_nok(b.net_benefit),
                         years=b.horizon_years))
    else:
        out.append(_("Gevinstmodellen vises ikke: %(reason)s", reason=b.hidden_reason or ""))
    return out


# --- trends by quarter --------------------------------------------------------------------------

@dataclass
class QuarterPoint:
    label: str
    start: date
    end: date
    stable_now: StableNow

    @property
    def percent(self) -> int | None:
        share = self.stable_now.share
        return int(share.removesuffix(" %")) if share is not None else None

    @property
    def text(self) -> str:
        """The share, or the mark of the figure that hides it ("<5" before "×")."""
        if self.stable_now.share is not None:
            return self.stable_now.share
        for figure in (self.stable_now.yes, self.stable_now.assessed):
            if figure.hidden:
                return figure.text
        return "–"  # no family with an assessment in the quarter


def last_quarters(today: date, count: int = TREND_QUARTERS) -> list[tuple[date, date]]:
    """The last ``count`` calendar quarters up to today (the last one is under way), oldest first."""
    quarters = []
    start = outcome.quarter_start(today)
    for _i in range(count):
        quarters.append((start, min(outcome.quarter_end(start), today)))
        previous = date(start.year - 1, 10, 1) if start.month == 1 else date(start.year, start.month - 3, 1)
        start = previous
    return list(reversed(quarters))


def quarter_label(start: date) -> str:
    return _("K%(quarter)s %(year)s", quarter=(start.month - 1) // 3 + 1, year=start.year)
