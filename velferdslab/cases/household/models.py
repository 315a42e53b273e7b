"""A household (or a single young person) and its members."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from velferdslab.core.models import UTCDateTime, one_of, utcnow
from velferdslab.core.vocabulary import Vocabulary
from velferdslab.extensions import Model


class MemberRole(Vocabulary):
    PARENT = "parent", _l("Forelder")
    CHILD = "child", _l("Barn")
    YOUNG_PERSON = "young_person", _l("Ungdom")
    OTHER = "other", _l("Annen")


MEMBER_ROLES = MemberRole.codes()
CHILD_ROLES = (MemberRole.CHILD.value, MemberRole.YOUNG_PERSON.value)


class Family(Model):
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
    # ``Family.enrolments`` is declared on ``Enrolment.family`` (a backref): the household does
    # not import the sub-packages built on it.


class FamilyMember(Model):
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

    def age_in(self, year: int) -> int:
        """The age reached in that calendar year (only the birth year is stored)."""
        return year - self.birth_year
