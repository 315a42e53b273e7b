"""Closed periods only: the outcome report as a series of fixed quarterly releases (issue 14).

The cell-key method (``reports.cellkey``) gives the same families the same figure in every report,
so two readings of a *live* report — one just before and one just after a single event — differ
exactly in the cells that event touched, and a reader learns where the one family went (its level
after its second assessment, its intake level after a restriction). So, with the cell key on, the
report publishes **closed quarters only**:

1. **A quarter is published** ``REPORT_RELEASE_LAG_DAYS`` (14) days after it ended, so that late
   registrations of the quarter are in it. A report's period ends at the last published quarter at
   the latest; the default period is the calendar year of that quarter, up to it.
2. **One instant per quarter.** The first reading after that fixes the quarter's release instant
   (``ReportRelease``, one row per quarter for every lab). Every report ending with that quarter —
   any lab, filter, format or reader, today or in a year — is computed from what had been recorded
   by that instant (``OutcomeFilter.as_of``: assessment versions, starts and closures, payments,
   team memberships, restrictions). Nothing recorded afterwards — a correction, a late follow-up, a
   restriction, an erasure, a reopened enrolment — changes a published quarter; it shows in the next.
3. **Quiet quarters are held back.** Consecutive releases of one selection still differ by what
   happened in between. When that is fewer than ``REPORT_RELEASE_MIN_CHANGES`` (5) enrolments of
   the selection, the newer quarter is held back for that selection and the release a quarter
   earlier is shown instead (the page says so). (A one-quarter report is compared with the quarter
   before it.) The rule looks one quarter back only: a quarter held back and a next quarter in
   which nothing at all changed publish the held-back difference then — a known limit
   (docs/reports.md). "Changed" is broad on
   purpose: an enrolment that entered or left the selection, or has anything recorded or dated in
   between (an assessment, a start or closure, a payment, a team member, a restriction), or passed a
   6- or 12-month point or a follow-up window in between.

A restriction (*sperring*) recorded after a quarter's release leaves that quarter's figures as they
were published — the family leaves the report from the next quarter on. Taking it out of the old
quarter would make the two readings differ by exactly that family, which is what the restriction is
meant to protect. ``VELFERDSLAB_REPORT_CELL_KEY=0`` (exact figures, for tests and for an operator
who chooses no protection) reports the live data as before.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from flask import current_app, g
from sqlalchemy import and_, exists, func, literal, literal_column, or_, select

from velferdslab.budget.models import LedgerTransfer, SpendRequest
from velferdslab.cases.enrolment.models import Enrolment
from velferdslab.cases.household.models import Family
from velferdslab.cases.journey.models import JourneyAssessment
from velferdslab.core.database import insert_new
from velferdslab.core.models import UTCDateTime, utcnow
from velferdslab.extensions import db
from velferdslab.reports import outcome, snapshots
from velferdslab.reports.models import ReportRelease
from velferdslab.teams.models import InvestmentTeam, TeamMembership

# The months after a start or a closure at which an enrolment enters a table without anything new
# being recorded: the 6- and 12-month rows, and the follow-ups' due dates and window ends.
_START_MARKS = (6, 12)
_CLOSE_MARKS = tuple(sorted({m + d for m in outcome.FOLLOW_UP_DUE_MONTHS.values()
                             for d in (-outcome.FOLLOW_UP_WINDOW_MONTHS, 0, outcome.FOLLOW_UP_WINDOW_MONTHS)}))


def enabled() -> bool:
    """Whether the report publishes closed quarters only: with the cell key on (the default)."""
    return bool(current_app.config.get("REPORT_CELL_KEY", True))


def lag() -> int:
    return int(current_app.config.get("REPORT_RELEASE_LAG_DAYS", 14))


def last_published(today: date) -> date:
    """The end of the last quarter published on ``today``: the latest quarter end at least
    ``REPORT_RELEASE_LAG_DAYS`` days before it."""
    end = outcome.quarter_start(today) - timedelta(days=1)
    while end + timedelta(days=lag()) >= today:
        end = outcome.quarter_start(end) - timedelta(days=1)
    return end


def previous_quarter_end(end: date) -> date:
    return outcome.quarter_start(end) - timedelta(days=1)


def instant(quarter_end: date) -> datetime:
    """The quarter's release instant: fixed by the first reading that needs it (concurrent first
    readings agree: the row is inserted once, ``ON CONFLICT DO NOTHING``, and read back)."""
    cache = g.setdefault("report_release_instants", {})
    if quarter_end in cache:
        return cache[quarter_end]
    found = db.session.get(ReportRelease, quarter_end)
    if found is None:
        insert_new(ReportRelease, [{"quarter_end": quarter_end, "released_at": utcnow()}], "quarter_end")
        found = db.session.get(ReportRelease, quarter_end, populate_existing=True)
        assert found is not None
    cache[quarter_end] = found.released_at
    return found.released_at


def _at(f: outcome.OutcomeFilter, end: date) -> outcome.OutcomeFilter:
    """``f`` as the release of the quarter ending ``end``."""
    return replace(f, end=end, as_of=instant(end), release=end, held_back=None)


def _previous(f: outcome.OutcomeFilter) -> outcome.OutcomeFilter | None:
    """The same selection one quarter earlier (a one-quarter report moves its start back too), or
    None when nothing of the lab had been referred by then."""
    assert f.release is not None
    end = previous_quarter_end(f.release)
    start = f.start if f.start <= end else outcome.quarter_start(end)
    e = Enrolment.__table__
    if not db.session.scalar(select(exists().where(f.in_labs(e.c.lab_id), e.c.referred_on <= end))):
        return None
    return replace(_at(f, end), start=start)


def _selection(f: outcome.OutcomeFilter, name: str):
    e = Enrolment.__table__.alias(f"{name}_e")
    return select(e.c.id).where(*outcome._conditions(f, e)).cte(name)


def changed(before: outcome.OutcomeFilter, after: outcome.OutcomeFilter) -> int:
    """How many enrolments differ between two releases of one selection (see the module's 3.)."""
    assert before.as_of is not None and after.as_of is not None
    t0, t1 = (literal(x, UTCDateTime()) for x in (before.as_of, after.as_of))
    d0, d1 = before.end, after.end
    old, new = _selection(before, "sel_before"), _selection(after, "sel_after")
    both = select(old.c.id).union(select(new.c.id)).subquery("both_sel")
    e = Enrolment.__table__
    a, s, t = JourneyAssessment.__table__, SpendRequest.__table__, LedgerTransfer.__table__
    fam, team, member = Family.__table__, InvestmentTeam.__table__, TeamMembership.__table__

    def recorded(column):
        return and_(column > t0, column <= t1)

    def dated(column):
        return and_(column > d0, column <= d1)

    def known(column):  # recorded by the later release (what it reads)
        return column <= t1

    started, closed = outcome._started(after, e), outcome._closed(after, e)
    marks = [dated(outcome.add_months(started, literal_column(str(m)))) for m in _START_MARKS]
    marks += [dated(outcome.add_months(closed, literal_column(str(m)))) for m in _CLOSE_MARKS]
    condition = or_(
        ~e.c.id.in_(select(old.c.id)), ~e.c.id.in_(select(new.c.id)),
        recorded(e.c.created_at), recorded(e.c.started_at), recorded(e.c.closed_at),
        dated(started), dated(closed), *marks,
        exists(select(literal(1)).where(a.c.enrolment_id == e.c.id, or_(
            recorded(a.c.created_at), and_(known(a.c.created_at), dated(a.c.assessed_on))))),
        exists(select(literal(1)).where(fam.c.id == e.c.family_id, recorded(fam.c.restricted_at))),
        exists(select(literal(1)).select_from(member.join(team, team.c.id == member.c.team_id))
               .where(team.c.enrolment_id == e.c.id, recorded(member.c.created_at))),
        exists(select(literal(1)).select_from(s.join(t, t.c.spend_request_id == s.c.id)).where(
            s.c.family_id == e.c.family_id, s.c.lab_id == e.c.lab_id,
            or_(recorded(t.c.created_at),
                and_(known(t.c.created_at),
                     or_(dated(s.c.paid_on), dated(outcome.add_months(s.c.paid_on, literal_column("6")))))))),
    )
    statement = select(func.count().label("changed")).select_from(e.join(both, both.c.id == e.c.id)).where(condition)
    # On the report's connection, as the report's own statements: custom plans, no JIT (compiling
    # this count took 1.7 s of its 1.9 s over a lab of 10 000 families) and the report's timeout.
    with outcome.report_connection() as connection:
        if snapshots.enabled() and snapshots.settled(before.as_of) and snapshots.settled(after.as_of):
            # two published instants: the count is the same every time (kept once computed)
            rows = snapshots.execute_all(connection, {"changed": statement})["changed"]
            return int(rows[0][0] or 0)
        return int(connection.execute(statement).scalar() or 0)


def publish(f: outcome.OutcomeFilter) -> outcome.OutcomeFilter:
    """The release a reader gets for ``f`` (its period already whole quarters, ending at a
    published quarter): computed as recorded at the quarter's release instant — or, when fewer
    than ``REPORT_RELEASE_MIN_CHANGES`` of its enrolments changed since the same selection's
    release a quarter earlier, that earlier release (``held_back`` then names the quarter asked
    for)."""
    key = (f.start, f.end, f.cohort, f.agency_id, f.theme, f.lab_id, f.lab_ids)
    memo = g.setdefault("report_releases", {})
    if key in memo:
        return memo[key]
    shown = _at(f, f.end)
    least = int(current_app.config.get("REPORT_RELEASE_MIN_CHANGES", 5))
    previous = _previous(shown) if least > 1 else None
    if previous is not None and 0 < changed(previous, shown) < least:
        shown = replace(previous, held_back=shown.release)
    memo[key] = shown
    return shown
