"""marshmallow schemas for the auth API. Unknown fields are rejected (marshmallow's RAISE)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from velferdslab.auth.models import AGENCY_KINDS
from velferdslab.core.permissions import ROLES
from velferdslab.core.schemas import DateTime, Id

NAME = validate.Length(min=1, max=200)


class AgencySchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=NAME)
    kind = fields.String(required=True, validate=validate.OneOf(AGENCY_KINDS))
    active = fields.Boolean(load_default=True)


class AgencyUpdateSchema(Schema):
    name = fields.String(validate=NAME)
    kind = fields.String(validate=validate.OneOf(AGENCY_KINDS))
    active = fields.Boolean()


class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=NAME)
    email = fields.Email(required=True, validate=validate.Length(max=254))
    agency_id = Id(allow_none=True, load_default=None)
    lab_id = fields.Integer(dump_only=True)
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), required=True,
                        validate=validate.Length(min=1, max=len(ROLES)))
    active = fields.Boolean(dump_only=True)


class UserCreateSchema(UserSchema):
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=12, max=200))


class UserUpdateSchema(Schema):
    name = fields.String(validate=NAME)
    email = fields.Email(validate=validate.Length(max=254))
    agency_id = Id(allow_none=True)
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), validate=validate.Length(min=1))
    active = fields.Boolean()


class MeSchema(UserSchema):
    permissions = fields.List(fields.String(), dump_only=True)


class TokenSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    prefix = fields.String(dump_only=True)
    created_at = DateTime(dump_only=True)
    last_used_at = DateTime(dump_only=True, allow_none=True)
    revoked_at = DateTime(dump_only=True, allow_none=True)
    expires_at = DateTime(dump_only=True, metadata={
        "description": "The token stops working then, or earlier after API_TOKEN_IDLE_DAYS unused, "
                       "a revocation or a new password."})
    expires_in_days = fields.Integer(load_only=True, validate=validate.Range(min=1, max=365), metadata={
        "description": "Lifetime in days (default: the configured API_TOKEN_DAYS, 90)."})


class TokenCreatedSchema(TokenSchema):
    token = fields.String(dump_only=True, metadata={"description": "Shown once; store it now."})
