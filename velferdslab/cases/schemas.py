"""marshmallow schemas for the cases API. Unknown fields are rejected (marshmallow's RAISE): a body
with ``team_id``, ``family_id`` or ``is_current`` gets 422 and changes nothing.

Input schemas check the shape (types, known codes, the 1–4 scale); the rules that need the
database (an applicable theme, an owner on the team, a date after the enrolment began) are the
services', which answer 422 with the same ``{field: [message]}`` body.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from velferdslab.cases.enrolment.models import CLOSE_REASONS
from velferdslab.cases.household.models import MEMBER_ROLES
from velferdslab.cases.journey.models import PERSPECTIVES
from velferdslab.cases.journey.services import ASSESSMENT_KINDS
from velferdslab.cases.plan.models import ACTION_STATUSES, GOAL_HORIZONS, GOAL_STATUSES
from velferdslab.cases.themes import THEME_CODES
from velferdslab.core.schemas import Id

LEVEL = validate.Range(
    min=1, max=4, error=_l("Nivået må være 1 (uholdbar), 2 (utsatt), 3 (stabil) eller 4 (bærekraftig)."))
THEME = validate.OneOf(THEME_CODES, error=_l("Ukjent tema."))


def _one_of(values, message=_l("Ugyldig verdi.")):
    return validate.OneOf(values, error=message)


def _text(max_length: int, **kwargs):
    return fields.String(validate=validate.Length(max=max_length), **kwargs)


# --- members and families ------------------------------------------------------------------------

class MemberSchema(Schema):
    id = fields.Integer(dump_only=True)
    first_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    last_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    birth_year = fields.Integer(required=True, strict=True)
    role = fields.String(required=True, validate=_one_of(MEMBER_ROLES, _l("Ukjent rolle i familien.")))
    is_contact = fields.Boolean(load_default=False)


class MemberUpdateSchema(Schema):
    first_name = fields.String(validate=validate.Length(min=1, max=100))
    last_name = fields.String(validate=validate.Length(min=1, max=100))
    birth_year = fields.Integer(strict=True)
    role = fields.String(validate=_one_of(MEMBER_ROLES, _l("Ukjent rolle i familien.")))
    is_contact = fields.Boolean()


class FamilyCreateSchema(Schema):
    household_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    language = _text(60, allow_none=True, load_default=None)
    interpreter_needed = fields.Boolean(load_default=False)
    referred_on = fields.Date(required=True)
    referred_by_agency_id = Id(allow_none=True, load_default=None)
    referral_reason = _text(2000, allow_none=True, load_default=None)
    members = fields.List(fields.Nested(MemberSchema), load_default=list, validate=validate.Length(max=30))


class FamilyUpdateSchema(Schema):
    household_name = fields.String(validate=validate.Length(min=1, max=200))
    language = _text(60, allow_none=True)
    interpreter_needed = fields.Boolean()


class EnrolmentSchema(Schema):
    id = fields.Integer()
    status = fields.String()
    referred_on = fields.Date()
    referred_by_agency_id = fields.Integer(allow_none=True)
    referral_reason = fields.String(allow_none=True)
    started_on = fields.Date(allow_none=True)
    closed_on = fields.Date(allow_none=True)
    close_reason = fields.String(allow_none=True)
    follow_ups = fields.Dict(keys=fields.String(), values=fields.Date(),
                             metadata={"description": "Follow-up assessments due after closure (6 and 12 months)."})


class MembershipBriefSchema(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    name = fields.String()
    agency_id = fields.Integer(allow_none=True)
    agency = fields.String(allow_none=True)
    role = fields.String()
    start_date = fields.Date()
    end_date = fields.Date(allow_none=True)


class ConsentSchema(Schema):
    id = fields.Integer(dump_only=True)
    agency_id = Id(required=True)
    purpose = fields.String(required=True, validate=validate.Length(min=1, max=200))
    given_by_member_id = Id(required=True)
    given_on = fields.Date(required=True)
    expires_on = fields.Date(allow_none=True, load_default=None)
    withdrawn_on = fields.Date(dump_only=True, allow_none=True)
    supersedes_id = fields.Integer(dump_only=True, allow_none=True)
    current = fields.Boolean(dump_only=True, metadata={"description": "Not superseded by a newer row."})
    valid = fields.Boolean(dump_only=True, metadata={"description": "Current, given, not expired or withdrawn."})


class ConsentWithdrawSchema(Schema):
    withdrawn_on = fields.Date(required=True)
    by_member_id = Id(required=True)


class ThemeSchema(Schema):
    code = fields.String()
    name = fields.String()
    description = fields.String()
    applicable = fields.Boolean()
    default = fields.Boolean()


class ThemeApplicabilitySchema(Schema):
    applicable = fields.Boolean(required=True)


class FamilyListItemSchema(Schema):
    id = fields.Integer()
    household_name = fields.String()
    gated = fields.Boolean(metadata={"description": "No valid consent for your agency: name, team and "
                                                   "meetings only."})
    is_lead = fields.Boolean()
    status = fields.String(allow_none=True)
    overall_level = fields.Integer(allow_none=True)
    trend = fields.String(allow_none=True)
    next_meeting_on = fields.Date(allow_none=True)
    open_actions = fields.Integer(allow_none=True)
    overdue_actions = fields.Integer(allow_none=True)
    assessment_due = fields.List(fields.String(), allow_none=True)


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
    next_meeting_on = fields.Date(allow_none=True)
    overdue_actions = fields.Integer(allow_none=True)


class FamilyQuerySchema(Schema):
    q = fields.String(validate=validate.Length(max=100), metadata={"description": "Search by household or "
                                                                                 "member name."})


class EnrolmentActivateSchema(Schema):
    started_on = fields.Date(required=True)


class EnrolmentCloseSchema(Schema):
    closed_on = fields.Date(required=True)
    reason = fields.String(required=True, validate=_one_of(CLOSE_REASONS, _l("Ukjent grunn for avslutning.")))


class ReferralSchema(Schema):
    referred_on = fields.Date(required=True)
    referred_by_agency_id = Id(allow_none=True, load_default=None)
    referral_reason = _text(2000, allow_none=True, load_default=None)


# --- assessments ---------------------------------------------------------------------------------

class RatingSchema(Schema):
    theme = fields.String(required=True, validate=THEME)
    perspective = fields.String(required=True, validate=_one_of(PERSPECTIVES, _l("Ukjent perspektiv.")))
    level = fields.Integer(required=True, strict=True, validate=LEVEL)
    note = _text(500, allow_none=True, load_default=None)


class AssessmentInputSchema(Schema):
    ratings = fields.List(fields.Nested(RatingSchema), required=True, validate=validate.Length(min=1, max=21))
    overall_level = fields.Integer(strict=True, allow_none=True, load_default=None, validate=LEVEL,
                                   metadata={"description": "Omit to accept the suggested level."})
    override_reason = _text(500, allow_none=True, load_default=None)


class AssessmentCreateSchema(AssessmentInputSchema):
    assessed_on = fields.Date(required=True)
    kind = fields.String(load_default="regular", validate=_one_of(ASSESSMENT_KINDS, _l("Ukjent type vurdering.")))


class AssessmentCorrectionSchema(AssessmentInputSchema):
    assessed_on = fields.Date(required=True)
    correction_reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class AssessmentSchema(Schema):
    id = fields.Integer()
    assessed_on = fields.Date()
    kind = fields.String()
    version = fields.Integer()
    is_current = fields.Boolean()
    supersedes_id = fields.Integer(allow_none=True)
    meeting_id = fields.Integer(allow_none=True)
    overall_level = fields.Integer()
    suggested_level = fields.Integer()
    override_reason = fields.String(allow_none=True)
    correction_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    ratings = fields.List(fields.Nested(RatingSchema))
    versions = fields.List(fields.Integer(), metadata={"description": "Ids of every version, newest first."})


# --- plan ----------------------------------------------------------------------------------------

class GoalSchema(Schema):
    id = fields.Integer(dump_only=True)
    theme = fields.String(required=True, validate=THEME)
    horizon = fields.String(required=True, validate=_one_of(GOAL_HORIZONS, _l("Velg kort sikt, lang sikt eller drøm.")))
    text = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    status = fields.String(dump_only=True)


class GoalUpdateSchema(Schema):
    text = fields.String(validate=validate.Length(min=1, max=1000))
    horizon = fields.String(validate=_one_of(GOAL_HORIZONS, _l("Velg kort sikt, lang sikt eller drøm.")))
    status = fields.String(validate=_one_of(GOAL_STATUSES, _l("Ukjent status for målet.")))


class ActionSchema(Schema):
    id = fields.Integer(dump_only=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    owner_user_id = Id(allow_none=True, load_default=None)
    owner_is_family = fields.Boolean(load_default=False)
    due_on = fields.Date(allow_none=True, load_default=None)
    review_on = fields.Date(allow_none=True, load_default=None)
    goal_id = Id(allow_none=True, load_default=None)
    status = fields.String(load_default="planned", validate=_one_of(ACTION_STATUSES, _l("Ukjent status for tiltaket.")))
    meeting_id = fields.Integer(dump_only=True, allow_none=True)
    overdue = fields.Boolean(dump_only=True)


class ActionUpdateSchema(Schema):
    title = fields.String(validate=validate.Length(min=1, max=300))
    owner_user_id = Id(allow_none=True)
    owner_is_family = fields.Boolean()
    due_on = fields.Date(allow_none=True)
    review_on = fields.Date(allow_none=True)
    goal_id = Id(allow_none=True)
    status = fields.String(validate=_one_of(ACTION_STATUSES, _l("Ukjent status for tiltaket.")))


class MeetingActionUpdateSchema(ActionUpdateSchema):
    id = Id(required=True)


# --- meetings ------------------------------------------------------------------------------------

class MeetingInputSchema(Schema):
    held_on = fields.Date(required=True)
    attendee_user_ids = fields.List(Id(), load_default=list, validate=validate.Length(max=50))
    attendee_member_ids = fields.List(Id(), load_default=list, validate=validate.Length(max=50))
    notes = _text(20000, allow_none=True, load_default=None)
    decisions = _text(20000, allow_none=True, load_default=None)
    next_meeting_on = fields.Date(allow_none=True, load_default=None)


class MeetingCreateSchema(MeetingInputSchema):
    assessment = fields.Nested(AssessmentInputSchema, allow_none=True, load_default=None,
                               metadata={"description": "That day's assessment (dated the meeting day)."})
    action_updates = fields.List(fields.Nested(MeetingActionUpdateSchema), load_default=list,
                                 validate=validate.Length(max=200))
    new_actions = fields.List(fields.Nested(ActionSchema), load_default=list, validate=validate.Length(max=50))


class MeetingSchema(Schema):
    id = fields.Integer()
    held_on = fields.Date()
    next_meeting_on = fields.Date(allow_none=True)
    attendee_user_ids = fields.List(fields.Integer())
    attendee_member_ids = fields.List(fields.Integer())
    notes = fields.String(allow_none=True, metadata={"description": "Left out for a gated member."})
    decisions = fields.String(allow_none=True, metadata={"description": "Left out for a gated member."})
    assessment_id = fields.Integer(allow_none=True)
    action_ids = fields.List(fields.Integer())
