"""Assumption sets for the benefit model: named, versioned, never edited in place.

An edit writes a new version that supersedes the old one (``is_current`` marks the newest of each
set), so a report can always say which numbers it rests on: "«Asker 2026», versjon 3". Rates are
whole basis points (1/10 000: 0.04 is 400) and costs integer øre, so every database holds them
exactly and the model (``reports.benefit``) reads them as exact fractions.
"""

from __future__ import annotations

from datetime import date, datetime
from fractions import Fraction

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
from velferdslab.core.models import Money, UTCDateTime, utcnow
from velferdslab.extensions import Model

BASIS_POINTS = 10_000
RATE_FIELDS = ("deadweight", "drop_off", "discount_rate", "success_rate")


def _rate_check(column: str) -> CheckConstraint:
    return CheckConstraint(f"{column} BETWEEN 0 AND {BASIS_POINTS}", name=f"{column}_range")


class AssumptionSet(Model):
    """One version of a named set of assumptions for the benefit model."""

    __tablename__ = "assumption_set"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"), index=True)
    # The id of version 1: what stays the same across the versions of one set.
    series_id: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("assumption_set.id"), unique=True)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str] = mapped_column(String(120))
    source_note: Mapped[str | None] = mapped_column(String(1000))
    deadweight_bp: Mapped[int] = mapped_column(Integer, default=2000)
    drop_off_bp: Mapped[int] = mapped_column(Integer, default=1000)
    discount_rate_bp: Mapped[int] = mapped_column(Integer, default=400)
    success_rate_bp: Mapped[int] = mapped_column(Integer, default=5000)
    horizon_years: Mapped[int] = mapped_column(SmallInteger, default=5)
    target_level: Mapped[int] = mapped_column(SmallInteger, default=3)
    staff_cost_per_family_month: Mapped[int | None] = mapped_column(Money)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    costs: Mapped[list[AssumptionCost]] = relationship(
        back_populates="assumption_set", order_by="(AssumptionCost.level, AssumptionCost.agency_id)",
        cascade="all, delete-orphan")
    created_by: Mapped[User | None] = relationship()

    __table_args__ = (
        _rate_check("deadweight_bp"),
        _rate_check("drop_off_bp"),
        _rate_check("discount_rate_bp"),
        _rate_check("success_rate_bp"),
        CheckConstraint("horizon_years BETWEEN 1 AND 50", name="horizon_range"),
        CheckConstraint("target_level BETWEEN 2 AND 4", name="target_level_range"),
        CheckConstraint("staff_cost_per_family_month IS NULL OR staff_cost_per_family_month >= 0",
                        name="staff_cost_not_negative"),
        CheckConstraint("version >= 1", name="version_positive"),
        UniqueConstraint("series_id", "version"),
        Index("ix_assumption_set_lab_current", "lab_id", "is_current"),
    )

    def rate(self, name: str) -> Fraction:
        return Fraction(getattr(self, f"{name}_bp"), BASIS_POINTS)

    def yearly_cost(self) -> dict[int, dict[int, int]]:
        table: dict[int, dict[int, int]] = {}
        for row in self.costs:
            table.setdefault(row.level, {})[row.agency_id] = row.yearly_cost
        return table


class AssumptionCost(Model):
    """The yearly public cost of one family at one overall level, for one agency."""

    __tablename__ = "assumption_cost"

    id: Mapped[int] = mapped_column(primary_key=True)
    assumption_set_id: Mapped[int] = mapped_column(ForeignKey("assumption_set.id", ondelete="CASCADE"), index=True)
    level: Mapped[int] = mapped_column(SmallInteger)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    yearly_cost: Mapped[int] = mapped_column(Money)

    assumption_set: Mapped[AssumptionSet] = relationship(back_populates="costs")
    agency: Mapped[Agency] = relationship()

    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 4", name="level_range"),
        CheckConstraint("yearly_cost >= 0", name="cost_not_negative"),
        UniqueConstraint("assumption_set_id", "level", "agency_id"),
    )


class ReportLabAccess(Model):
    """A lab whose outcome report a county or national user (role ``region``) reads, with the other
    labs assigned to them, as one report (``reports.policy``; issue 14, *Across labs*)."""

    __tablename__ = "report_lab_access"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportRelease(Model):
    """When a quarter's outcome report was published (issue 14, *closed periods only*).

    A quarter is published once it has been closed for ``REPORT_RELEASE_LAG_DAYS`` days: the first
    report read after that fixes ``released_at``, and every report ending with that quarter — any
    lab, filter, format or reader, now or later — is computed from what had been recorded by then
    (``OutcomeFilter.as_of``). One instant per quarter for every lab, so no two readings of a
    published quarter ever differ, and nothing recorded afterwards (a correction, a restriction, a
    late follow-up) shows in it."""

    __tablename__ = "report_release"

    quarter_end: Mapped[date] = mapped_column(Date, primary_key=True)
    released_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportSnapshot(Model):
    """The rows of one statement of a published report, kept once computed (``reports.snapshots``).

    A published quarter is read as recorded at its release instant, so its statements give the
    same rows every time: the first reading computes them, every later one reads them here.
    ``key`` is the SHA-256 of the statement's SQL and parameters (so a change of the code, the
    filter, the release or the cell-key secret is a different key); ``body`` the rows as JSON."""

    __tablename__ = "report_snapshot"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
