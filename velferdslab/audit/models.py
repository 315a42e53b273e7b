"""The audit event (one row per change or read of protected data), its hash chain, and
emergency-access grants.

Audit events have no foreign keys: the trail must outlive users, families and the erasure of
their personal data. The chain columns (``chain_seq``, ``prev_hash``, ``hash``) are filled in when
the transaction commits (see ``audit.chain``); on PostgreSQL a trigger refuses every other UPDATE,
and every DELETE and TRUNCATE (migration ``audit_chain_emergency_restriction``). On both databases
a trigger refuses an INSERT with the chain columns already filled (migration
``audit_refuse_pre_sealed_inserts``).
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import Mapped, mapped_column

from velferdslab.audit.canonical import GENESIS, canonical_json
from velferdslab.core.models import UTCDateTime, utcnow
from velferdslab.extensions import Model


class CanonicalJSON(TypeDecorator):
    """JSON kept as canonical text (sorted keys, compact), so the stored bytes are what is hashed.

    ``verify`` then hashes the column's text as it is, without parsing it: that is what makes it
    fast, and it means a summary is chained exactly as stored.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return canonical_json(value)

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(value)


class AuditEvent(Model):
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
    # A minimal description of what changed: field names, codes and ids, never the sensitive text
    # itself (``audit.services`` enforces it).
    summary: Mapped[dict | None] = mapped_column(CanonicalJSON)
    # The hash chain, assigned at commit (``audit.chain.seal``): position, previous hash, own hash.
    chain_seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_event_family_time", "family_id", "occurred_at"),
        Index("ix_audit_event_actor_time", "actor_id", "occurred_at"),
        Index("ix_audit_event_lab_time", "lab_id", "occurred_at"),
    )


class AuditChainHead(Model):
    """The end of the chain: one row, locked (``FOR UPDATE``) by the committing transaction.

    The row lock is the chain's mutex: a writer holds it only between sealing its events and its
    COMMIT, and under REPEATABLE READ a stale head is a serialization failure, never a fork.
    """

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64), default=GENESIS)

    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)


MIN_REASON_LENGTH = 20
MAX_EMERGENCY_HOURS = 8


class EmergencyAccess(Model):
    """Break the glass: one user may see one family for a few hours, for a stated reason.

    Lives in ``audit`` because it is part of the access record that the review reads, and because
    ``teams.policy`` (which may import ``audit``) must honour it while ``audit`` may import neither
    teams nor cases; the links to families and users are table-name foreign keys.
    """

    __tablename__ = "emergency_access"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"))
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    reason: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    __table_args__ = (
        CheckConstraint("expires_at > granted_at", name="expires_after_granted"),
        CheckConstraint(f"length(reason) >= {MIN_REASON_LENGTH}", name="reason_given"),
        Index("ix_emergency_access_user_family", "user_id", "family_id", "expires_at"),
        Index("ix_emergency_access_lab_granted", "lab_id", "granted_at"),
        Index("ix_emergency_access_family", "family_id"),
    )
