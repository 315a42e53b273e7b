"""Who may see a family: its current team members (and, later, audited emergency access).

Every family query goes through :func:`visible_family_ids` or :func:`family_for`, so the rule is
in the queries, not in the templates. A family the user may not see answers exactly like one
that does not exist (404), and the attempt is audit-logged.
"""

from __future__ import annotations

from datetime import date

from flask import abort
from sqlalchemy import Select, and_, or_, select

from velferdslab.audit import services as audit
from velferdslab.auth.models import User
from velferdslab.core.models import today_utc
from velferdslab.extensions import db
from velferdslab.teams.models import TeamMembership


def current_membership_clause(user_id: int, on: date):
    return and_(TeamMembership.user_id == user_id, TeamMembership.start_date <= on,
                or_(TeamMembership.end_date.is_(None), TeamMembership.end_date >= on))


def visible_family_ids(user: User, on: date | None = None) -> Select:
    """A subquery of the ids of the families ``user`` may see today."""
    on = on or today_utc()
    return select(TeamMembership.family_id).where(current_membership_clause(user.id, on))


def membership(user: User, family_id: int, on: date | None = None) -> TeamMembership | None:
    """The user's current membership on the family's team, if any (the lead's row first)."""
    on = on or today_utc()
    return db.session.scalar(
        select(TeamMembership).where(TeamMembership.family_id == family_id, current_membership_clause(user.id, on))
        .order_by(TeamMembership.role).limit(1))


def can_view_family(user: User, family_id: int) -> bool:
    return user.is_authenticated and membership(user, family_id) is not None


def is_team_lead(user: User, family_id: int) -> bool:
    row = membership(user, family_id)
    return row is not None and row.role == "lead"


def deny(family_id: int | None, action: str = "family.denied") -> None:
    """Answer 404 as for a family that does not exist, and keep a record of the attempt."""
    audit.record_even_if_request_fails(action, family_id=family_id, object_type="family", object_id=family_id,
                                       summary={"outcome": "denied"})
    abort(404)
