"""The outcome report's aggregate SQL: every figure is computed in the database.

:func:`queries` returns the statements (SQLAlchemy Core, the same on SQLite and PostgreSQL) by
name, so the benchmark can run exactly the report's SQL on its own; :func:`run` executes them and
returns the aggregate rows (a few dozen numbers, never a row per family). ``reports.figures``
turns those rows into the suppressed tables the pages show.

The unit is the **enrolment**: every enrolment that overlaps the period and matches the filters
counts, so a family referred again counts with both its enrolments (:func:`enrolments`); the
per-person section (``reports.persons``) keeps one enrolment per family (:func:`selection`). The
journey is the **team's** perspective: the overall level is the team's holistic judgement and theme
levels are the team's ratings, from the current version of each assessment. Follow-up assessments
are not "now"; they have their own figure. Families whose data is restricted (*sperret*) are left
out; erased families stay in, anonymous, as the erasure keeps levels, dates and amounts for
statistics.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction
from sqlalchemy.types import Date, Integer

from velferdslab.budget.models import LedgerAccount, LedgerTransfer, SpendRequest
from velferdslab.cases.enrolment.models import Enrolment
from velferdslab.cases.enrolment.services import FOLLOW_UP_MONTHS as FOLLOW_UP_DUE_MONTHS
from velferdslab.cases.enrolment.services import FOLLOW_UP_WINDOW_MONTHS
from velferdslab.cases.household.models import Family
from velferdslab.cases.journey.models import JourneyAssessment, ThemeRating
from velferdslab.cases.themes import STABIL
from velferdslab.core.models import UTCDateTime
from velferdslab.extensions import db
from velferdslab.reports.cellkey import KINDS, coefficients, record_key
from velferdslab.teams.models import InvestmentTeam, TeamMembership

PROGRESS_KINDS = ("intake", "regular")
FOLLOW_UP_KINDS = ("follow_up_6", "follow_up_12")
MILESTONE_MONTHS = (6, 12)
# A follow-up assessment counts (and may be recorded) only within FOLLOW_UP_WINDOW_MONTHS calendar
# months of its due date, closure + 6 or + 12 months (FOLLOW_UP_DUE_MONTHS).
DAYS_PER_MONTH_NUM, DAYS_PER_MONTH_DEN = 1461, 48  # 365.25 / 12 days: a mean calendar month


# --- date arithmetic that means the same on both databases ----------------------------------------

class add_months(GenericFunction):  # noqa: N801 - SQL function names are lower case
    """``date + n months``, on the month's last day when it is shorter (as PostgreSQL and
    ``cases.rules.add_months`` do). ``n`` is a literal integer from the code."""

    type = Date()
    inherit_cache = True


@compiles(add_months)
def _add_months_default(element, compiler, **kw):
    day, months = list(element.clauses)
    return f"CAST({compiler.process(day, **kw)} + make_interval(months => {compiler.process(months, **kw)}) AS DATE)"


@compiles(add_months, "sqlite")
def _add_months_sqlite(element, compiler, **kw):
    day, months = (compiler.process(c, **kw) for c in element.clauses)
    same_day = (f"date({day}, 'start of month', '+' || ({months}) || ' months', "
                f"'+' || (CAST(strftime('%d', {day}) AS INTEGER) - 1) || ' days')")
    month_end = f"date({day}, 'start of month', '+' || (({months}) + 1) || ' months', '-1 day')"
    return f"min({same_day}, {month_end})"


class days_between(GenericFunction):  # noqa: N801
    """Whole days from the second date to the first."""

    type = Integer()
    inherit_cache = True


@compiles(days_between)
def _days_between_default(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"({later} - {earlier})"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def _smaller(a, b):
    return case((a < b, a), else_=b)


def _larger(a, b):
    return case((a > b, a), else_=b)


# --- the selection ------------------------------------------------------------------------------

@dataclass(frozen=True)
class OutcomeFilter:
    """What the report covers. ``end`` is inclusive. All filters are within one lab — or, with
    ``lab_ids``, within those labs together (the report across labs; ``lab_id`` is then ignored)."""

    lab_id: int
    start: date
    end: date
    cohort: int | None = None  # the year the enrolment started (or was referred, if not started)
    agency_id: int | None = None  # an agency that had a member on the family's team
    theme: str | None = None  # families with the theme rated; spend on that theme only
    # The report as it stood at the end of this day (Europe/Oslo; or at this instant, a datetime):
    # only what had been recorded by then counts (``as_of_cutoff``); None: as recorded now.
    as_of: date | datetime | None = None
    lab_ids: tuple[int, ...] = ()
    # A published release (``reports.releases``): the end of the quarter it publishes (``as_of`` is
    # then its release instant), and the later quarter asked for when that one is held back.
    release: date | None = None
    held_back: date | None = None

    def as_dict(self) -> dict:
        body: dict[str, Any] = {"start": self.start.isoformat(), "end": self.end.isoformat(),
                                "cohort": self.cohort, "agency_id": self.agency_id, "theme": self.theme,
                                "as_of": self.as_of.isoformat() if self.as_of else None}
        if self.lab_ids:
            body["lab_ids"] = list(self.lab_ids)
        if self.release is not None:
            body["release"] = self.release.isoformat()
            body["held_back"] = self.held_back.isoformat() if self.held_back else None
        return body

    def in_labs(self, column):
        """SQL: ``column`` (a lab id) is one of the labs the report covers."""
        return column.in_(self.lab_ids) if self.lab_ids else column == self.lab_id


def as_of_cutoff(day: date) -> datetime:
    """The instant an as-of day ends: the next midnight in Europe/Oslo, in UTC (storage time)."""
    from datetime import UTC

    from velferdslab.core.models import OSLO

    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=OSLO).astimezone(UTC)


# --- what had been recorded by the as-of date ---------------------------------------------------

def _cutoff(f: OutcomeFilter):
    if f.as_of is None:
        return None
    instant = f.as_of if isinstance(f.as_of, datetime) else as_of_cutoff(f.as_of)
    return literal(instant, UTCDateTime())


def as_of_instant(f: OutcomeFilter):
    """SQL literal: the instant the report's as-of date ends (only with ``f.as_of``)."""
    return _cutoff(f)


