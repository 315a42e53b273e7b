"""Which themes apply to a family, and its journey assessments with their ratings per theme.

Levels are stored as integers 1–4 (uholdbar, utsatt, stabil, bærekraftig) so reports aggregate
them in SQL; the names live in ``cases.themes``.
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from velferdslab.cases.themes import THEME_CODES
from velferdslab.core.models import UTCDateTime, one_of, utcnow
from velferdslab.core.vocabulary import Vocabulary
from velferdslab.extensions import Model


class Perspective(Vocabulary):
    """Whose rating it is: the team's, the family's own, the young person's own (one per household,
    as before issue 15), or one named family member's own (``ThemeRating.given_by_member_id``)."""

    TEAM = "team", _l("Teamet")
    FAMILY = "family", _l("Familien")
    YOUNG_PERSON = "young_person", _l("Ungdommen")
    MEMBER = "member", _l("Familiemedlem")


class Scale(Vocabulary):
    """How the level was asked for: the four steps, or the simple scale for a child under 12 whose
    three answers are stored as levels 1–3 (see ``cases.themes.CHILD_SCALE``)."""

    FOUR_STEP = "four_step", _l("Fire trinn")
    CHILD = "child", _l("Barnas skala")


class AssessmentKind(Vocabulary):
    REGULAR = "regular", _l("Vanlig vurdering")
    INTAKE = "intake", _l("Oppstartsvurdering")
    FOLLOW_UP_6 = "follow_up_6", _l("Oppfølging etter 6 måneder")
    FOLLOW_UP_12 = "follow_up_12", _l("Oppfølging etter 12 måneder")


PERSPECTIVES = Perspective.codes()
SCALES = Scale.codes()
HOUSEHOLD_VOICE = "given_by_member_id IS NULL AND subject_member_id IS NULL"
ASSESSMENT_KINDS = AssessmentKind.codes()


class FamilyTheme(Model):
    """Whether a theme applies to a family, where it differs from the default rule."""

    __tablename__ = "family_theme"

    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"), primary_key=True)
    theme: Mapped[str] = mapped_column(String(20), primary_key=True)
    applicable: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (CheckConstraint(one_of("theme", THEME_CODES), name="theme_known"),)


class JourneyAssessment(Model):
    """Where the family stands on a date: the team's overall level and ratings per theme.

    A correction is a new version that supersedes the old one; ``is_current`` marks the latest
    version of each assessment, and earlier versions stay for the history.
    """

    __tablename__ = "journey_assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"))
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"))
    # The meeting it was made at: a link to ``meetings`` (built on the journey) by table name only.
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
        # The latest assessment of a family on or before a day, newest first (the outcome report's
        # predicted-versus-actual levels before and after each payment: one index step, no sort).
        Index("ix_journey_assessment_family_day", "family_id", "assessed_on", "id"),
    )


class ThemeRating(Model):
    """One theme's level in one assessment, from one perspective, with a short note.

    ``subject_member_id`` is the family member the rating is about (None: the household);
    ``given_by_member_id`` is the family member whose own view it is (set exactly when the
    perspective is ``member``). The ratings before issue 15 are about the household, and their
    young-person perspective names no member (which young person gave it is not known).
    """

    __tablename__ = "theme_rating"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("journey_assessment.id"))
    theme: Mapped[str] = mapped_column(String(20))
    perspective: Mapped[str] = mapped_column(String(15))
    level: Mapped[int] = mapped_column(SmallInteger)
    note: Mapped[str | None] = mapped_column(String(500))
    subject_member_id: Mapped[int | None] = mapped_column(ForeignKey("family_member.id"))
    given_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("family_member.id"))
    scale: Mapped[str] = mapped_column(String(10), default="four_step", server_default="four_step")

    assessment: Mapped[JourneyAssessment] = relationship(back_populates="ratings")

    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 4", name="level_range"),
        CheckConstraint(one_of("theme", THEME_CODES), name="theme_known"),
        CheckConstraint(one_of("perspective", PERSPECTIVES), name="perspective_known"),
        CheckConstraint(one_of("scale", SCALES), name="scale_known"),
        CheckConstraint("scale = 'four_step' OR level <= 3", name="child_scale_range"),
        CheckConstraint("(perspective = 'member') = (given_by_member_id IS NOT NULL)", name="member_gives"),
        Index("ix_theme_rating_subject", "subject_member_id"),
        # One rating per theme, perspective, giver and subject. NULLs being distinct, the unique
        # constraint holds where both members are named; the household's own ratings (the shape
        # before issue 15) keep their one-per-perspective index; the service checks the rest.
        UniqueConstraint("assessment_id", "theme", "perspective", "given_by_member_id", "subject_member_id",
                         name="uq_theme_rating_voice"),
        Index("uq_theme_rating_household", "assessment_id", "theme", "perspective", unique=True,
              sqlite_where=text(HOUSEHOLD_VOICE), postgresql_where=text(HOUSEHOLD_VOICE)),
    )
