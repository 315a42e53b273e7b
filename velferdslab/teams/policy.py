"""Team membership as facts, and who may do what to a team: the rules ``core.policy.can`` asks for
``InvestmentTeam``.

Whether a user may see a *family* is the family gate's question (``cases.gate``): membership is one
of its inputs, with emergency access, restriction and consent. This module knows families only by
id, and knows nothing of them but their team.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import joinedload

from velferdslab.core import policy
from velferdslab.core.models import today_local
from velferdslab.core.permissions import Permission
from velferdslab.extensions import db
from velferdslab.teams.models import InvestmentTeam, TeamMembership, TeamRole


def current_membership_clause(user_id: int, on: date) -> ColumnElement[bool]:
    """SQL: a membership of ``user_id`` that is current on ``on`` (inclusive dates)."""
    return and_(TeamMembership.user_id == user_id, TeamMembership.start_date <= on,
                or_(TeamMembership.end_date.is_(None), TeamMembership.end_date >= on))


def membership(user: Any, family_id: int, on: date | None = None) -> TeamMembership | None:
    """The user's current membership on the family's team, if any (the lead's row first)."""
    on = on or today_local()
    return db.session.scalar(
        select(TeamMembership).where(TeamMembership.family_id == family_id, current_membership_clause(user.id, on))
        .order_by(TeamMembership.role).limit(1))


def current_leads(family_id: int, on: date | None = None) -> list[TeamMembership]:
    """The family's current investment lead rows (one, or two on the day of a hand-over), with users."""
    on = on or today_local()
    return list(db.session.scalars(
        select(TeamMembership).where(TeamMembership.family_id == family_id, TeamMembership.role == TeamRole.LEAD,
                                     TeamMembership.start_date <= on,
                                     or_(TeamMembership.end_date.is_(None), TeamMembership.end_date >= on))
        .options(joinedload(TeamMembership.user))))


@policy.rule(InvestmentTeam, "manage")
def _manage(user: Any, team: InvestmentTeam) -> policy.Decision:
    """Add and end memberships, hand the lead over: the team's current lead, whose roles still let
    them lead teams."""
    if not user.has_permission(Permission.TEAMS_MANAGE):
        return policy.deny("no_role")
    row = membership(user, team.family_id)
    if row is None or row.team_id != team.id or not row.is_lead:
        return policy.deny("not_lead")
    return policy.ALLOW


@policy.rule(InvestmentTeam, "join")
def _join(user: Any, team: InvestmentTeam) -> policy.Decision:
    """Who may be put on a team: active staff of its lab who work with families."""
    if user.lab_id != team.lab_id:
        return policy.deny("other_lab")
    return policy.ALLOW if user.has_permission(Permission.FAMILIES_WORK) else policy.deny("no_role")


@policy.rule(InvestmentTeam, "lead")
def _lead(user: Any, team: InvestmentTeam) -> policy.Decision:
    """Who may be the team's investment lead: staff of its lab whose roles let them lead teams."""
    if user.lab_id != team.lab_id:
        return policy.deny("other_lab")
    return policy.ALLOW if user.has_permission(Permission.TEAMS_MANAGE) else policy.deny("no_role")
