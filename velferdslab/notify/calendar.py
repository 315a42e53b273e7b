"""Meetings as iCalendar (RFC 5545): a user's private feed and a single meeting's ``.ics``.

All-day events (a meeting has a date, not a time). No family name unless the user asked for names
in their feed; no notes, decisions or attendees ever.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from icalendar import Calendar, Event
from sqlalchemy import or_, select

from velferdslab.cases.access import Access
from velferdslab.cases.meetings.models import Meeting
from velferdslab.core.models import utcnow

PRODID = "-//Velferdslab//Møter//NO"
HELD_DAYS = 90


def _calendar(name: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    return cal


def _event(uid: str, on: date, summary: str, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", on)
    event.add("dtend", on + timedelta(days=1))
    event.add("summary", summary)
    event.add("transp", "OPAQUE")
    return event


def _summary(planned: bool, household: str | None) -> str:
    if household:
        return _("Planlagt møte: %(family)s", family=household) if planned else _("Møte: %(family)s", family=household)
    return _("Planlagt møte i investeringsteamet") if planned else _("Møte i investeringsteamet")


def feed(accesses: list[Access], *, show_names: bool, today: date, db_session) -> bytes:
    """The feed: meetings held in the last 90 days and every planned next meeting from today on."""
    stamp = utcnow()
    names = {a.family.id: a.family.household_name for a in accesses}
    cal = _calendar(_("Velferdslab: mine møter"))
    if names:
        rows = db_session.scalars(
            select(Meeting)
            .where(
                Meeting.family_id.in_(list(names)),
                or_(Meeting.held_on >= today - timedelta(days=HELD_DAYS), Meeting.next_meeting_on >= today),
            )
            .order_by(Meeting.held_on, Meeting.id)
        )
        planned: set[tuple[int, date]] = set()
        for meeting in rows:
            name = names[meeting.family_id] if show_names else None
            if meeting.held_on >= today - timedelta(days=HELD_DAYS):
                cal.add_component(
                    _event(f"meeting-{meeting.id}@velferdslab", meeting.held_on, _summary(False, name), stamp)
                )
            if meeting.next_meeting_on is not None and meeting.next_meeting_on >= today:
                planned.add((meeting.family_id, meeting.next_meeting_on))
        for family_id, on in sorted(planned):
            name = names[family_id] if show_names else None
            cal.add_component(
                _event(f"planned-{family_id}-{on.isoformat()}@velferdslab", on, _summary(True, name), stamp)
            )
    return cal.to_ical()


def single(meeting: Meeting, *, household: str | None) -> bytes:
    """One meeting: its planned next meeting when it has one, else the meeting itself."""
    cal = _calendar(_("Velferdslab: møte"))
    if meeting.next_meeting_on is not None:
        cal.add_component(
            _event(
                f"planned-{meeting.family_id}-{meeting.next_meeting_on.isoformat()}@velferdslab",
                meeting.next_meeting_on,
                _summary(True, household),
                utcnow(),
            )
        )
    else:
        cal.add_component(
            _event(f"meeting-{meeting.id}@velferdslab", meeting.held_on, _summary(False, household), utcnow())
        )
    return cal.to_ical()
