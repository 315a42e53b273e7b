"""Meetings: the list, a whole meeting in one call, one meeting, and editing it."""

from __future__ import annotations

from flask.views import MethodView
from flask_babel import gettext as _
from sqlalchemy import select

from velferdslab.audit.actions import AuditAction
from velferdslab.cases.access import Access
from velferdslab.cases.gate import family_route, note
from velferdslab.cases.journey.models import JourneyAssessment
from velferdslab.cases.meetings import queries, schemas, services
from velferdslab.cases.meetings.models import Meeting
from velferdslab.cases.plan.models import Action
from velferdslab.cases.web import _user
from velferdslab.cases.web import api_blueprint as blueprint
from velferdslab.core.api import paged
from velferdslab.core.errors import ForbiddenError
from velferdslab.core.permissions import LOGIN, requires
from velferdslab.extensions import db


def _meeting_out(meeting: Meeting, staff_ids, member_ids, gated: bool, assessment_id=None, action_ids=(),
                 hidden: str | None = None) -> dict:
    out = {"id": meeting.id, "held_on": meeting.held_on, "next_meeting_on": meeting.next_meeting_on,
           "attendee_user_ids": list(staff_ids), "attendee_member_ids": list(member_ids)}
    if not gated:
        out.update(interpreter_used=meeting.interpreter_used, assessment_id=assessment_id,
                   action_ids=list(action_ids), hidden=[hidden] if hidden else [])
        if not hidden:  # the notes and decisions need the household's consent (issue 15)
            out.update(notes=meeting.notes, decisions=meeting.decisions)
    return out


@blueprint.route("/families/<int:family_id>/meetings")
class Meetings(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.MeetingSchema(many=True))
    @paged(blueprint)
    @family_route(AuditAction.MEETING_LIST, content=False)
    def get(self, access: Access):
        """Every meeting, newest first. A gated member gets dates and attendees only."""
        rows = queries.meetings(access)
        note(count=len(rows))
        return [_meeting_out(r.meeting, [u.id for u in r.staff], [m.id for m in r.family], access.gated,
                             hidden=r.hidden) for r in rows]

    @requires(LOGIN)
    @blueprint.arguments(schemas.MeetingCreateSchema)
    @blueprint.response(201, schemas.MeetingSchema)
    @family_route()
    def post(self, data, access: Access):
        """A whole meeting in one call: attendees, notes, decisions, that day's assessment, and new or
        updated actions. Any error (422) leaves nothing behind."""
        meeting = services.record_meeting(access, actor=_user(), **data)
        return _meeting_detail(meeting, access)


def _meeting_detail(meeting: Meeting, access: Access) -> dict:
    assessment_id = None
    action_ids: list[int] = []
    if not access.gated:
        assessment_id = db.session.scalar(select(JourneyAssessment.id).where(
            JourneyAssessment.meeting_id == meeting.id, JourneyAssessment.is_current.is_(True)))
        action_ids = list(db.session.scalars(select(Action.id).where(Action.meeting_id == meeting.id)
                                             .order_by(Action.id)))
    return _meeting_out(meeting, [a.user_id for a in meeting.attendees if a.user_id],
                        [a.member_id for a in meeting.attendees if a.member_id], access.gated,
                        assessment_id, action_ids, queries.notes_hidden(access))


@blueprint.route("/families/<int:family_id>/meetings/<int:meeting_id>")
class MeetingById(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.MeetingSchema)
    @family_route(AuditAction.MEETING_VIEW, content=False, load={"meeting": Meeting})
    def get(self, access: Access, meeting: Meeting):
        return _meeting_detail(meeting, access)

    @requires(LOGIN)
    @blueprint.arguments(schemas.MeetingInputSchema(partial=True))
    @blueprint.response(200, schemas.MeetingSchema)
    @family_route(load={"meeting": Meeting})
    def patch(self, data, access: Access, meeting: Meeting):
        if queries.notes_hidden(access) and not {"notes", "decisions"} <= set(data):
            # Keeping notes one may not read would copy them unseen: send both, or get a 403.
            raise ForbiddenError(_("Samtykket for din etat dekker ikke møtenotatene."), "consent")
        merged = {"held_on": meeting.held_on, "notes": meeting.notes, "decisions": meeting.decisions,
                  "next_meeting_on": meeting.next_meeting_on, "interpreter_used": meeting.interpreter_used,
                  "attendee_user_ids": [a.user_id for a in meeting.attendees if a.user_id],
                  "attendee_member_ids": [a.member_id for a in meeting.attendees if a.member_id], **data}
        services.update_meeting(access, meeting, actor=_user(), **merged)
        return _meeting_detail(meeting, access)