def _as_of_day(f: OutcomeFilter) -> date:
    assert f.as_of is not None
    if isinstance(f.as_of, datetime):
        from velferdslab.core.models import OSLO

        return f.as_of.astimezone(OSLO).date()
    return f.as_of


def _current(f: OutcomeFilter, a):
    """The version of each assessment the report reads: the current one; with an as-of date, the
    one that was current then (recorded by then, and not yet superseded by a version recorded by
    then). ``a`` is the assessment table or an alias of it."""
    if f.as_of is None:
        return a.c.is_current.is_(True)
    cutoff = _cutoff(f)
    later = JourneyAssessment.__table__.alias("later_version")
    # A version current now was never superseded; only the others need the look for a correction
    # recorded by then (most rows are current: the look runs for few, as the report always reads
    # as of a release instant).
    return and_(a.c.created_at < cutoff,
                or_(a.c.is_current.is_(True),
                    ~exists(select(literal(1)).where(later.c.supersedes_id == a.c.id, later.c.created_at < cutoff))))


def _recorded(f: OutcomeFilter, day, recorded_at):
    """``day`` (a start or closure date) if it had been recorded by the as-of date: by its recorded
    time, or — rows from before those times were kept — by the day itself."""
    if f.as_of is None:
        return day
    known = or_(recorded_at < _cutoff(f), and_(recorded_at.is_(None), day <= _as_of_day(f)))
    return case((known, day), else_=None)


def _started(f: OutcomeFilter, e):
    return _recorded(f, e.c.started_on, e.c.started_at)


def _closed(f: OutcomeFilter, e):
    return _recorded(f, e.c.closed_on, e.c.closed_at)


def _unrestricted(f: OutcomeFilter):
    """SQL: the family is not restricted (*sperret*) — as of the as-of date: a restriction recorded
    later leaves a report of an earlier day as it was (``reports.releases``: taking the family out
    of a published quarter would make two readings differ by exactly that family)."""
    if f.as_of is None:
        return Family.restricted_at.is_(None)
    return or_(Family.restricted_at.is_(None), Family.restricted_at >= _cutoff(f))


def current_version(f: OutcomeFilter, a):
    """SQL: the version of each assessment the report reads (see ``_current``), for the sections
    built outside this module (``reports.effects``, ``reports.persons``)."""
    return _current(f, a)


