"""The audit event: one row per change or read of protected data, written in the same transaction.

No foreign keys: the trail must outlive users, families and erasure of their personal data.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from velferdslab.core.models import UTCDateTime, utcnow
from velferdslab.extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lab_id: Mapped[int | None] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_role: Mapped[str | None] = mapped_column(String(20))
    agency_id: Mapped[int | None] = mapped_column(Integer)
    family_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(60))
    purpose: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(36))
    address: Mapped[str | None] = mapped_column(String(45))
    # A minimal description of what changed: field names and ids, never the sensitive text itself.
    summary: Mapped[dict | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_audit_event_family_time", "family_id", "occurred_at"),
        Index("ix_audit_event_actor_time", "actor_id", "occurred_at"),
        Index("ix_audit_event_lab_time", "lab_id", "occurred_at"),
    )
