"""Who may see a family: its current team members, and audited emergency access.

A restricted (*sperret*) or erased family is hidden from its team too; a restricted one is
reachable only through an active emergency-access grant (``audit.emergency``).

Every family query goes through :func:`visible_family_ids` or :func:`family_for`, so the rule is
in the queries, not in the templates. A family the user may not see answers exactly like one
that does not exist (404), and the attempt is audit-logged.
"""

from __future__ import annotations

from datetime import date

from flask import abort
from sqlalchemy import Select, and_, column, exists, or_, select, table
from sqlalchemy.orm import joinedload

from velferdslab.audit import emergency
from velferdslab.audit import services as audit
from velferdslab.auth.models import User
from velferdslab.core.models import today_utc
from velferdslab.extensions import db
from velferdslab.teams.models import TeamMembership

# ``teams`` may not import ``cases``: the two privacy columns are read by table name.
_family = table("family", column("id"), column("restricted_at"), column("erased_at"))


def current_membership_clause(user_id: int, on: date):
    """A current membership of a family that is neither restricted nor erased."""
    hidden = exists().where(_family.c.id == TeamMembership.family_id,
                            or_(_family.c.restricted_at.is_not(None), _family.c.erased_at.is_not(None)))
    return and_(TeamMembership.user_id == user_id, TeamMembership.start_date <= on,
                or_(TeamMembership.end_date.is_(None), TeamMembership.end_date >= on), ~hidden)


def visible_family_ids(user: User, on: date | None = None) -> Select:
    """A subquery of the ids of the families ``user`` may see today."""
    on = on or today_utc()
    team = select(TeamMembership.family_id).where(current_membership_clause(user.id, on))
    if user.has_permission(emergency.PERMISSION):
        return team.union(emergency.family_ids(user.id))
    return team


def membership(user: User, family_id: int, on: date | None = None) -> TeamMembership | None:
    """The user's current membership on the family's team, if any (the lead's row first)."""
    on = on or today_utc()
    return db.session.scalar(
        select(TeamMembership).where(TeamMembership.family_id == family_id, current_membership_clause(user.id, on))
        .order_by(TeamMembership.role).limit(1))


def current_leads(family_id: int, on: date | None = None) -> list[TeamMembership]:
    """The family's current investment lead rows (one, or two on the day of a hand-over), with users."""
    on = on or today_utc()
    return list(db.session.scalars(
        select(TeamMembership).where(TeamMembership.family_id == family_id, TeamMembership.role == "lead",
                                     TeamMembership.start_date <= on,
                                     or_(TeamMembership.end_date.is_(None), TeamMembership.end_date >= on))
        .options(joinedload(TeamMembership.user))))


def emergency_grant(user: User, family_id: int):
    """The user's active emergency-access grant for the family, if any."""
    return emergency.active_grant(user, family_id)


def can_view_family(user: User, family_id: int) -> bool:
    return user.is_authenticated and (membership(user, family_id) is not None
                                      or emergency_grant(user, family_id) is not None)


def is_team_lead(user: User, family_id: int) -> bool:
    row = membership(user, family_id)
    return row is not None and row.role == "lead"


def deny(family_id: int | None, action: str = "family.denied") -> None:
    """Answer 404 as for a family that does not exist, and keep a record of the attempt."""
    audit.record_even_if_request_fails(action, family_id=family_id, object_type="family", object_id=family_id,
                                       summary={"outcome": "denied"})
    abort(404)