def paid_conditions(f: OutcomeFilter, s) -> list:
    """SQL: spend request ``s`` (the table) was paid within the period — as recorded by the as-of
    date: its payment transfer recorded by then, and not reversed by then."""
    conditions = [f.in_labs(s.c.lab_id), s.c.paid_on.between(f.start, f.end)]
    if f.as_of is None:
        conditions.append(s.c.status == "paid")
    else:
        t = LedgerTransfer.__table__

        def transfer(kind: str):
            return exists(select(literal(1)).where(t.c.spend_request_id == s.c.id, t.c.kind == kind,
                                                   t.c.created_at < _cutoff(f)))

        conditions += [s.c.status.in_(("paid", "cancelled")), transfer("payment"), ~transfer("payment_reversal")]
    return conditions


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def quarter_end(day: date) -> date:
    last_month = 3 * ((day.month - 1) // 3) + 3
    following = date(day.year + 1, 1, 1) if last_month == 12 else date(day.year, last_month + 1, 1)
    return following - timedelta(days=1)


def reporting_period(start: date, end: date, today: date) -> tuple[date, date]:
    """The period a report may cover: whole calendar quarters, the last one up to today at most.

    Two reports whose ends are a few days apart would differ by the few families that changed in
    between, and their difference would give those families away; so the start moves back to the
    first day of its quarter and the end forward to the last day of its quarter (or today, for the
    quarter under way). Every request in one quarter reads the same figures."""
    return quarter_start(start), min(quarter_end(end), today)


def _conditions(f: OutcomeFilter, e) -> list:
    """The filters, on an alias ``e`` of the enrolment table."""
    closed = _closed(f, e)
    conditions = [f.in_labs(e.c.lab_id), e.c.referred_on <= f.end,
                  or_(closed.is_(None), closed >= f.start),
                  exists(select(literal(1)).where(Family.id == e.c.family_id, _unrestricted(f)))]
    if f.as_of is not None:
        conditions.append(e.c.created_at < _cutoff(f))
    if f.cohort is not None:
        conditions.append(func.coalesce(_started(f, e), e.c.referred_on)
                          .between(date(f.cohort, 1, 1), date(f.cohort, 12, 31)))
    if f.agency_id is not None:
        membership = [InvestmentTeam.enrolment_id == e.c.id, TeamMembership.agency_id == f.agency_id]
        if f.as_of is not None:
            membership.append(TeamMembership.created_at < _cutoff(f))
        conditions.append(exists(
            select(literal(1)).select_from(TeamMembership.__table__.join(
                InvestmentTeam.__table__, InvestmentTeam.id == TeamMembership.team_id))
            .where(*membership)))
    if f.theme is not None:
        rated = JourneyAssessment.__table__.alias("rated")
        conditions.append(exists(
            select(literal(1)).select_from(ThemeRating.__table__.join(rated, rated.c.id == ThemeRating.assessment_id))
            .where(rated.c.enrolment_id == e.c.id, _current(f, rated), rated.c.assessed_on <= f.end,
                   ThemeRating.theme == f.theme, ThemeRating.perspective == "team")))
    return conditions


def selection(f: OutcomeFilter):
    """CTE ``sel``: one row per family — its latest matching enrolment that overlaps the period
    (the latest is the one created last, the highest id: a family re-enrols after it left)."""
    e = Enrolment.__table__.alias("e")
    latest = Enrolment.__table__.alias("latest")
    newest = select(func.max(latest.c.id)).where(*_conditions(f, latest)).group_by(latest.c.family_id)
    # MATERIALIZED: computed once per statement, never re-run inside a join (SQLite ≥ 3.35 and
    # PostgreSQL ≥ 12 both take the keyword).
    return (select(*_columns(f, e)).where(e.c.id.in_(newest)).cte("sel").prefix_with("MATERIALIZED"))


def _columns(f: OutcomeFilter, e) -> list:
    """The enrolment's columns the statements read (its start and closure as recorded by the as-of
    date)."""
    closed = _closed(f, e)
    reason = e.c.close_reason if f.as_of is None else case((closed.is_not(None), e.c.close_reason), else_=None)
    return [e.c.id, e.c.family_id, e.c.referred_on, _started(f, e).label("started_on"), closed.label("closed_on"),
            reason.label("close_reason")]


def enrolments(f: OutcomeFilter):
    """CTE ``sel``: one row per enrolment that overlaps the period and matches the filters — the
    report's unit. A family referred again after it left counts with each of its enrolments (each
    has its own start, assessments and closure)."""
    e = Enrolment.__table__.alias("e")
    return (select(*_columns(f, e)).where(*_conditions(f, e)).cte("sel").prefix_with("MATERIALIZED"))


def _ends(f: OutcomeFilter, sel):
    """CTE ``ends``: per enrolment with an intake, its intake assessment (the first marked
    ``kind='intake'``) and its latest assessment by the end of the period (now), with the team's
    overall level at each — one pass, no self-join. An enrolment without an intake assessment has no
    row here: its intake is unknown, and the report counts it among those without one."""
    a = JourneyAssessment.__table__
    is_intake = case((a.c.kind == "intake", 0), else_=1)
    ranked = (select(a.c.enrolment_id, a.c.id, a.c.overall_level, a.c.kind,
                     func.row_number().over(partition_by=a.c.enrolment_id,
                                            order_by=(is_intake, a.c.assessed_on, a.c.id)).label("first_rank"),
                     func.row_number().over(partition_by=a.c.enrolment_id,
                                            order_by=(a.c.assessed_on.desc(), a.c.id.desc())).label("last_rank"))
              .join(sel, sel.c.id == a.c.enrolment_id)
              .where(_current(f, a), a.c.kind.in_(PROGRESS_KINDS), a.c.assessed_on <= f.end)
              .subquery("ranked"))
    first = and_(ranked.c.first_rank == 1, ranked.c.kind == "intake")

    def at(condition, column):
        return func.max(case((condition, column), else_=None))

    intake_id = at(first, ranked.c.id)
    return (select(ranked.c.enrolment_id,
                   intake_id.label("intake_id"),
                   at(first, ranked.c.overall_level).label("intake_level"),
                   at(ranked.c.last_rank == 1, ranked.c.id).label("now_id"),
                   at(ranked.c.last_rank == 1, ranked.c.overall_level).label("now_level"))
            .where(or_(ranked.c.first_rank == 1, ranked.c.last_rank == 1))
            .group_by(ranked.c.enrolment_id).having(intake_id.is_not(None))
            .cte("ends").prefix_with("MATERIALIZED"))


def _paid_spend(f: OutcomeFilter, sel):
    """Paid spend of the selected enrolments, paid within the period (one theme, if filtered): a
    derived table of (spend id, family_id, amount, theme, category, enrolment_id). A spend names the
    family, not the enrolment: it belongs to the family's latest selected enrolment referred on or
    before the day it was paid (else, paid before any of them, to the earliest) — one enrolment per
    spend, so nothing is counted twice when a family has two enrolments in the period."""
    s = SpendRequest.__table__
    conditions = paid_conditions(f, s)
    if f.theme is not None:
        conditions.append(s.c.theme == f.theme)
    # Covering enrolments rank by the highest id, the rest after them by the lowest.
    order = case((sel.c.referred_on <= s.c.paid_on, sel.c.id), else_=-sel.c.id).desc()
    ranked = (select(s.c.id, s.c.family_id, s.c.amount, s.c.theme, s.c.category, sel.c.id.label("enrolment_id"),
                     func.row_number().over(partition_by=s.c.id, order_by=order).label("rk"))
              .join(sel, sel.c.family_id == s.c.family_id).where(*conditions).subquery("paid_ranked"))
    return (select(ranked.c.id, ranked.c.family_id, ranked.c.amount, ranked.c.theme, ranked.c.category,
                   ranked.c.enrolment_id).where(ranked.c.rk == 1).subquery("paid"))


# --- the statements -----------------------------------------------------------------------------

def flow_query(f: OutcomeFilter) -> Select:
    """Families by state at the end of the period (closed ones by reason), and how many were
    referred and started within it."""
    sel = enrolments(f)
    state = case((and_(sel.c.closed_on.is_not(None), sel.c.closed_on <= f.end), "closed"),
                 (and_(sel.c.started_on.is_not(None), sel.c.started_on <= f.end), "active"), else_="referred")
    # Computed in a derived table first: PostgreSQL cannot match a GROUP BY expression that holds
    # bound parameters against the same expression in the select list.
    states = select(state.label("state"), case((state == "closed", sel.c.close_reason), else_=None).label("reason"),
                    case((sel.c.referred_on >= f.start, 1), else_=0).label("referred"),
                    case((sel.c.started_on.between(f.start, f.end), 1), else_=0).label("started"),
                    record_key(sel.c.id).label("rk")).subquery("states")
    return (select(states.c.state, states.c.reason, func.count().label("families"),
                   func.sum(states.c.referred).label("referred_in_period"),
                   func.sum(states.c.started).label("started_in_period"),
                   func.sum(states.c.rk).label("key"),
                   func.sum(states.c.referred * states.c.rk).label("referred_key"),
                   func.sum(states.c.started * states.c.rk).label("started_key"))
            .group_by(states.c.state, states.c.reason))


def transitions_query(f: OutcomeFilter) -> Select:
    """The overall level at intake against now: {(intake, now): families}."""
    ends = _ends(f, enrolments(f))
    return (select(ends.c.intake_level, ends.c.now_level, func.count().label("families"),
                   func.sum(record_key(ends.c.enrolment_id)).label("key"))
            .group_by(ends.c.intake_level, ends.c.now_level))


def theme_transitions_query(f: OutcomeFilter) -> Select:
    """Per theme, the team's level in the intake assessment against the latest one."""
    ends = _ends(f, enrolments(f))
    at_intake, now = ThemeRating.__table__.alias("at_intake"), ThemeRating.__table__.alias("now")
    query = (select(at_intake.c.theme, at_intake.c.level.label("intake_level"), now.c.level.label("now_level"),
                    func.count().label("families"), func.sum(record_key(ends.c.enrolment_id)).label("key"))
             .select_from(ends)
             .join(at_intake, and_(at_intake.c.assessment_id == ends.c.intake_id, at_intake.c.perspective == "team",
                                   at_intake.c.subject_member_id.is_(None)))
             .join(now, and_(now.c.assessment_id == ends.c.now_id, now.c.theme == at_intake.c.theme,
                             now.c.perspective == "team", now.c.subject_member_id.is_(None)))
             .group_by(at_intake.c.theme, at_intake.c.level, now.c.level))
    if f.theme is not None:
        query = query.where(at_intake.c.theme == f.theme)
    return query


def milestones_query(f: OutcomeFilter) -> CompoundSelect:
    """For 6 and 12 months after the start: the enrolments that had been in the lab that long by the
    end of the period (the base), how many had an assessment by then (the rest are *unknown*, and
    stay in the base), and how many of those were at *stabil* or better."""
    sel = enrolments(f)
    a = JourneyAssessment.__table__
    parts = []
    for months in MILESTONE_MONTHS:
        mark = add_months(sel.c.started_on, literal_column(str(int(months))))
        base = (select(sel.c.id, mark.label("mark")).where(sel.c.started_on.is_not(None), mark <= f.end)
                .subquery(f"base_{months}"))
        ranked = (select(base.c.id, a.c.overall_level,
                         func.row_number().over(partition_by=base.c.id,
                                                order_by=(a.c.assessed_on.desc(), a.c.id.desc())).label("rk"))
                  .join(a, and_(a.c.enrolment_id == base.c.id, _current(f, a), a.c.kind.in_(PROGRESS_KINDS),
                                a.c.assessed_on <= base.c.mark))
                  .subquery(f"ranked_{months}"))
        latest = select(ranked.c.id, ranked.c.overall_level).where(ranked.c.rk == 1).subquery(f"at_{months}")
        stable = latest.c.overall_level >= STABIL
        parts.append(select(literal(months).label("months"), func.count().label("families"),
                            func.count(latest.c.id).label("assessed"),
                            func.coalesce(func.sum(case((stable, 1), else_=0)), 0).label("stable"),
                            func.sum(record_key(base.c.id)).label("key"),
                            func.sum(case((latest.c.id.is_not(None), record_key(base.c.id)), else_=0))
                            .label("assessed_key"),
                            func.sum(case((stable, record_key(base.c.id)), else_=0)).label("stable_key"))
                     .select_from(base.outerjoin(latest, latest.c.id == base.c.id)))
    return union_all(*parts)


def time_to_stable_query(f: OutcomeFilter) -> Select:
    """Families whose intake was below *stabil*: how many reached it by the end of the period, and the
    median days from the start to the first assessment at *stabil* or better (the middle one or
    two values, summed, and how many they are)."""
    sel = enrolments(f)
    ends = _ends(f, sel)
    a = JourneyAssessment.__table__
    first_stable = (select(sel.c.id, func.min(a.c.assessed_on).label("reached_on"))
                    .join(ends, ends.c.enrolment_id == sel.c.id)
                    .join(a, and_(a.c.enrolment_id == sel.c.id, _current(f, a), a.c.kind.in_(PROGRESS_KINDS),
                                  a.c.assessed_on <= f.end, a.c.overall_level >= STABIL))
                    .where(ends.c.intake_level < STABIL, sel.c.started_on.is_not(None))
                    .group_by(sel.c.id).subquery("first_stable"))
    days = (select(days_between(first_stable.c.reached_on, sel.c.started_on).label("days"))
            .join(sel, sel.c.id == first_stable.c.id).subquery("days"))
    ordered = select(days.c.days, func.row_number().over(order_by=days.c.days).label("rn"),
                     func.count().over().label("cnt")).subquery("ordered")
    middle = or_(ordered.c.rn == (ordered.c.cnt + 1) // 2, ordered.c.rn == (ordered.c.cnt + 2) // 2)
    middle_days = select(func.coalesce(func.sum(ordered.c.days), 0)).where(middle).scalar_subquery()
    middle_count = select(func.count()).select_from(ordered).where(middle).scalar_subquery()
    # Every family whose intake is below stabil, started or not: the same families as the
    # transition matrix's rows below stabil, so the two figures are one sum (reports.figures).
    below = (select(func.count()).select_from(ends)
             .where(ends.c.intake_level < STABIL).scalar_subquery())
    reached = select(func.count()).select_from(first_stable).scalar_subquery()
    below_key = (select(func.sum(record_key(ends.c.enrolment_id))).select_from(ends)
                 .where(ends.c.intake_level < STABIL).scalar_subquery())
    reached_key = select(func.sum(record_key(first_stable.c.id))).scalar_subquery()
    # Still on the way: below stabil at intake, not there yet, and still active at the end of the
    # period (started by then, not closed by then).
    on_way_rows = (select(ends.c.enrolment_id).join(sel, sel.c.id == ends.c.enrolment_id)
                   .where(ends.c.intake_level < STABIL, sel.c.started_on.is_not(None), sel.c.started_on <= f.end,
                          or_(sel.c.closed_on.is_(None), sel.c.closed_on > f.end),
                          ends.c.enrolment_id.not_in(select(first_stable.c.id)))
                   .subquery("on_way"))
    on_way = select(func.count()).select_from(on_way_rows).scalar_subquery()
    on_way_key = select(func.sum(record_key(on_way_rows.c.enrolment_id))).scalar_subquery()
    return select(below.label("started_below"), reached.label("reached"), middle_days.label("middle_days"),
                  middle_count.label("middle_count"), below_key.label("below_key"), reached_key.label("reached_key"),
                  on_way.label("on_way"), on_way_key.label("on_way_key"))


def _first_of(query, name: str):
    """A MATERIALIZED CTE of the rows of ``query`` whose ``rk`` is 1 (filtered inside, so the CTE
    holds one row per group and later joins stay small)."""
    ranked = query.subquery(f"{name}_ranked")
    return (select(*[c for c in ranked.c if c.name != "rk"]).where(ranked.c.rk == 1)
            .cte(name).prefix_with("MATERIALIZED"))


def follow_ups_query(f: OutcomeFilter) -> CompoundSelect:
    """Closed enrolments that were at *stabil* or better when they left, per follow-up (6 and 12
    months after closure): the base is those whose follow-up was due by the end of the period (or
    was made by then), how many had a follow-up assessment inside the window (due date ±
    ``FOLLOW_UP_WINDOW_MONTHS``; the rest are *unknown*, and stay in the base), and how many of those
    were still at *stabil* or better."""
    sel = enrolments(f)
    a = JourneyAssessment.__table__
    at_close = _first_of(
        select(sel.c.id, sel.c.closed_on, a.c.overall_level,
               func.row_number().over(partition_by=sel.c.id,
                                      order_by=(a.c.assessed_on.desc(), a.c.id.desc())).label("rk"))
        .join(a, and_(a.c.enrolment_id == sel.c.id, _current(f, a), a.c.kind.in_(PROGRESS_KINDS),
                      a.c.assessed_on <= sel.c.closed_on))
        .where(sel.c.closed_on.is_not(None), sel.c.closed_on <= f.end), "at_close")
    fu = JourneyAssessment.__table__.alias("fu")
    parts = []
    for kind, months in FOLLOW_UP_DUE_MONTHS.items():
        def after(n: int):
            return add_months(at_close.c.closed_on, literal_column(str(int(n))))

        ranked = (select(fu.c.enrolment_id, fu.c.overall_level,
                         func.row_number().over(partition_by=fu.c.enrolment_id,
                                                order_by=(fu.c.assessed_on.desc(), fu.c.id.desc())).label("rk"))
                  .join(at_close, at_close.c.id == fu.c.enrolment_id)
                  .where(_current(f, fu), fu.c.kind == kind, fu.c.assessed_on <= f.end,
                         fu.c.assessed_on >= after(months - FOLLOW_UP_WINDOW_MONTHS),
                         fu.c.assessed_on <= after(months + FOLLOW_UP_WINDOW_MONTHS))
                  .subquery(f"{kind}_ranked"))
        latest = (select(ranked.c.enrolment_id, ranked.c.overall_level).where(ranked.c.rk == 1)
                  .subquery(kind))
        stable = latest.c.overall_level >= STABIL
        parts.append(select(literal(kind).label("kind"), func.count().label("families"),
                            func.count(latest.c.enrolment_id).label("assessed"),
                            func.coalesce(func.sum(case((stable, 1), else_=0)), 0).label("stable"),
                            func.sum(record_key(at_close.c.id)).label("key"),
                            func.sum(case((latest.c.enrolment_id.is_not(None), record_key(at_close.c.id)), else_=0))
                            .label("assessed_key"),
                            func.sum(case((stable, record_key(at_close.c.id)), else_=0)).label("stable_key"))
                     .select_from(at_close.outerjoin(latest, latest.c.enrolment_id == at_close.c.id))
                     .where(at_close.c.overall_level >= STABIL,
                            or_(after(months) <= f.end, latest.c.enrolment_id.is_not(None))))
    return union_all(*parts)


def _spend_by(f: OutcomeFilter, column_name: str) -> Select:
    paid = _paid_spend(f, enrolments(f))
    column = paid.c[column_name]
    return (select(column.label("key"), func.sum(paid.c.amount).label("amount"),
                   func.count(func.distinct(paid.c.enrolment_id)).label("families"),
                   func.sum(func.distinct(record_key(paid.c.enrolment_id))).label("cell_key"))
            .group_by(column))


def spend_by_theme_query(f: OutcomeFilter) -> Select:
    return _spend_by(f, "theme")


def spend_by_category_query(f: OutcomeFilter) -> Select:
    return _spend_by(f, "category")


def spend_by_agency_query(f: OutcomeFilter) -> Select:
    """Paid out of each agency's delegated money (a spend can draw on several agencies)."""
    paid = _paid_spend(f, enrolments(f))
    t, account = LedgerTransfer.__table__, LedgerAccount.__table__
    return (select(account.c.agency_id.label("key"), func.sum(t.c.amount).label("amount"),
                   func.count(func.distinct(paid.c.enrolment_id)).label("families"),
                   func.sum(func.distinct(record_key(paid.c.enrolment_id))).label("cell_key"))
            .select_from(paid.join(t, and_(t.c.spend_request_id == paid.c.id, t.c.kind == "payment",
                                           t.c.created_at < _cutoff(f) if f.as_of is not None else literal(True)))
                         .join(account, account.c.id == t.c.credit_account_id))
            .group_by(account.c.agency_id))


def totals_query(f: OutcomeFilter) -> Select:
    """Families in the selection, paid spend and the families it went to, and family-days in the
    lab within the period (for the staff cost)."""
    sel = enrolments(f)
    spend = _paid_spend(f, sel)
    paid = select(func.coalesce(func.sum(spend.c.amount), 0)).scalar_subquery()
    paid_families = select(func.count(func.distinct(spend.c.enrolment_id))).scalar_subquery()
    paid_key = select(func.sum(func.distinct(record_key(spend.c.enrolment_id)))).scalar_subquery()
    stop = _smaller(func.coalesce(sel.c.closed_on, f.end), f.end)
    begin = _larger(sel.c.started_on, f.start)
    active_days = func.sum(case((and_(sel.c.started_on.is_not(None), sel.c.started_on <= f.end),
                                 _larger(days_between(stop, begin) + 1, 0)), else_=0))
    return select(func.count().label("families"), func.coalesce(active_days, 0).label("family_days"),
                  paid.label("paid"), paid_families.label("paid_families"),
                  func.sum(record_key(sel.c.id)).label("key"), paid_key.label("paid_key")).select_from(sel)


def movement_spend_query(f: OutcomeFilter) -> Select:
    """Spend next to movement: families by how their overall level moved from intake to now
    (worse / same / better), with the spend paid to them in the period."""
    sel = enrolments(f)
    ends = _ends(f, sel)
    spend = _paid_spend(f, sel)
    per_family = (select(spend.c.enrolment_id, func.sum(spend.c.amount).label("amount"))
                  .group_by(spend.c.enrolment_id).subquery("per_family"))
    movement = case((ends.c.now_level > ends.c.intake_level, "better"),
                    (ends.c.now_level < ends.c.intake_level, "worse"), else_="same")
    return (select(movement.label("movement"), func.count().label("families"),
                   func.coalesce(func.sum(per_family.c.amount), 0).label("amount"),
                   func.count(per_family.c.enrolment_id).label("paid_families"),
                   func.sum(record_key(ends.c.enrolment_id)).label("key"),
                   func.sum(case((per_family.c.enrolment_id.is_not(None), record_key(ends.c.enrolment_id)),
                                 else_=0)).label("paid_key"))
            .select_from(ends.join(sel, sel.c.id == ends.c.enrolment_id)
                         .outerjoin(per_family, per_family.c.enrolment_id == sel.c.id))
            .group_by(movement))


STATEMENTS: dict[str, Callable[[OutcomeFilter], Select | CompoundSelect]] = {
    "flow": flow_query,
    "transitions": transitions_query,
    "theme_transitions": theme_transitions_query,
    "milestones": milestones_query,
    "time_to_stable": time_to_stable_query,
    "follow_ups": follow_ups_query,
    "spend_by_theme": spend_by_theme_query,
    "spend_by_category": spend_by_category_query,
    "spend_by_agency": spend_by_agency_query,
    "movement_spend": movement_spend_query,
    "totals": totals_query,
}


# The statements the quarterly trend reads (the linked counts: ``figures.linked_counts``).
TREND_STATEMENTS = ("flow", "transitions", "time_to_stable")


def queries(f: OutcomeFilter, names: tuple[str, ...] | None = None) -> dict[str, Select | CompoundSelect]:
    """Every statement of the outcome report (or those in ``names``), by name (for the benchmark:
    ``db.session.execute`` each one, or ``str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))``).
    Built once per filter and kept (:func:`built`)."""
    chosen = tuple(STATEMENTS) if names is None else tuple(names)
    return built(("outcome", f, chosen), lambda: {name: STATEMENTS[name](f) for name in chosen})


# Building a report's statements (SQLAlchemy constructs, some hundred aliases and columns) cost
# more than a third of a request's Python time (issue 19); they are a pure function of the filter
# and of the record keys' coefficients (the secret), so each worker keeps the latest ones. A
# statement object is immutable once built and may be executed from any thread.
_BUILT: OrderedDict[Hashable, dict] = OrderedDict()
_BUILT_KEPT = 128
_BUILT_LOCK = threading.Lock()


def built(key: Hashable, build: Callable[[], dict]) -> dict:
    """The statements ``build()`` makes for ``key`` (which must name every input but the secret),
    kept per worker: a new dict of the same statement objects."""
    full = (key, *(coefficients(kind) for kind in KINDS))
    with _BUILT_LOCK:
        kept = _BUILT.get(full)
        if kept is not None:
            _BUILT.move_to_end(full)
            return dict(kept)
    statements = build()
    with _BUILT_LOCK:
        _BUILT[full] = dict(statements)
        while len(_BUILT) > _BUILT_KEPT:
            _BUILT.popitem(last=False)
    return statements


# --- running them -------------------------------------------------------------------------------

@dataclass
class OutcomeData:
    """The report's raw aggregates, exactly as the database returned them (not yet suppressed)."""

    filter: OutcomeFilter
    flow: list[tuple] = field(default_factory=list)
    transitions: dict[tuple[int, int], int] = field(default_factory=dict)
    theme_transitions: dict[str, dict[tuple[int, int], int]] = field(default_factory=dict)
    # (families in the base, of whom stable, of whom assessed): the base less the assessed are unknown
    milestones: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    started_below: int = 0
    reached_stable: int = 0
    on_way: int = 0  # below stabil at intake, not reached it, still active at the end of the period
    median_days: tuple[int, int] = (0, 0)  # (sum of the middle values, how many: 1 or 2)
    follow_ups: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # as milestones
    spend_by_theme: dict[str, tuple[int, int]] = field(default_factory=dict)
    spend_by_category: dict[str, tuple[int, int]] = field(default_factory=dict)
    spend_by_agency: dict[int, tuple[int, int]] = field(default_factory=dict)
    movement_spend: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    families: int = 0
    family_days: int = 0
    paid: int = 0
    paid_families: int = 0
    # The cell keys (``reports.cellkey``) of the same groups, by statement: the sum of the record
    # keys of the families each count holds (none for made-up data: every key is then 0).
    keys: dict = field(default_factory=dict)


# The report's own statement timeout (``REPORT_STATEMENT_TIMEOUT_MS``) too: its aggregates over a
# lab of 10 000 families take longer than the 10 s the pages' statements get.
_CUSTOM_PLANS = text("SELECT current_setting('plan_cache_mode'), current_setting('jit'), "
                     "current_setting('statement_timeout'), "
                     "set_config('plan_cache_mode', 'force_custom_plan', true), set_config('jit', 'off', true), "
                     "set_config('statement_timeout', :timeout, true)")
_RESTORE_PLANS = text("SELECT set_config('plan_cache_mode', :mode, true), set_config('jit', :jit, true), "
                      "set_config('statement_timeout', :timeout, true)")


def _report_timeout() -> str:
    from flask import current_app

    return str(int(current_app.config.get("REPORT_STATEMENT_TIMEOUT_MS", 60_000)))


@contextmanager
def _report_connection():
    """A connection for the report's statements: the read replica's when one is configured
    (``VELFERDSLAB_REPORT_DATABASE_URL``), else the request's own.

    On PostgreSQL the statements run with ``plan_cache_mode = force_custom_plan`` (for this
    transaction only, and set back afterwards): psycopg prepares a statement on the server after
    five executions, and PostgreSQL may then switch these lab-filtered aggregates to a *generic*
    plan made without the lab, period and filter values — 3-4× slower on a long-lived worker than
    on a fresh one (issue 19). A custom plan is made with the values, every time. JIT compilation is
    off for them too: these aggregates run for milliseconds, and once a statement's estimated cost
    crosses ``jit_above_cost`` compiling it took longer than running it (~300 ms, issue 19).
    """
    engine = db.engines.get("reports") if "reports" in (db.engines or {}) else None
    if engine is not None:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(_CUSTOM_PLANS, {"timeout": _report_timeout()})
            yield connection
        return
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        yield connection
        return
    mode, jit, timeout, *_set = connection.execute(_CUSTOM_PLANS, {"timeout": _report_timeout()}).one()
    yield connection
    # Not on an error: the settings are local to the transaction, which then rolls back and takes
    # them with it (a statement in an aborted transaction would only raise again, hiding the cause).
    connection.execute(_RESTORE_PLANS, {"mode": mode, "jit": jit, "timeout": timeout})


_ACTIVE: ContextVar[Any] = ContextVar("report_connection", default=None)


@contextmanager
def report_connection():
    """The report's connection (see :func:`_report_connection`) for everything run inside: one
    page reads several reports (the quarterly trend, the per-person section), and each
    :func:`execute_all` within uses this connection and its setting, so the plans are set to
    custom and back once per page, not once per section (two statements each). Reentrant."""
    active = _ACTIVE.get()
    if active is not None:
        yield active
        return
    with _report_connection() as connection:
        token = _ACTIVE.set(connection)
        try:
            yield connection
        finally:
            _ACTIVE.reset(token)


def execute_all(statements: dict[str, Select | CompoundSelect], f: OutcomeFilter | None = None) -> dict[str, list]:
    """Run report statements (by name) as the report runs its own: on the replica when configured,
    with custom plans on PostgreSQL (inside :func:`report_connection`, on its connection); the rows
    by name. For a published reading ``f`` (``reports.snapshots.frozen``) the rows are computed once
    and kept: later readings read them back."""
    from velferdslab.reports import snapshots

    with report_connection() as connection:
        if f is not None and snapshots.frozen(f):
            return snapshots.execute_all(connection, statements)
        return {name: connection.execute(statement).all() for name, statement in statements.items()}


def run(f: OutcomeFilter, names: tuple[str, ...] | None = None) -> OutcomeData:
    """Execute every statement (or those in ``names``: the rest of the data stays empty); eleven
    round trips whatever the number of enrolments."""
    data = OutcomeData(filter=f)
    results = execute_all(queries(f, names), f)
    for name, rows in results.items():
        _READ[name](data, rows)
    data.keys = _keys(results)
    return data


def _read_flow(data: OutcomeData, rows: list) -> None:
    data.flow = [tuple(row)[:5] for row in rows]


def _read_transitions(data: OutcomeData, rows: list) -> None:
    data.transitions = {(r.intake_level, r.now_level): r.families for r in rows}


def _read_theme_transitions(data: OutcomeData, rows: list) -> None:
    for r in rows:
        data.theme_transitions.setdefault(r.theme, {})[(r.intake_level, r.now_level)] = r.families


def _read_milestones(data: OutcomeData, rows: list) -> None:
    data.milestones = {int(r.months): (int(r.families), int(r.stable or 0), int(r.assessed or 0)) for r in rows}


def _read_time_to_stable(data: OutcomeData, rows: list) -> None:
    ts = rows[0]
    data.started_below, data.reached_stable = int(ts.started_below), int(ts.reached)
    data.median_days = (int(ts.middle_days or 0), int(ts.middle_count or 0))
    data.on_way = int(ts.on_way or 0)


def _read_follow_ups(data: OutcomeData, rows: list) -> None:
    data.follow_ups = {r.kind: (int(r.families), int(r.stable or 0), int(r.assessed or 0)) for r in rows}


def _read_spend(name: str) -> Callable[[OutcomeData, list], None]:
    def read(data: OutcomeData, rows: list) -> None:
        setattr(data, name, {r.key: (int(r.amount), int(r.families)) for r in rows})

    return read


def _read_movement_spend(data: OutcomeData, rows: list) -> None:
    data.movement_spend = {r.movement: (int(r.families), int(r.amount), int(r.paid_families)) for r in rows}


def _read_totals(data: OutcomeData, rows: list) -> None:
    totals = rows[0]
    data.families, data.family_days = int(totals.families), int(totals.family_days or 0)
    data.paid, data.paid_families = int(totals.paid or 0), int(totals.paid_families or 0)


_READ: dict[str, Callable[[OutcomeData, list], None]] = {
    "flow": _read_flow, "transitions": _read_transitions, "theme_transitions": _read_theme_transitions,
    "milestones": _read_milestones, "time_to_stable": _read_time_to_stable, "follow_ups": _read_follow_ups,
    **{name: _read_spend(name) for name in ("spend_by_theme", "spend_by_category", "spend_by_agency")},
    "movement_spend": _read_movement_spend, "totals": _read_totals,
}


def _int(value) -> int:
    """A key sum as an integer (PostgreSQL sums BIGINT as NUMERIC)."""
    return int(value or 0)


def _keys(results: dict) -> dict:
    """The cell keys next to the counts :func:`run` reads (``reports.cellkey``)."""
    themes: dict = {}
    for r in results.get("theme_transitions", ()):
        themes.setdefault(r.theme, {})[(r.intake_level, r.now_level)] = _int(r.key)
    readers: dict[str, Callable[[list], Any]] = {
        "flow": lambda rows: {(r.state, r.reason): (_int(r.key), _int(r.referred_key), _int(r.started_key))
                              for r in rows},
        "transitions": lambda rows: {(r.intake_level, r.now_level): _int(r.key) for r in rows},
        "theme_transitions": lambda _rows: themes,
        "milestones": lambda rows: {int(r.months): (_int(r.key), _int(r.stable_key), _int(r.assessed_key))
                                    for r in rows},
        "time_to_stable": lambda rows: (_int(rows[0].below_key), _int(rows[0].reached_key),
                                        _int(rows[0].on_way_key)),
        "follow_ups": lambda rows: {r.kind: (_int(r.key), _int(r.stable_key), _int(r.assessed_key)) for r in rows},
        "spend_by_theme": lambda rows: {r.key: _int(r.cell_key) for r in rows},
        "spend_by_category": lambda rows: {r.key: _int(r.cell_key) for r in rows},
        "spend_by_agency": lambda rows: {r.key: _int(r.cell_key) for r in rows},
        "movement_spend": lambda rows: {r.movement: (_int(r.key), _int(r.paid_key)) for r in rows},
        "totals": lambda rows: (_int(rows[0].key), _int(rows[0].paid_key)),
    }
    return {name: read(results[name]) for name, read in readers.items() if name in results}
