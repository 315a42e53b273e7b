"""Household members."""

from __future__ import annotations

from flask.views import MethodView

from velferdslab.cases.household import schemas, services
from velferdslab.cases.household.models import FamilyMember
from velferdslab.cases.household.schemas import _member_out
from velferdslab.cases.web import _access, _own, _read, _user
from velferdslab.cases.web import api_blueprint as blueprint
from velferdslab.core.permissions import LOGIN, requires


@blueprint.route("/families/<int:family_id>/members")
class Members(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.MemberSchema(many=True))
    def get(self, family_id: int):
        """Household members (a gated member gets names and roles only)."""
        access = _access(family_id)
        _read(access, "member.list", purpose="api")
        return [_member_out(m, access.gated) for m in services.family_members(family_id)]

    @requires(LOGIN)
    @blueprint.arguments(schemas.MemberSchema)
    @blueprint.response(201, schemas.MemberSchema)
    def post(self, data, family_id: int):
        """Add a member. No national identity numbers: the schema has no field for one."""
        access = _access(family_id, content=True)
        return _member_out(services.add_member(access, actor=_user(), **data), False)


@blueprint.route("/families/<int:family_id>/members/<int:member_id>")
class MemberById(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.MemberUpdateSchema)
    @blueprint.response(200, schemas.MemberSchema)
    def patch(self, data, family_id: int, member_id: int):
        access = _access(family_id, content=True)
        member = _own(FamilyMember, member_id, family_id)
        merged = {k: getattr(member, k) for k in ("first_name", "last_name", "birth_year", "role", "is_contact")}
        merged.update(data)
        return _member_out(services.update_member(access, member, actor=_user(), **merged), False)
