"""JSON API for investment teams: who is on a family's team, and (for its lead) changing it.

Off the team is the audited 404 of a family that does not exist; changes need the team's current
investment lead (403 otherwise).
"""

from __future__ import annotations

from flask import abort
from flask.views import MethodView
from flask_login import current_user

from velferdslab.audit import services as audit
from velferdslab.auth.models import User
from velferdslab.core.api import Blueprint
from velferdslab.core.models import today_local
from velferdslab.core.permissions import LOGIN, requires
from velferdslab.extensions import db
from velferdslab.teams import policy, schemas, services
from velferdslab.teams.models import TeamMembership

blueprint = Blueprint("teams_api", __name__, url_prefix="/api/v1", description="Investment teams")


def _team(family_id: int):
    team = services.current_team(family_id) if policy.membership(current_user, family_id) else None
    if team is None:
        policy.deny(family_id)
    return team


def _team_out(team) -> dict:
    today = today_local()
    return {"id": team.id, "family_id": team.family_id, "enrolment_id": team.enrolment_id,
            "memberships": [{"id": m.id, "user_id": m.user_id, "name": m.user.name, "agency_id": m.agency_id,
                             "agency": m.agency.name if m.agency else None, "role": m.role,
                             "start_date": m.start_date, "end_date": m.end_date, "current": m.is_current(today)}
                            for m in services.memberships(team.id)]}


def _actor():
    return current_user._get_current_object()


@blueprint.route("/families/<int:family_id>/team")
class Team(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.TeamSchema)
    def get(self, family_id: int):
        """The family's current team with every membership, past and present."""
        team = _team(family_id)
        audit.record("team.view", family_id=family_id, object_type="investment_team", object_id=team.id,
                     purpose="api")
        return _team_out(team)


@blueprint.route("/families/<int:family_id>/team/memberships")
class Memberships(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.MembershipSchema)
    @blueprint.response(201, schemas.TeamSchema)
    def post(self, data, family_id: int):
        """Add a person to the team for a period (team lead). One lead at a time; nobody twice."""
        team = _team(family_id)
        services.require_lead(current_user, team)
        services.add_member(team, db.session.get(User, data["user_id"]), role=data["role"],
                            start_date=data["start_date"], end_date=data["end_date"], actor=_actor())
        return _team_out(team)


@blueprint.route("/families/<int:family_id>/team/memberships/<int:membership_id>/end")
class MembershipEnd(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.EndMembershipSchema)
    @blueprint.response(200, schemas.TeamSchema)
    def post(self, data, family_id: int, membership_id: int):
        """End a membership on `end_date` (inclusive; not before it began)."""
        team = _team(family_id)
        row = db.session.get(TeamMembership, membership_id)
        if row is None or row.team_id != team.id:
            abort(404)
        services.require_lead(current_user, team)
        services.end_membership(row, data["end_date"], actor=_actor())
        return _team_out(team)


@blueprint.route("/families/<int:family_id>/team/lead")
class Lead(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.TransferLeadSchema)
    @blueprint.response(200, schemas.TeamSchema)
    def post(self, data, family_id: int):
        """Hand the lead over to another investment lead from `on`."""
        team = _team(family_id)
        services.require_lead(current_user, team)
        services.transfer_lead(team, db.session.get(User, data["user_id"]), on=data["on"],
                               keep_old_as_member=data["keep_old_as_member"], actor=_actor())
        return _team_out(team)
