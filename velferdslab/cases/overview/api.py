"""The families resources: *Mine familier* and the search (list), registration (create), one
family (get) and its own fields (patch)."""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user

from velferdslab.audit.actions import AuditAction
from velferdslab.cases.access import Access
from velferdslab.cases.enrolment import services as enrolment_services
from velferdslab.cases.gate import family_access, family_route
from velferdslab.cases.household import services as household_services
from velferdslab.cases.overview import queries, schemas, summary
from velferdslab.cases.web import _user
from velferdslab.cases.web import api_blueprint as blueprint
from velferdslab.core.api import paged
from velferdslab.core.permissions import LOGIN, requires


def _membership_out(m) -> dict:
    return {"id": m.id, "user_id": m.user_id, "name": m.user.name, "agency_id": m.agency_id,
            "agency": m.agency.name if m.agency else None, "role": m.role, "start_date": m.start_date,
            "end_date": m.end_date}


def _family_out(read: summary.FamilyRead) -> dict:
    """The answer ``FamilySchema`` dumps; ``summary.family_read`` built its parts as plain dicts."""
    access, gated = read.access, read.gated
    out = {"id": access.family.id, "household_name": access.family.household_name,
           "language": access.family.language, "interpreter_needed": access.family.interpreter_needed,
           "gated": gated, "is_lead": access.is_lead, "members": read.members, "enrolment": read.enrolment,
           "team": read.current_team, "consents": read.current_consents, "next_meeting_on": read.next_meeting_on}
    if not gated:
        out.update(themes=read.themes, overall_level=read.overall_level, trend=read.trend,
                   overdue_actions=read.overdue_actions, hidden=read.hidden)
    return out


@blueprint.route("/families")
class Families(MethodView):
    @requires("families.work")
    @blueprint.arguments(schemas.FamilyQuerySchema, location="query")
    @blueprint.response(200, schemas.FamilyListItemSchema(many=True))
    @paged(blueprint)
    def get(self, args):
        """The families you are on the team of (*Mine familier*), or those whose name matches `q`."""
        summaries = queries.read_my_families_matching(current_user, args.get("q"))
        out = []
        for s in summaries:
            row = {"id": s.family.id, "household_name": s.family.household_name, "gated": s.access.gated,
                   "is_lead": s.access.is_lead, "status": s.enrolment.status if s.enrolment else None,
                   "next_meeting_on": s.next_meeting_on}
            if not s.access.gated:
                row.update(overall_level=s.level, trend=s.trend, open_actions=s.open_actions,
                           overdue_actions=s.overdue_actions, assessment_due=[kind for kind, _when in s.due],
                           hidden=s.hidden)
            out.append(row)
        return out

    @requires("teams.manage")
    @blueprint.arguments(schemas.FamilyCreateSchema)
    @blueprint.response(201, schemas.FamilySchema)
    def post(self, data):
        """Register a referred family; you become the lead of its investment team."""
        family = enrolment_services.create_family(current_user.lab, actor=_user(), **data)
        access = family_access(current_user, family.id)
        # create_family made the user (teams.manage, so a team lead) the lead of the family's new team.
        assert access is not None
        return _family_out(summary.family_read(access))


@blueprint.route("/families/<int:family_id>")
class FamilyById(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.FamilySchema)
    @family_route(AuditAction.FAMILY_VIEW, content=False)
    def get(self, access: Access):
        """One family: members, enrolment, team, consent and (with consent) the journey's latest level."""
        return _family_out(summary.family_read(access))

    @requires(LOGIN)
    @blueprint.arguments(schemas.FamilyUpdateSchema)
    @blueprint.response(200, schemas.FamilySchema)
    @family_route()
    def patch(self, data, access: Access):
        family = access.family
        merged = {"household_name": family.household_name, "language": family.language,
                  "interpreter_needed": family.interpreter_needed, **data}
        household_services.update_family(access, actor=_user(), **merged)
        return _family_out(summary.family_read(access))
