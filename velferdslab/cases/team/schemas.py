"""marshmallow schemas for the team API. Unknown fields are rejected (422)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from velferdslab.core.schemas import Date, Id
from velferdslab.teams.models import MEMBERSHIP_ROLES


class MembershipSchema(Schema):
    id = fields.Integer(dump_only=True)
    user_id = Id(required=True)
    name = fields.String(dump_only=True)
    agency_id = fields.Integer(dump_only=True, allow_none=True)
    agency = fields.String(dump_only=True, allow_none=True)
    role = fields.String(load_default="member", validate=validate.OneOf(MEMBERSHIP_ROLES, error=_l("Ukjent rolle.")))
    start_date = Date(required=True)
    end_date = Date(allow_none=True, load_default=None)
    current = fields.Boolean(dump_only=True)


class TeamSchema(Schema):
    id = fields.Integer()
    family_id = fields.Integer()
    enrolment_id = fields.Integer()
    memberships = fields.List(fields.Nested(MembershipSchema))


class EndMembershipSchema(Schema):
    end_date = Date(required=True)


class TransferLeadSchema(Schema):
    user_id = Id(required=True)
    on = Date(required=True)
    keep_old_as_member = fields.Boolean(load_default=True)
