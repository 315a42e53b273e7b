"""Meetings: record one (with that day's assessment and the actions agreed) in one call, or edit one.

Each service validates, changes, writes its audit row and flushes — it never commits (the request
does); a refusal is a :class:`ServiceError` naming the input at fault (see ``velferdslab.cases``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import delete, select

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction
from velferdslab.auth.models import User
from velferdslab.cases.access import Access
from velferdslab.cases.enrolment.models import Enrolment
from velferdslab.cases.enrolment.services import current_enrolment
from velferdslab.cases.household.services import family_members
from velferdslab.cases.journey.services import create_assessment
from velferdslab.cases.meetings.models import FormDraft, Meeting, MeetingActionChange, MeetingAttendee
from velferdslab.cases.plan.models import Action
from velferdslab.cases.plan.services import create_action, update_action
from velferdslab.cases.rules import _not_future, _text
from velferdslab.core.errors import ServiceError
from velferdslab.core.models import today_local, utcnow
from velferdslab.extensions import db
from velferdslab.teams import services as teams


def _attendees(family_id: int, team_user_ids: set[int], user_ids: Iterable[int], member_ids: Iterable[int]):
    user_ids, member_ids = list(dict.fromkeys(user_ids or ())), list(dict.fromkeys(member_ids or ()))
    if set(user_ids) - team_user_ids:
        raise ServiceError(_("Bare medlemmer av teamet kan føres opp som deltakere fra teamet."), "attendee_user_ids")
    family_member_ids = {m.id for m in family_members(family_id)}
    if set(member_ids) - family_member_ids:
        raise ServiceError(_("Deltakeren hører ikke til familien."), "attendee_member_ids")
    return ([MeetingAttendee(user_id=u) for u in user_ids] + [MeetingAttendee(member_id=m) for m in member_ids])


def _meeting_fields(enrolment: Enrolment, held_on, notes, decisions, next_meeting_on, interpreter_used) -> dict:
    held_on = _not_future(held_on, "held_on", _("Møtedatoen kan ikke være fram i tid."))
    if held_on < enrolment.referred_on:
        raise ServiceError(_("Møtet kan ikke være før familien ble henvist."), "held_on")
    if next_meeting_on is not None and next_meeting_on <= held_on:
        raise ServiceError(_("Neste møte må være etter dette møtet."), "next_meeting_on")
    return {"held_on": held_on, "notes": _text(notes, "notes", max_length=20000),
            "decisions": _text(decisions, "decisions", max_length=20000), "next_meeting_on": next_meeting_on,
            "interpreter_used": bool(interpreter_used)}


EMPTY_FIELD = "meeting"


def is_empty(*, fields: dict, attendee_user_ids: Iterable[int], attendee_member_ids: Iterable[int],
             assessment: dict | None, action_updates: Iterable[dict], new_actions: Iterable[dict]) -> bool:
    """A meeting with nothing recorded: no rating, no note, no decision, no attendee and no action
    added or changed. The dates alone (an untouched form, or Enter pressed in a one-line field) do
    not make a meeting, nor does the interpreter box. Ratings count however they came into the
    form: a level pre-filled from the last assessment and sent unchanged is that day's rating."""
    return not (fields["notes"] or fields["decisions"] or list(attendee_user_ids or ())
                or list(attendee_member_ids or ()) or (assessment and assessment.get("ratings"))
                or list(action_updates or ()) or list(new_actions or ()))


def _require_may_write_notes(access: Access, fields: dict) -> None:
    """Notes and decisions are the household's meeting notes: written only with that consent (issue 15)."""
    for name in ("notes", "decisions"):
        if fields[name]:
            access.require_may_write(None, None, "note", name)


def _team_user_ids(family_id: int, on: date) -> set[int]:
    team = teams.current_team(family_id)
    return teams.current_member_ids(team.id, on) | teams.current_member_ids(team.id, today_local()) if team else set()


