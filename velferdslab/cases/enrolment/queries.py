"""The investment team of an enrolment, in one statement."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Integer, Select, bindparam, select
from sqlalchemy.orm import joinedload

from velferdslab.extensions import db
from velferdslab.teams.models import InvestmentTeam, TeamMembership


def team_rows(family_id: int, enrolment_id: int | None) -> list[TeamMembership]:
    if enrolment_id is None:
        return []
    return list(db.session.scalars(_team_query(), {"family_id": family_id, "enrolment_id": enrolment_id}))


@cache
def _team_query() -> Select[TeamMembership]:
    # Built once with the family and enrolment as parameters (issue 19: asked on every family page).
    return (select(TeamMembership).join(InvestmentTeam, InvestmentTeam.id == TeamMembership.team_id)
            .where(InvestmentTeam.family_id == bindparam("family_id", type_=Integer),
                   InvestmentTeam.enrolment_id == bindparam("enrolment_id", type_=Integer))
            .options(joinedload(TeamMembership.user), joinedload(TeamMembership.agency))
            .order_by(TeamMembership.role, TeamMembership.start_date, TeamMembership.id))
