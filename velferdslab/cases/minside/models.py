"""The family's own sign-in: a member's link to their identity, invitations, and family sessions.

Nothing here holds a person's identifier: ``FamilyLogin.identity_hash`` is an HMAC of the
provider's issuer and ``sub`` with the server's key (``auth.oidc.identity_hash``), an invitation
code and a session token are stored as hashes only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from velferdslab.cases.household.models import FamilyMember
from velferdslab.cases.journey.models import SCALES
from velferdslab.cases.themes import THEME_CODES
from velferdslab.core.models import UTCDateTime, one_of, utcnow
from velferdslab.extensions import Model


class FamilyLogin(Model):
    """One family member's link to the person who signs in as them (made once, by an invitation)."""

    __tablename__ = "family_login"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("family_member.id", ondelete="CASCADE"), unique=True)
    identity_hash: Mapped[str] = mapped_column(String(64), unique=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    member: Mapped[FamilyMember] = relationship()


class FamilyInvitation(Model):
    """A one-time code the team lead gives a family member to link their sign-in: shown once,
    stored hashed, ends at ``expires_at``, works once (``used_at``)."""

    __tablename__ = "family_invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("family_member.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    member: Mapped[FamilyMember] = relationship()


class FamilySession(Model):
    """A family member signed in on Min side: its own cookie and its own (shorter) limits, never a
    staff session (``auth.models.AuthSession``), so it can grant no staff permission."""

    __tablename__ = "family_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("family_member.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    member: Mapped[FamilyMember] = relationship()


class FamilyOwnRating(Model):
    """A family member's own rating of one theme before a meeting, given on Min side (issue 16).

    ``given_by_member_id`` is the signed-in member; ``subject_member_id`` whom it is about (the
    member themself). The team sees the newest ones in the meeting form as the family's own
    perspective, shown through the same consent filter as every rating (``visible_ratings``).
    A new rating of the same theme by the same member replaces the older one (one row each).
    """

    __tablename__ = "family_own_rating"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"), index=True)
    given_by_member_id: Mapped[int] = mapped_column(ForeignKey("family_member.id", ondelete="CASCADE"))
    subject_member_id: Mapped[int | None] = mapped_column(ForeignKey("family_member.id", ondelete="CASCADE"))
    theme: Mapped[str] = mapped_column(String(20))
    level: Mapped[int] = mapped_column(SmallInteger)
    scale: Mapped[str] = mapped_column(String(10), default="four_step")
    note: Mapped[str | None] = mapped_column(String(500))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    given_by: Mapped[FamilyMember] = relationship(foreign_keys=[given_by_member_id])

    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 4", name="level_range"),
        CheckConstraint("scale = 'four_step' OR level <= 3", name="child_scale_range"),
        CheckConstraint(one_of("theme", THEME_CODES), name="theme_known"),
        CheckConstraint(one_of("scale", SCALES), name="scale_known"),
        UniqueConstraint("given_by_member_id", "theme", name="uq_family_own_rating_member_theme"),
    )


class ConsentSignature(Model):
    """A family member signed a consent form electronically on Min side: when, and how (the
    sign-in's method and assurance level). The consent row itself is never changed."""

    __tablename__ = "consent_signature"

    id: Mapped[int] = mapped_column(primary_key=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("consent.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("family_member.id", ondelete="CASCADE"))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    method: Mapped[str] = mapped_column(String(20), default="oidc")
    acr: Mapped[str | None] = mapped_column(String(60))

    __table_args__ = (UniqueConstraint("consent_id", "member_id", name="uq_consent_signature_consent_member"),)
