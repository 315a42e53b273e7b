"""Household members."""

from __future__ import annotations

from flask.views import MethodView

from velferdslab.audit.actions import AuditAction
from velferdslab.cases.access import Access
from velferdslab.cases.gate import family_route
from velferdslab.cases.household import schemas, services
from velferdslab.cases.household.models import FamilyMember
from velferdslab.cases.household.schemas import _member_out
from velferdslab.cases.web import _user
from velferdslab.cases.web import api_blueprint as blueprint
from velferdslab.core.api import paged
from velferdslab.core.permissions import LOGIN, requires


@blueprint.route("/families/<int:family_id>/members")
class Members(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.MemberSchema(many=True))
    @paged(blueprint)
    @family_route(AuditAction.MEMBER_LIST, content=False)
    def get(self, access: Access):
        """Household members (a gated member gets names and roles only)."""
        return [_member_out(m, access.gated) for m in services.family_members(access.family.id)]

    @requires(LOGIN)
    @blueprint.arguments(schemas.MemberSchema)
    @blueprint.response(201, schemas.MemberSchema)
    @family_route()
    def post(self, data, access: Access):
        """Add a member. No national identity numbers: the schema has no field for one."""
        return _member_out(services.add_member(access, actor=_user(), **data), False)


@blueprint.route("/families/<int:family_id>/members/<int:member_id>")
class MemberById(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.MemberUpdateSchema)
    @blueprint.response(200, schemas.MemberSchema)
    @family_route(load={"member": FamilyMember})
    def patch(self, data, access: Access, member: FamilyMember):
        merged = {k: getattr(member, k) for k in ("first_name", "last_name", "birth_year", "role", "is_contact")}
        merged.update(data)
        return _member_out(services.update_member(access, member, actor=_user(), **merged), False)