def record_meeting(access: Access, *, actor: User, held_on: date | None, attendee_user_ids: Iterable[int] = (),
                   attendee_member_ids: Iterable[int] = (), notes: str | None = None, decisions: str | None = None,
                   next_meeting_on: date | None = None, interpreter_used: bool = False,
                   assessment: dict | None = None, action_updates: Iterable[dict] = (),
                   new_actions: Iterable[dict] = ()) -> Meeting:
    """A meeting's whole work in one call: who came, notes and decisions, that day's assessment, and
    new or updated actions. Any refusal undoes all of it (the request rolls back). An empty meeting
    (see :func:`is_empty`) is refused. A blank ``next_meeting_on`` leaves the family's planned next
    meeting as it is (the planned one is the earliest date today or later of any meeting, see
    ``queries.next_meeting_on``)."""
    access.require_consent()
    family_id = access.family.id
    enrolment = current_enrolment(family_id)
    if enrolment is None:
        raise ServiceError(_("Familien har ingen deltakelse."), "held_on")
    fields = _meeting_fields(enrolment, held_on, notes, decisions, next_meeting_on, interpreter_used)
    _require_may_write_notes(access, fields)
    action_updates, new_actions = list(action_updates or ()), list(new_actions or ())
    if is_empty(fields=fields, attendee_user_ids=attendee_user_ids, attendee_member_ids=attendee_member_ids,
                assessment=assessment, action_updates=action_updates, new_actions=new_actions):
        raise ServiceError(_("Møtet er tomt: før opp hvem som var med, et notat, en beslutning, en vurdering "
                             "eller et tiltak før du lagrer."), EMPTY_FIELD)
    attendees = _attendees(family_id, _team_user_ids(family_id, fields["held_on"]), attendee_user_ids,
                           attendee_member_ids)
    meeting = Meeting(family_id=family_id, enrolment_id=enrolment.id, created_by_id=actor.id, **fields)
    meeting.attendees = attendees
    db.session.add(meeting)
    db.session.flush()
    audit.record(AuditAction.MEETING_CREATE, actor=actor, family_id=family_id, object_type="meeting",
                 object_id=meeting.id,
                 summary={"attendees": len(attendees), "has_notes": bool(fields["notes"]),
                          "has_decisions": bool(fields["decisions"]),
                          "interpreter_used": fields["interpreter_used"]})
    if assessment:
        create_assessment(access, actor=actor, assessed_on=fields["held_on"], meeting_id=meeting.id, **assessment)
    for change in action_updates:
        change = dict(change)
        action_id = change.pop("id", None)
        action = db.session.get(Action, action_id) if action_id is not None else None
        if action is None or action.family_id != family_id:
            raise ServiceError(_("Tiltaket finnes ikke i familiens plan."), "action_updates")
        before = action.status
        with _row_errors(f"actions.{action.id}"):
            update_action(access, action, actor=actor, **change)
        if action.status != before:  # kept, so the meeting's page shows what it changed
            db.session.add(MeetingActionChange(meeting_id=meeting.id, action_id=action.id, from_status=before,
                                               to_status=action.status))
    for index, spec in enumerate(new_actions):
        with _row_errors(f"new_actions.{index}"):
            create_action(access, actor=actor, meeting_id=meeting.id, **spec)
    return meeting


@contextmanager
def _row_errors(prefix: str):
    """Name the row a refusal belongs to: ``new_actions.1.owner`` rather than ``owner``."""
    try:
        yield
    except ServiceError as error:
        error.field = f"{prefix}.{error.field}"
        raise


