"""Families, members, enrolment, consent, journey assessments, the plan (*duken*) and meetings.

Levels are stored as integers 1–4 (uholdbar, utsatt, stabil, bærekraftig) so reports aggregate
them in SQL; the names live in ``cases.themes``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from velferdslab.auth.models import Agency, User
from velferdslab.core.models import UTCDateTime, one_of, utcnow
from velferdslab.extensions import db
from velferdslab.teams.models import InvestmentTeam

MEMBER_ROLES = ("parent", "child", "young_person", "other")
ENROLMENT_STATUSES = ("referred", "active", "closed")
CLOSE_REASONS = ("goals_reached", "moved", "withdrew", "other")
PERSPECTIVES = ("team", "family", "young_person")
GOAL_HORIZONS = ("short", "long", "dream")
GOAL_STATUSES = ("open", "reached", "dropped")
ACTION_STATUSES = ("planned", "in_progress", "done", "dropped")
THEME_CODES = ("bolig", "arbeid", "skole", "nettverk", "okonomi", "helse", "oppvekst")


class Family(db.Model):
    """A household (or a single young person) in the lab."""

    __tablename__ = "family"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"), index=True)
    household_name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(60))
    interpreter_needed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Data protection (``privacy``): a restricted (*sperret*) family is hidden from everyone but
    # emergency access; an erased one keeps only anonymous levels and spend for the statistics.
    restricted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    members: Mapped[list[FamilyMember]] = relationship(
        back_populates="family", order_by="FamilyMember.birth_year")
    enrolments: Mapped[list[Enrolment]] = relationship(back_populates="family", order_by="Enrolment.referred_on")


class FamilyMember(db.Model):
    __tablename__ = "family_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"), index=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    birth_year: Mapped[int] = mapped_column(SmallInteger)
    role: Mapped[str] = mapped_column(String(20))
    # The family's contact person for the team (one per family, kept so by the service).
    is_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    family: Mapped[Family] = relationship(back_populates="members")

    __table_args__ = (
        CheckConstraint(one_of("role", MEMBER_ROLES), name="role_known"),
        CheckConstraint("birth_year BETWEEN 1900 AND 2100", name="birth_year_range"),
        UniqueConstraint("family_id", "first_name", "last_name", "birth_year"),
    )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Enrolment(db.Model):
    """One stay in the lab: referred → active → closed. A family may enrol again later."""

    __tablename__ = "enrolment"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"), index=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="referred")
    referred_on: Mapped[date] = mapped_column(Date)
    referred_by_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    referral_reason: Mapped[str | None] = mapped_column(Text)
    started_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    close_reason: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    family: Mapped[Family] = relationship(back_populates="enrolments")
    referred_by_agency: Mapped[Agency | None] = relationship()
    team: Mapped[InvestmentTeam | None] = relationship(primaryjoin="Enrolment.id == InvestmentTeam.enrolment_id",
                                                       foreign_keys="InvestmentTeam.enrolment_id", uselist=False,
                                                       viewonly=True)

    __table_args__ = (
        CheckConstraint(one_of("status", ENROLMENT_STATUSES), name="status_known"),
        CheckConstraint("close_reason IS NULL OR " + one_of("close_reason", CLOSE_REASONS), name="close_reason_known"),
        CheckConstraint("started_on IS NULL OR started_on >= referred_on", name="starts_after_referral"),
        CheckConstraint("closed_on IS NULL OR (started_on IS NOT NULL AND closed_on >= started_on)",
                        name="closes_after_start"),
        CheckConstraint("status <> 'closed' OR (closed_on IS NOT NULL AND close_reason IS NOT NULL)",
                        name="closed_has_date_and_reason"),
    )


class Consent(db.Model):
    """Consent to share between agencies, per agency and purpose. Rows are never edited.

    A change (renewal, withdrawal) is a new row that names the row it ``supersedes``; the
    current state of a (family, agency, purpose) is its one row that nothing supersedes.
    """

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    purpose: Mapped[str] = mapped_column(String(200))
    given_by_member_id: Mapped[int] = mapped_column(ForeignKey("family_member.id"))
    given_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("consent.id"), unique=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agency: Mapped[Agency] = relationship()
    given_by: Mapped[FamilyMember] = relationship()

    __table_args__ = (
        CheckConstraint("expires_on IS NULL OR expires_on >= given_on", name="expires_after_given"),
        CheckConstraint("withdrawn_on IS NULL OR withdrawn_on >= given_on", name="withdrawn_after_given"),
        Index("ix_consent_family_agency", "family_id", "agency_id"),
    )


class FamilyTheme(db.Model):
    """Whether a theme applies to a family, where it differs from the default rule."""

    __tablename__ = "family_theme"

    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"), primary_key=True)
    theme: Mapped[str] = mapped_column(String(20), primary_key=True)
    applicable: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (CheckConstraint(one_of("theme", THEME_CODES), name="theme_known"),)


class Meeting(db.Model):
    __tablename__ = "meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"))
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"))
    held_on: Mapped[date] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    decisions: Mapped[str | None] = mapped_column(Text)
    next_meeting_on: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    attendees: Mapped[list[MeetingAttendee]] = relationship(back_populates="meeting", cascade="all, delete-orphan")

    __table_args__ = (Index("ix_meeting_family_held", "family_id", "held_on"),)


class MeetingAttendee(db.Model):
    """Someone at a meeting: a staff user or a family member (exactly one of the two)."""

    __tablename__ = "meeting_attendee"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("family_member.id"))

    meeting: Mapped[Meeting] = relationship(back_populates="attendees")
    user: Mapped[User | None] = relationship()
    member: Mapped[FamilyMember | None] = relationship()

    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (member_id IS NULL)", name="exactly_one_person"),
        UniqueConstraint("meeting_id", "user_id", "member_id"),
    )


class JourneyAssessment(db.Model):
    """Where the family stands on a date: the team's overall level and ratings per theme.

    A correction is a new version that supersedes the old one; ``is_current`` marks the latest
    version of each assessment, and earlier versions stay for the history.
    """

    __tablename__ = "journey_assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"))
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"))
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id"))
    assessed_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(12), default="regular")
    version: Mapped[int] = mapped_column(Integer, default=1)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("journey_assessment.id"), unique=True)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    overall_level: Mapped[int] = mapped_column(SmallInteger)
    suggested_level: Mapped[int] = mapped_column(SmallInteger)
    override_reason: Mapped[str | None] = mapped_column(String(500))
    correction_reason: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ratings: Mapped[list[ThemeRating]] = relationship(back_populates="assessment", order_by="ThemeRating.id")

    __table_args__ = (
        CheckConstraint("overall_level BETWEEN 1 AND 4", name="overall_level_range"),
        CheckConstraint("suggested_level BETWEEN 1 AND 4", name="suggested_level_range"),
        CheckConstraint("kind IN ('regular', 'intake', 'follow_up_6', 'follow_up_12')", name="kind_known"),
        CheckConstraint("overall_level = suggested_level OR override_reason IS NOT NULL",
                        name="override_has_reason"),
        Index("ix_journey_assessment_family_current", "family_id", "is_current", "assessed_on"),
        Index("ix_journey_assessment_enrolment", "enrolment_id", "assessed_on"),
    )


class ThemeRating(db.Model):
    """One theme's level in one assessment, from one perspective, with a short note."""

    __tablename__ = "theme_rating"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("journey_assessment.id"))
    theme: Mapped[str] = mapped_column(String(20))
    perspective: Mapped[str] = mapped_column(String(15))
    level: Mapped[int] = mapped_column(SmallInteger)
    note: Mapped[str | None] = mapped_column(String(500))

    assessment: Mapped[JourneyAssessment] = relationship(back_populates="ratings")

    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 4", name="level_range"),
        CheckConstraint(one_of("theme", THEME_CODES), name="theme_known"),
        CheckConstraint(one_of("perspective", PERSPECTIVES), name="perspective_known"),
        UniqueConstraint("assessment_id", "theme", "perspective"),
    )


