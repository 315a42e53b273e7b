"""Investment teams: one per enrolment, a lead and members from the agencies, each with dates.

Membership is one input of the family gate (``cases.gate``): a user sees a family while on its
team. ``teams`` sits below ``cases`` and knows families and enrolments only by id (foreign keys).
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from velferdslab.audit import directory
from velferdslab.auth.models import Agency, User
from velferdslab.core.models import UTCDateTime, utcnow
from velferdslab.core.vocabulary import Vocabulary
from velferdslab.extensions import Model


class TeamRole(Vocabulary):
    """A person's place on an investment team (not a user role: see ``core.permissions``)."""

    LEAD = "lead", _l("Investeringsleder")
    MEMBER = "member", _l("Medlem")


MEMBERSHIP_ROLES = TeamRole.codes()


class InvestmentTeam(Model):
    __tablename__ = "investment_team"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"), index=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"), index=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    memberships: Mapped[list[TeamMembership]] = relationship(
        back_populates="team", order_by="(TeamMembership.role, TeamMembership.start_date)")


class TeamMembership(Model):
    """A user on a team from ``start_date`` to ``end_date`` (inclusive; open-ended when None)."""

    __tablename__ = "team_membership"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("investment_team.id"), index=True)
    # Denormalised from the team so the access check is one indexed lookup.
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    # The agency the member represents on this team (the user's agency when added).
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    role: Mapped[str] = mapped_column(String(10), default="member")
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    team: Mapped[InvestmentTeam] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship()
    agency: Mapped[Agency | None] = relationship()

    __table_args__ = (
        CheckConstraint("role IN ('lead', 'member')", name="role_known"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="ends_after_start"),
        Index("ix_team_membership_user_family", "user_id", "family_id"),
        Index("ix_team_membership_family", "family_id"),
    )

    @property
    def is_lead(self) -> bool:
        return self.role == TeamRole.LEAD

    def is_current(self, on: date) -> bool:
        return self.start_date <= on and (self.end_date is None or self.end_date >= on)


# Whether an audited read came from the team that day (the audit review's "off team" flag).
directory.provide("memberships", TeamMembership.__table__)
