"""marshmallow schemas for the families resources: the list, the search, registration, one family."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from velferdslab.cases.consent.schemas import ConsentSchema
from velferdslab.cases.enrolment.schemas import EnrolmentSchema
from velferdslab.cases.fields import _text
from velferdslab.cases.household.schemas import MemberSchema
from velferdslab.core.schemas import Date, Id


class FamilyCreateSchema(Schema):
    household_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    language = _text(60, allow_none=True, load_default=None)
    interpreter_needed = fields.Boolean(load_default=False)
    referred_on = Date(required=True)
    referred_by_agency_id = Id(allow_none=True, load_default=None)
    referral_reason = _text(2000, allow_none=True, load_default=None)
    members = fields.List(fields.Nested(MemberSchema), load_default=list, validate=validate.Length(max=30))


class FamilyUpdateSchema(Schema):
    household_name = fields.String(validate=validate.Length(min=1, max=200))
    language = _text(60, allow_none=True)
    interpreter_needed = fields.Boolean()


class MembershipBriefSchema(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    name = fields.String()
    agency_id = fields.Integer(allow_none=True)
    agency = fields.String(allow_none=True)
    role = fields.String()
    start_date = Date()
    end_date = Date(allow_none=True)


class FamilyListItemSchema(Schema):
    id = fields.Integer()
    household_name = fields.String()
    gated = fields.Boolean(metadata={"description": "No valid consent for your agency: name, team and "
                                                   "meetings only."})
    is_lead = fields.Boolean()
    status = fields.String(allow_none=True)
    overall_level = fields.Integer(allow_none=True)
    trend = fields.String(allow_none=True)
    next_meeting_on = Date(allow_none=True)
    open_actions = fields.Integer(allow_none=True)
    overdue_actions = fields.Integer(allow_none=True)
    assessment_due = fields.List(fields.String(), allow_none=True)
    hidden = fields.List(fields.String(), metadata={
        "description": "Why the level or some actions are left out of the counts for the reader: the consents "
                       "their agency lacks (issue 15)."})


class FamilySchema(Schema):
    id = fields.Integer()
    household_name = fields.String()
    language = fields.String(allow_none=True)
    interpreter_needed = fields.Boolean()
    gated = fields.Boolean()
    is_lead = fields.Boolean()
    members = fields.List(fields.Dict())
    enrolment = fields.Nested(EnrolmentSchema, allow_none=True)
    team = fields.List(fields.Nested(MembershipBriefSchema))
    consents = fields.List(fields.Nested(ConsentSchema))
    themes = fields.List(fields.String(), allow_none=True)
    overall_level = fields.Integer(allow_none=True)
    trend = fields.String(allow_none=True)
    next_meeting_on = Date(allow_none=True)
    overdue_actions = fields.Integer(allow_none=True)
    hidden = fields.List(fields.String(), metadata={
        "description": "Why some case content is left out for the reader: the consents their agency lacks (issue 15)."})


class FamilyQuerySchema(Schema):
    q = fields.String(validate=validate.Length(max=100), metadata={"description": "Search by household or "
                                                                                 "member name."})