def update_meeting(access: Access, meeting: Meeting, *, actor: User, held_on: date | None,
                   attendee_user_ids: Iterable[int] = (), attendee_member_ids: Iterable[int] = (),
                   notes: str | None = None, decisions: str | None = None,
                   next_meeting_on: date | None = None, interpreter_used: bool | None = None) -> Meeting:
    """Correct a meeting's date, attendees, notes, decisions and next date (``interpreter_used``
    None keeps it as it is)."""
    access.require_consent()
    if meeting.family_id != access.family.id:
        raise ServiceError(_("Møtet hører ikke til familien."), "meeting_id", status=404)
    # get_one: meeting.enrolment_id is a NOT NULL foreign key, so the enrolment is there.
    enrolment = db.session.get_one(Enrolment, meeting.enrolment_id)
    fields = _meeting_fields(enrolment, held_on, notes, decisions, next_meeting_on,
                             meeting.interpreter_used if interpreter_used is None else interpreter_used)
    # A correction replaces the notes and decisions: only a reader who may see them makes it.
    access.require_may_write(None, None, "note", "notes")
    attendees = _attendees(meeting.family_id, _team_user_ids(meeting.family_id, fields["held_on"]) |
                           {a.user_id for a in meeting.attendees if a.user_id}, attendee_user_ids,
                           attendee_member_ids)
    changed = [k for k, v in fields.items() if getattr(meeting, k) != v]
    for key, value in fields.items():
        setattr(meeting, key, value)
    meeting.attendees.clear()
    db.session.flush()
    meeting.attendees.extend(attendees)
    db.session.flush()
    audit.record(AuditAction.MEETING_UPDATE, actor=actor, family_id=meeting.family_id, object_type="meeting",
                 object_id=meeting.id, summary={"fields": changed, "attendees": len(attendees)})
    return meeting


# --- drafts: the meeting form saved while it is filled in ----------------------------------------

MEETING_DRAFT = "meeting"
DRAFT_MAX_FIELDS = 400
DRAFT_MAX_CHARS = 200_000


def _clean_payload(fields, allowed: set[str]) -> dict[str, list[str]]:
    """``{name: [values]}`` of the form's own fields only (never the CSRF token), size-limited."""
    if not isinstance(fields, dict) or len(fields) > DRAFT_MAX_FIELDS:
        raise ServiceError(_("Utkastet kunne ikke leses."), "fields")
    clean: dict[str, list[str]] = {}
    for name, values in fields.items():
        if name not in allowed or name == "csrf_token":
            continue
        values = values if isinstance(values, list) else [values]
        if not all(isinstance(v, str) for v in values) or len(values) > 100:
            raise ServiceError(_("Utkastet kunne ikke leses."), "fields")
        clean[name] = values
    if len(json.dumps(clean, ensure_ascii=False)) > DRAFT_MAX_CHARS:
        raise ServiceError(_("Utkastet er for stort til å lagres."), "fields", status=413)
    return clean


def save_draft(access: Access, *, actor: User, fields, allowed: set[str], kind: str = MEETING_DRAFT) -> FormDraft:
    """Create or replace the user's draft of a form for the family (autosave while typing). No
    audit row: a draft is the user's own unsaved work, and the save of the form is audited."""
    access.require_consent()
    payload = json.dumps(_clean_payload(fields, allowed), ensure_ascii=False, sort_keys=True)
    draft = draft_for(access, actor=actor, kind=kind)
    if draft is None:
        draft = FormDraft(user_id=actor.id, family_id=access.family.id, kind=kind, payload=payload)
        db.session.add(draft)
    else:
        draft.payload = payload
    draft.updated_at = utcnow()
    db.session.flush()
    return draft


def draft_for(access: Access, *, actor: User, kind: str = MEETING_DRAFT) -> FormDraft | None:
    if access.gated:
        return None
    return db.session.scalar(select(FormDraft).where(FormDraft.user_id == actor.id,
                                                     FormDraft.family_id == access.family.id,
                                                     FormDraft.kind == kind))


def draft_fields(draft: FormDraft) -> dict[str, list[str]]:
    try:
        data = json.loads(draft.payload)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def discard_draft(access: Access, *, actor: User, kind: str = MEETING_DRAFT) -> bool:
    """Throw the user's draft away (the form was saved, or the user chose to). True if there was one."""
    result = db.session.execute(delete(FormDraft).where(FormDraft.user_id == actor.id,
                                                        FormDraft.family_id == access.family.id,
                                                        FormDraft.kind == kind))
    return bool(getattr(result, "rowcount", 0))
