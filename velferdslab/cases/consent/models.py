"""Consent to share between agencies, per agency and purpose."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from velferdslab.auth.models import Agency
from velferdslab.cases.household.models import FamilyMember
from velferdslab.core.models import UTCDateTime, utcnow
from velferdslab.extensions import Model


class Consent(Model):
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
    # Recorded by someone of the agency it opens: valid only when another person confirms it (a
    # new row that supersedes this one) — nobody opens their own access on their word alone.
    awaiting_confirmation: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    agency: Mapped[Agency] = relationship()
    given_by: Mapped[FamilyMember] = relationship()

    __table_args__ = (
        CheckConstraint("expires_on IS NULL OR expires_on >= given_on", name="expires_after_given"),
        CheckConstraint("withdrawn_on IS NULL OR withdrawn_on >= given_on", name="withdrawn_after_given"),
        Index("ix_consent_family_agency", "family_id", "agency_id"),
    )
