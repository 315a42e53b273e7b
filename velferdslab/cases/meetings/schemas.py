"""marshmallow schemas for meetings, and a whole meeting's work in one body."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from velferdslab.cases.fields import _text
from velferdslab.cases.journey.schemas import AssessmentInputSchema
from velferdslab.cases.plan.schemas import ActionSchema, ActionUpdateSchema
from velferdslab.core.schemas import Date, Id


class MeetingActionUpdateSchema(ActionUpdateSchema):
    id = Id(required=True)


class MeetingInputSchema(Schema):
    held_on = Date(required=True)
    attendee_user_ids = fields.List(Id(), load_default=list, validate=validate.Length(max=50))
    attendee_member_ids = fields.List(Id(), load_default=list, validate=validate.Length(max=50))
    notes = _text(20000, allow_none=True, load_default=None)
    decisions = _text(20000, allow_none=True, load_default=None)
    next_meeting_on = Date(allow_none=True, load_default=None)
    interpreter_used = fields.Boolean(load_default=False,
                                      metadata={"description": "Whether an interpreter took part in the meeting."})


class MeetingCreateSchema(MeetingInputSchema):
    assessment = fields.Nested(AssessmentInputSchema, allow_none=True, load_default=None,
                               metadata={"description": "That day's assessment (dated the meeting day)."})
    action_updates = fields.List(fields.Nested(MeetingActionUpdateSchema), load_default=list,
                                 validate=validate.Length(max=200))
    new_actions = fields.List(fields.Nested(ActionSchema), load_default=list, validate=validate.Length(max=50))


class MeetingSchema(Schema):
    id = fields.Integer()
    held_on = Date()
    next_meeting_on = Date(allow_none=True)
    attendee_user_ids = fields.List(fields.Integer())
    attendee_member_ids = fields.List(fields.Integer())
    notes = fields.String(allow_none=True, metadata={"description": "Left out for a gated member."})
    decisions = fields.String(allow_none=True, metadata={"description": "Left out for a gated member."})
    interpreter_used = fields.Boolean(metadata={"description": "Whether an interpreter took part. Left out for a "
                                                               "gated member."})
    assessment_id = fields.Integer(allow_none=True)
    action_ids = fields.List(fields.Integer())
    hidden = fields.List(fields.String(), metadata={
        "description": "Why notes and decisions are left out: the household's consent for the reader's agency does "
                       "not cover meeting notes (issue 15). Empty when nothing is hidden."})
