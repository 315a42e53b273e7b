"""Reading the outcome report: built and put on record in one call (the read audit lives here,
not in the handlers), for the page, its PDF and CSV, and the API alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from flask import current_app
from flask_login import current_user
from sqlalchemy import select

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction, Purpose
from velferdslab.auth.models import Agency, Lab
from velferdslab.extensions import db
from velferdslab.reports import effects, figures, outcome, releases, summary
from velferdslab.reports.models import AssumptionSet


def period(start: date | None, end: date | None, as_of: date | None, today: date) -> tuple[date, date]:
    """The period a report covers, from what was asked (each may be None): whole quarters
    (``outcome.reporting_period``); with the cell key on, closed and published quarters only
    (``reports.releases``), by default the year of the last one up to it. ``as_of`` (the report as
    read that day) stands in for today. Raises ``ServiceError`` naming the field at fault."""
    from flask_babel import gettext as _

    from velferdslab.core.errors import ServiceError
    from velferdslab.core.i18n import local_date

    if as_of is not None and as_of > today:
        raise ServiceError(_("Datoen kan ikke være fram i tid."), "as_of")
    today = as_of or today  # the report as it was read that day: its default period and its "today"
    last = releases.last_published(today) if releases.enabled() else today
    start, end = start or date(last.year, 1, 1), end or last
    if start > end:
        raise ServiceError(_("Perioden er tom: fra-datoen er etter til-datoen."), "end")
    start, end = outcome.reporting_period(start, end, last)
    if start > end:
        if releases.enabled():
            raise ServiceError(_("Perioden begynner etter det siste publiserte kvartalet, som endte %(day)s. "
                                 "Et kvartal publiseres %(days)s dager etter at det er over.",
                                 day=local_date(last), days=releases.lag()), "start")
        raise ServiceError(_("Perioden begynner etter i dag."), "start")
    return start, end


def published(f: outcome.OutcomeFilter) -> outcome.OutcomeFilter:
    """``f`` (its period from :func:`period`) as a reader gets it: with the cell key on, the
    published release of its last quarter (``reports.releases``); else the live report."""
    return releases.publish(f) if releases.enabled() else f


def lab_agencies() -> list[Agency]:
    return list(db.session.scalars(select(Agency).where(Agency.lab_id == current_user.lab_id).order_by(Agency.name)))


@outcome.report_connection()  # the report and its effects section: custom plans set once
def build_outcome(f: outcome.OutcomeFilter, assumption_set: AssumptionSet | None, success_rate: Decimal | None,
                  agencies: list[Agency], *, themes: bool = True) -> figures.OutcomeReport:
    """The report for ``f``, suppressed as configured: the one protected path (not audited here).
    ``themes=False`` leaves the per-theme matrices out (they are protected each on their own, so the
    rest of the report is the same without them); the quarterly trend needs only the overall level."""
    data = outcome.run(f)
    if not themes:
        data = replace(data, theme_transitions={})
    report = figures.build(data, current_app.config["SUPPRESSION_THRESHOLD"], assumption_set=assumption_set,
                           success_rate=success_rate, agency_names={a.id: a.name for a in agencies},
                           noise=bool(current_app.config.get("REPORT_CELL_KEY", True)))
    if themes:  # predicted versus actual (reports.effects): not needed by the trend or the start page
        report.extra_tables = effects.report(f, report.threshold, report.perturbed).tables()
    return report


def _record(f: outcome.OutcomeFilter, action: AuditAction, fmt: str, **extra) -> None:
    audit.record(action, object_type="report", object_id="outcome", purpose=Purpose.OUTCOME_REPORT,
                 summary={**f.as_dict(), "format": fmt, **extra})


def read_outcome(f: outcome.OutcomeFilter, assumption_set: AssumptionSet | None, success_rate: Decimal | None,
                 agencies: list[Agency], *, action: AuditAction, fmt: str) -> figures.OutcomeReport:
    """The report for ``f`` (suppressed as configured), recorded as read in ``fmt``."""
    report = build_outcome(f, assumption_set, success_rate, agencies)
    _record(f, action, fmt)
    return report


def agencies_of(labs: list[Lab]) -> list[Agency]:
    """The agencies of several labs (the report across labs), named with their lab."""
    rows = list(db.session.scalars(select(Agency).where(Agency.lab_id.in_([lab.id for lab in labs]))
                                   .order_by(Agency.name)))
    names = {lab.id: lab.name for lab in labs}
    return [Agency(id=a.id, lab_id=a.lab_id, name=f"{a.name} ({names[a.lab_id]})", kind=a.kind) for a in rows]


def read_across_labs(f: outcome.OutcomeFilter, labs: list[Lab], *, action: AuditAction,
                     fmt: str) -> figures.OutcomeReport:
    """The outcome report over several labs (``f.lab_ids``) as one selection, protected as any
    report (the cell keys are per enrolment), recorded as read. The benefit model rests on each
    lab's own assumption set, so it is not computed across labs."""
    from flask_babel import gettext as _

    assert f.lab_ids, "a report across labs names its labs"
    report = build_outcome(f, None, None, agencies_of(labs))
    report.benefit.hidden_reason = _("Gevinstmodellen regnes for hver lab med labens egne forutsetninger, og vises "
                                     "ikke for flere laber samlet.")
    _record(f, action, fmt, across_labs=True)
    return report


