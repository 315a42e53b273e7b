"""The family's meetings with their attendees, in two statements. For a gated member meeting notes
and decisions are never selected."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

from sqlalchemy import ColumnElement, Date, Integer, Select, bindparam, case, func, select
from sqlalchemy.orm import joinedload, load_only

from velferdslab.cases.access import Access
from velferdslab.cases.journey.models import JourneyAssessment
from velferdslab.cases.meetings.models import Meeting, MeetingActionChange, MeetingAttendee
from velferdslab.cases.plan.models import Action
from velferdslab.extensions import db


@dataclass
class MeetingRow:
    meeting: Meeting
    staff: list
    family: list
    # Why the notes and decisions are not shown (issue 15): never selected for this reader.
    hidden: str | None = None


@dataclass
class MeetingTotals:
    """All the family's meetings, counted with the page's latest ones (:func:`latest_meetings`)."""

    count: int = 0
    next_meeting_on: date | None = None  # see planned_next_meeting_column


@cache
def _meetings_query(restricted: bool, limited: bool, with_totals: bool) -> Select:
    """The statement of :func:`_meetings`, built once per shape with the family, limit and day as
    parameters (issue 19: building and keying it on every family page cost more than running it)."""
    query = select(Meeting).where(Meeting.family_id == bindparam("family_id", type_=Integer)) \
        .order_by(Meeting.held_on.desc(), Meeting.id.desc())
    if restricted:  # a gated member sees when the team met and who came, never what was said
        query = query.options(load_only(Meeting.id, Meeting.family_id, Meeting.enrolment_id, Meeting.held_on,
                                        Meeting.next_meeting_on))
    if with_totals:  # over every meeting of the family: window aggregates are computed before the LIMIT
        query = query.add_columns(func.count().over(),
                                  planned_next_meeting_column(bindparam("today", type_=Date)).over())
    if limited:
        query = query.limit(bindparam("limit", type_=Integer))
    return query


@cache
def _attendees_query() -> Select:
    return (select(MeetingAttendee).where(MeetingAttendee.meeting_id.in_(bindparam("meeting_ids", expanding=True)))
            .options(joinedload(MeetingAttendee.user), joinedload(MeetingAttendee.member))
            .order_by(MeetingAttendee.id))


def _meetings(family_id: int, gated: bool, limit: int | None, hidden: str | None = None,
              totals: MeetingTotals | None = None, today: date | None = None) -> list[MeetingRow]:
    query = _meetings_query(bool(gated or hidden), bool(limit), totals is not None)
    params = {"family_id": family_id, "limit": limit, "today": today}
    meetings: list[Meeting]
    if totals is not None:
        assert today is not None
        found = db.session.execute(query, params).all()
        meetings = [meeting for meeting, _count, _next in found]
        if found:
            totals.count, totals.next_meeting_on = int(found[0][1]), found[0][2]
    else:
        meetings = list(db.session.scalars(query, params).all())
    rows = {m.id: MeetingRow(m, [], [], hidden) for m in meetings}
    if rows:
        attendees = db.session.scalars(_attendees_query(), {"meeting_ids": list(rows)})
        for attendee in attendees:
            row = rows[attendee.meeting_id]
            (row.staff if attendee.user_id else row.family).append(attendee.user or attendee.member)
    return list(rows.values())


def notes_hidden(access: Access) -> str | None:
    """Why meeting notes and decisions are hidden from this reader (the household's consent must cover
    them: issue 15), or None when they are shown. A gated member is told at the door instead."""
    if access.gated or access.may_see(None, None, "note"):
        return None
    return access.hidden_reason(None, None, "note")


def meetings(access: Access, limit: int | None = None) -> list[MeetingRow]:
    return _meetings(access.family.id, access.gated, limit, notes_hidden(access))


def latest_meetings(access: Access, limit: int, today: date) -> tuple[list[MeetingRow], MeetingTotals]:
    """The latest ``limit`` meetings (as :func:`meetings`), and how many there are in all with the
    planned next one, counted in the same statement (the family page: issue 19)."""
    totals = MeetingTotals()
    return _meetings(access.family.id, access.gated, limit, notes_hidden(access), totals, today), totals


def decided_at(meeting_id: int) -> tuple[JourneyAssessment | None, list[Action]]:
    """The assessment made at the meeting (its current version) and the actions it created."""
    assessment = db.session.scalar(select(JourneyAssessment).where(JourneyAssessment.meeting_id == meeting_id,
                                                                   JourneyAssessment.is_current.is_(True)))
    actions = list(db.session.scalars(select(Action).where(Action.meeting_id == meeting_id).order_by(Action.id)))
    return assessment, actions


def action_changes(meeting_id: int) -> list[tuple[MeetingActionChange, Action]]:
    """The status changes the meeting made to existing actions, with the actions, in one statement."""
    return [(change, action) for change, action in db.session.execute(
        select(MeetingActionChange, Action).join(Action, Action.id == MeetingActionChange.action_id)
        .where(MeetingActionChange.meeting_id == meeting_id).order_by(MeetingActionChange.id))]


def planned_next_meeting_column(today: date | ColumnElement[date]):
    """The family's next planned meeting, as an aggregate over its meetings: the **earliest**
    ``next_meeting_on`` that is today or later (the next one to happen, whichever meeting planned
    it). A meeting recorded without a next date never erases a planned one, and a past date never
    counts. To move a planned meeting, correct the meeting that planned it.

    The one rule: the family page, *Mine familier* (``overview.queries``) and the progress report
    (``reports.progress``) all use this column or :func:`next_meeting_on`."""
    return func.min(case((Meeting.next_meeting_on >= today, Meeting.next_meeting_on), else_=None))


def next_meeting_on(family_id: int, today: date) -> date | None:
    """The family's next planned meeting (see :func:`planned_next_meeting_column`), in one statement."""
    return db.session.scalar(select(planned_next_meeting_column(today)).where(Meeting.family_id == family_id))

