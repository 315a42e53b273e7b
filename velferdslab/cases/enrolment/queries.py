"""The investment team of an enrolment, in one statement."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from velferdslab.extensions import db
from velferdslab.teams.models import InvestmentTeam, TeamMembership


def team_rows(family_id: int, enrolment_id: int | None) -> list[TeamMembership]:
    if enrolment_id is None:
        return []
    return list(db.session.scalars(
        select(TeamMembership).join(InvestmentTeam, InvestmentTeam.id == TeamMembership.team_id)
        .where(InvestmentTeam.family_id == family_id, InvestmentTeam.enrolment_id == enrolment_id)
        .options(joinedload(TeamMembership.user), joinedload(TeamMembership.agency))
        .order_by(TeamMembership.role, TeamMembership.start_date, TeamMembership.id)))