def money_left(user) -> tuple[tuple[int, int, int | None] | None, str | None]:
    """(budget year, left, None) of the user's lab from what the budget overview and allocation screen show, for the
    summary — only for users who see that overview anyway (``budget.manage``); else (None, why)."""
    from flask_babel import gettext as _

    from velferdslab.budget import queries as budget

    if not user.has_permission("budget.manage"):
        return None, _("Det som er igjen av budsjettet, vises bare for dem som forvalter budsjettet.")
    year = budget.current_year()
    # What management itself sees (issue 14, leak 5): the pool not yet allocated and what the listed
    # families have unused — never a lab-wide figure that includes restricted or erased families.
    unallocated = budget.pool_overview(user.lab_id, year).agency_total.unallocated
    left = unallocated + budget.allocations_available(user.lab_id, year)
    return (year, left, None), None


@outcome.report_connection()  # every quarter on one report connection: custom plans set once
def quarter_trend(f: outcome.OutcomeFilter, agencies: list[Agency]) -> list[summary.QuarterPoint]:
    """The share at *stabil* or better now, per quarter, for the last quarters up to ``f.end`` (same
    filters): each quarter's report is built and protected like any report of that quarter."""
    points = []
    for start, end in summary.last_quarters(f.end):
        # a quarter of the trend is that quarter's own release, as a reader asking for it gets it
        quarter = published(replace(f, start=start, end=end, as_of=None, release=None, held_back=None)
                            ) if f.release is not None else replace(f, start=start, end=end)
        if quarter.held_back is not None:  # held back for this selection: no point for it yet
            continue
        report = trend_counts(quarter)
        points.append(summary.QuarterPoint(summary.quarter_label(start), start, end, summary.stable_now(report)))
    return points


def trend_counts(f: outcome.OutcomeFilter) -> figures.LinkedCounts:
    """What the trend reads of a quarter's report: its overall matrix and movement counts, as
    :func:`build_outcome` publishes them, from the three statements they are made of (not eleven)."""
    data = outcome.run(f, outcome.TREND_STATEMENTS)
    return figures.linked_counts(data, current_app.config["SUPPRESSION_THRESHOLD"],
                                 noise=bool(current_app.config.get("REPORT_CELL_KEY", True)))


def read_summary(f: outcome.OutcomeFilter, assumption_set: AssumptionSet | None, success_rate: Decimal | None,
                 agencies: list[Agency], *, action: AuditAction, fmt: str,
                 trend: bool = True,
                 themes: bool = True) -> tuple[figures.OutcomeReport, summary.Summary, list[summary.QuarterPoint]]:
    """The report with its one-page summary (and the quarterly trend), recorded as read once in ``fmt``
    (with the quarters the trend covers). ``themes=False``: without the per-theme matrices (the
    summary does not use them; the start page needs nothing else)."""
    with outcome.report_connection():  # the report and its trend: custom plans set once
        return _read_summary(f, assumption_set, success_rate, agencies, action=action, fmt=fmt, trend=trend,
                             themes=themes)


def _read_summary(f: outcome.OutcomeFilter, assumption_set: AssumptionSet | None, success_rate: Decimal | None,
                  agencies: list[Agency], *, action: AuditAction, fmt: str, trend: bool,
                  themes: bool) -> tuple[figures.OutcomeReport, summary.Summary, list[summary.QuarterPoint]]:
    report = build_outcome(f, assumption_set, success_rate, agencies, themes=themes)
    if f.as_of is not None and f.release is None:  # the budget's figure is today's, not a past day's
        from flask_babel import gettext as _

        left, reason = None, _("Det som er igjen av budsjettet, vises bare for i dag, ikke per en tidligere dato.")
    else:
        left, reason = money_left(current_user)
    result = summary.build(report, money_left=left, left_reason=reason)
    points = quarter_trend(f, agencies) if trend and not report.empty else []
    _record(f, action, fmt, summary=True,
            trend_quarters=[[p.start.isoformat(), p.end.isoformat()] for p in points])
    return report, result, points


def prepare(lab: Lab, today: date) -> bool:
    """Compute the lab's default report of the last published quarter — what its start page and
    report page read without a filter: the report, predicted versus actual, the per-person section
    and the quarterly trend — so that its rows are kept (``reports.snapshots``) before the first
    manager asks (``velferdslab report-publish``, from cron). Needs a request context (the release
    memo lives in ``flask.g``). False when there is nothing to keep: the cell key is off, keeping
    is off, or the quarter's release instant has not settled yet (run it again later)."""
    from velferdslab.reports import persons, snapshots

    start, end = period(None, None, None, today)
    f = published(outcome.OutcomeFilter(lab_id=lab.id, start=start, end=end))
    if not snapshots.frozen(f):
        return False
    agencies = list(db.session.scalars(select(Agency).where(Agency.lab_id == lab.id)))
    with outcome.report_connection():
        report = build_outcome(f, None, None, agencies)
        if not report.empty:
            persons.report(f)
            quarter_trend(f, agencies)
    return True
