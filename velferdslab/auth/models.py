"""Who works in the lab: labs, agencies, users with roles, their sessions and API tokens."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from velferdslab.audit import directory
from velferdslab.core.models import UTCDateTime, one_of, utcnow
from velferdslab.core.permissions import ROLES, Permission, permissions_for, primary_role
from velferdslab.core.vocabulary import Vocabulary
from velferdslab.extensions import Model


class AgencyKind(Vocabulary):
    NAV = "nav", _l("NAV")
    BARNEVERN = "barnevern", _l("Barnevern")
    BOLIG = "bolig", _l("Bolig")
    SKOLE = "skole", _l("Skole/PPT")
    HELSE = "helse", _l("Helse")
    RUS = "rus", _l("Rus")
    POLITI = "politi", _l("Politi")
    OKONOMI = "okonomi", _l("Økonomi")
    ANNET = "annet", _l("Annet")


AGENCY_KINDS = AgencyKind.codes()


class Lab(Model):
    """One municipality's (or region's) welfare lab. Everything else belongs to a lab."""

    __tablename__ = "lab"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    municipality: Mapped[str] = mapped_column(String(200))
    # Age from which a young person gives their own consent (the mission says 15–16).
    consent_age: Mapped[int] = mapped_column(Integer, default=15)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agencies: Mapped[list[Agency]] = relationship(back_populates="lab", order_by="Agency.name")

    __table_args__ = (CheckConstraint("consent_age BETWEEN 12 AND 18", name="consent_age_range"),)


class Agency(Model):
    """A service (NAV, barnevern, …) that delegates staff, authority and money to the lab."""

    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    lab: Mapped[Lab] = relationship(back_populates="agencies")

    __table_args__ = (
        UniqueConstraint("lab_id", "name"),
        CheckConstraint(one_of("kind", AGENCY_KINDS), name="kind_known"),
    )


class UserRole(Model):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)

    __table_args__ = (
        CheckConstraint(one_of("role", ROLES), name="role_known"),
    )


class User(UserMixin, Model):
    """A member of lab staff. Roles are data (``user_role``); permissions follow from roles."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # Unique per lab, not across labs: an administrator must not learn that an address is in use
    # in another lab (issue 12, item 16). Sign-in finds the one whose password matches.
    email: Mapped[str] = mapped_column(String(254), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(5))
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lab: Mapped[Lab] = relationship()
    agency: Mapped[Agency | None] = relationship()
    # Lazy: a page that lists other users (team, attendees, owners) reads their names, not their
    # roles; the signed-in user's roles come with the session's one statement (``auth.services``).
    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="select")

    __table_args__ = (UniqueConstraint("lab_id", "email", name="uq_user_account_lab_email"),)

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r.role for r in self.role_rows)

    def set_roles(self, roles) -> None:
        wanted = set(roles)
        self.role_rows = [r for r in self.role_rows if r.role in wanted]
        have = {r.role for r in self.role_rows}
        self.role_rows.extend(UserRole(role=r) for r in sorted(wanted - have))

    def has_permission(self, permission: Permission | str) -> bool:
        return self.active and permission in permissions_for(self.roles)

    @property
    def is_active(self) -> bool:  # flask-login: a disabled account cannot be signed in
        return self.active

    @property
    def primary_role(self) -> str:
        """The role shown in the audit trail and used to pick the start page."""
        return primary_role(self.roles).value


class AuthSession(Model):
    """A signed-in browser. The cookie carries a random token; only its hash is stored here.

    Revoking the row (logout, password change, disabled account) kills a copied cookie at once.
    """

    __tablename__ = "auth_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class ApiToken(Model):
    """A personal token for scripts: shown once, stored hashed, revocable, acts as its user."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    def ended(self, now: datetime, idle: timedelta) -> str | None:
        """Why the token no longer works ('revoked', 'expired', 'idle'), or None."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        if (self.last_used_at or self.created_at) + idle <= now:
            return "idle"
        return None


# What the audit review and the family's access log may read of staff and agencies.
directory.provide("people", User.__table__)
directory.provide("agencies", Agency.__table__)
