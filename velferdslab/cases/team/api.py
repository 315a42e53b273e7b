"""JSON API for investment teams: who is on a family's team, and (for its lead) changing it.

Same rules as the pages: the family gate decides who sees the team (off the team is the audited
404 of a family that does not exist), ``core.policy`` who may change it (403 otherwise).
"""

from __future__ import annotations

from typing import Any

from flask import abort
from flask.views import MethodView
from flask_login import current_user

from velferdslab.audit.actions import AuditAction
from velferdslab.auth.models import User
from velferdslab.cases.access import Access
from velferdslab.cases.gate import family_route
from velferdslab.cases.team import schemas
from velferdslab.cases.team.web import current_team, managed_team
from velferdslab.core.api import Blueprint
from velferdslab.core.models import today_local
from velferdslab.core.permissions import LOGIN, requires
from velferdslab.extensions import db
from velferdslab.teams import services
from velferdslab.teams.models import InvestmentTeam, TeamMembership

blueprint = Blueprint("teams_api", __name__, url_prefix="/api/v1", description="Investment teams")


def _team_out(team: InvestmentTeam) -> dict[str, Any]:
    today = today_local()
    return {"id": team.id, "family_id": team.family_id, "enrolment_id": team.enrolment_id,
            "memberships": [{"id": m.id, "user_id": m.user_id, "name": m.user.name, "agency_id": m.agency_id,
                             "agency": m.agency.name if m.agency else None, "role": m.role,
                             "start_date": m.start_date, "end_date": m.end_date, "current": m.is_current(today)}
                            for m in services.memberships(team.id)]}


def _actor() -> User:
    return current_user._get_current_object()


@blueprint.route("/families/<int:family_id>/team")
class Team(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.TeamSchema)
    @family_route(AuditAction.TEAM_VIEW, content=False)
    def get(self, access: Access) -> Any:
        """The family's current team with every membership, past and present."""
        return _team_out(current_team(access))


@blueprint.route("/families/<int:family_id>/team/memberships")
class Memberships(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.MembershipSchema)
    @blueprint.response(201, schemas.TeamSchema)
    @family_route(content=False, emergency="none")
    def post(self, data: dict[str, Any], access: Access) -> Any:
        """Add a person to the team for a period (team lead). One lead at a time; nobody twice; only
        staff whose roles let them work with families (and, to lead, lead teams)."""
        team = managed_team(access)
        services.add_member(team, db.session.get(User, data["user_id"]), role=data["role"],
                            start_date=data["start_date"], end_date=data["end_date"], actor=_actor())
        return _team_out(team)


@blueprint.route("/families/<int:family_id>/team/memberships/<int:membership_id>/end")
class MembershipEnd(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.EndMembershipSchema)
    @blueprint.response(200, schemas.TeamSchema)
    @family_route(content=False, load={"membership": TeamMembership}, emergency="none")
    def post(self, data: dict[str, Any], access: Access, membership: TeamMembership) -> Any:
        """End a membership on `end_date` (inclusive; not before it began)."""
        team = managed_team(access)
        if membership.team_id != team.id:
            abort(404)
        services.end_membership(membership, data["end_date"], actor=_actor())
        return _team_out(team)


@blueprint.route("/families/<int:family_id>/team/lead")
class Lead(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.TransferLeadSchema)
    @blueprint.response(200, schemas.TeamSchema)
    @family_route(content=False, emergency="none")
    def post(self, data: dict[str, Any], access: Access) -> Any:
        """Hand the lead over to another investment lead from `on`."""
        team = managed_team(access)
        services.transfer_lead(team, db.session.get(User, data["user_id"]), on=data["on"],
                               keep_old_as_member=data["keep_old_as_member"], actor=_actor())
        return _team_out(team)
