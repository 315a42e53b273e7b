"""A batch of progress reports (one per family) and its items, rendered by queue workers.

The PDFs are stored in the database, not on a worker's disk: any app worker on any host can then
serve the download, and a worker on another host needs nothing but the database and Redis.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from velferdslab.core.models import UTCDateTime, one_of, utcnow
from velferdslab.extensions import Model

ITEM_STATUSES = ("queued", "done", "failed")
BATCH_KINDS = ("quarterly_progress",)


class ReportBatch(Model):
    __tablename__ = "report_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(20), default="quarterly_progress")
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    language: Mapped[str] = mapped_column(String(5), default="nb")
    total: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list[ReportBatchItem]] = relationship(back_populates="batch", order_by="ReportBatchItem.id")

    __table_args__ = (
        CheckConstraint(one_of("kind", BATCH_KINDS), name="kind_known"),
        CheckConstraint("period_end >= period_start", name="period_order"),
        Index("ix_report_batch_requester", "requested_by_id", "created_at"),
    )


class ReportBatchItem(Model):
    """One family's report in a batch: queued → done (with the PDF) or failed (with an error code)."""

    __tablename__ = "report_batch_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("report_batch.id"))
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    # A code (``no_access``, ``render_error``), never an exception text that could carry personal data.
    error: Mapped[str | None] = mapped_column(String(40))
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    size: Mapped[int | None] = mapped_column(Integer)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    batch: Mapped[ReportBatch] = relationship(back_populates="items")

    __table_args__ = (
        CheckConstraint(one_of("status", ITEM_STATUSES), name="status_known"),
        CheckConstraint("status <> 'done' OR pdf IS NOT NULL", name="done_has_pdf"),
        UniqueConstraint("batch_id", "family_id"),
        Index("ix_report_batch_item_batch_status", "batch_id", "status"),
    )