class Goal(db.Model):
    """A goal on the family's plan (*duken*), in the family's own words."""

    __tablename__ = "goal"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"), index=True)
    theme: Mapped[str] = mapped_column(String(20))
    horizon: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    actions: Mapped[list[Action]] = relationship(back_populates="goal", order_by="Action.due_on")

    __table_args__ = (
        CheckConstraint(one_of("theme", THEME_CODES), name="theme_known"),
        CheckConstraint(one_of("horizon", GOAL_HORIZONS), name="horizon_known"),
        CheckConstraint(one_of("status", GOAL_STATUSES), name="status_known"),
    )


class Action(db.Model):
    """Something someone will do: owned by a team member or by the family."""

    __tablename__ = "action"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"))
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("goal.id"))
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id"))
    title: Mapped[str] = mapped_column(String(300))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    owner_is_family: Mapped[bool] = mapped_column(Boolean, default=False)
    due_on: Mapped[date | None] = mapped_column(Date)
    review_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="planned")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    goal: Mapped[Goal | None] = relationship(back_populates="actions")
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_user_id])

    __table_args__ = (
        CheckConstraint(one_of("status", ACTION_STATUSES), name="status_known"),
        CheckConstraint("(owner_user_id IS NULL) = owner_is_family", name="one_owner"),
        Index("ix_action_family_status_due", "family_id", "status", "due_on"),
    )
