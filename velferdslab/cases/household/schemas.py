"""marshmallow schemas for household members."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from velferdslab.cases.fields import _one_of
from velferdslab.cases.household.models import MEMBER_ROLES, FamilyMember


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


def _member_out(member: FamilyMember, gated: bool) -> dict:
    out = {"id": member.id, "first_name": member.first_name, "last_name": member.last_name, "role": member.role,
           "is_contact": member.is_contact}
    if not gated:
        out["birth_year"] = member.birth_year
    return out
