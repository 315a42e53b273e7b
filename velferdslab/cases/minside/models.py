"""The family's own sign-in: a member's link to their identity, invitations, and family sessions.

Nothing here holds a person's identifier: ``FamilyLogin.identity_hash`` is an HMAC of the
provider's issuer and ``sub`` with the server's key (``auth.oidc.identity_hash``), an invitation
code and a session token are stored as hashes only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from velferdslab.cases.household.models import FamilyMember
from velferdslab.core.models import UTCDateTime, utcnow
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
