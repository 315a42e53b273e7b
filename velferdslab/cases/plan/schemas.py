"""marshmallow schemas for goals and actions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from velferdslab.cases.fields import THEME, _one_of
from velferdslab.cases.plan.models import ACTION_STATUSES, GOAL_HORIZONS, GOAL_STATUSES
from velferdslab.core.schemas import Date, Id


class GoalSchema(Schema):
    id = fields.Integer(dump_only=True)
    theme = fields.String(required=True, validate=THEME)
    horizon = fields.String(required=True, validate=_one_of(GOAL_HORIZONS, _l("Velg kort sikt, lang sikt eller drøm.")))
    text = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    status = fields.String(dump_only=True)
    hidden = fields.String(dump_only=True, metadata={
        "description": "Set (with `id` only) when no consent of the reader's agency covers it: why (issue 15)."})


class GoalUpdateSchema(Schema):
    text = fields.String(validate=validate.Length(min=1, max=1000))
    horizon = fields.String(validate=_one_of(GOAL_HORIZONS, _l("Velg kort sikt, lang sikt eller drøm.")))
    status = fields.String(validate=_one_of(GOAL_STATUSES, _l("Ukjent status for målet.")))


class ActionSchema(Schema):
    id = fields.Integer(dump_only=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    owner_user_id = Id(allow_none=True, load_default=None)
    owner_is_family = fields.Boolean(load_default=False)
    due_on = Date(allow_none=True, load_default=None)
    review_on = Date(allow_none=True, load_default=None)
    goal_id = Id(allow_none=True, load_default=None)
    status = fields.String(load_default="planned", validate=_one_of(ACTION_STATUSES, _l("Ukjent status for tiltaket.")))
    meeting_id = fields.Integer(dump_only=True, allow_none=True)
    overdue = fields.Boolean(dump_only=True)
    hidden = fields.String(dump_only=True, metadata={
        "description": "Set (with `id` only) when no consent of the reader's agency covers it: why (issue 15)."})


class ActionUpdateSchema(Schema):
    title = fields.String(validate=validate.Length(min=1, max=300))
    owner_user_id = Id(allow_none=True)
    owner_is_family = fields.Boolean()
    due_on = Date(allow_none=True)
    review_on = Date(allow_none=True)
    goal_id = Id(allow_none=True)
    status = fields.String(validate=_one_of(ACTION_STATUSES, _l("Ukjent status for tiltaket.")))
