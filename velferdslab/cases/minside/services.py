"""The family's own sign-in: invitations from the team lead, linking a sign-in to a family member
once, and the family member's own session (Min side). Services flush, never commit.

Every family action is audited with the family member as actor (:class:`FamilyActor`: the audit
row's ``actor_id`` is the member's id and ``actor_role`` is ``FAMILY_ACTOR_ROLE``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction
from velferdslab.auth.models import User
from velferdslab.cases.access import Access
from velferdslab.cases.household.models import FamilyMember
from velferdslab.cases.minside.models import FamilyInvitation, FamilyLogin, FamilySession
from velferdslab.core import policy
from velferdslab.core.errors import ForbiddenError, ServiceError
from velferdslab.core.models import utcnow
from velferdslab.core.permissions import FAMILY_ACTOR_ROLE
from velferdslab.extensions import db

# Letters and digits that cannot be mistaken for each other when read aloud or typed from a screen.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12  # 60 bits: with the sign-in limits, far beyond guessing in the code's lifetime


@dataclass(frozen=True)
class FamilyActor:
    """A family member as the actor of an audit event (what ``audit.services`` reads of an actor)."""

    id: int
    lab_id: int
    agency_id: None = None
    primary_role: str = FAMILY_ACTOR_ROLE

    @classmethod
    def of(cls, member: FamilyMember) -> FamilyActor:
        return cls(id=member.id, lab_id=member.family.lab_id)


def _keyed_hash(value: str) -> str:
    return hmac.new(current_app.config["IDENTITY_KEY"].encode() or b"-", value.encode(), hashlib.sha256).hexdigest()


def normalise_code(code: str) -> str:
    return "".join(c for c in (code or "").upper() if c.isalnum())


def _code_hash(code: str) -> str:
    return _keyed_hash("invitation\n" + normalise_code(code))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- invitations (the team lead) ------------------------------------------------------------------


def create_invitation(access: Access, member: FamilyMember, *, actor: User) -> tuple[FamilyInvitation, str]:
    """A new one-time code for ``member`` (shown once; earlier unused codes stop working)."""
    if not policy.can(actor, "lead", access):
        raise ForbiddenError(_("Bare familiens investeringsleder kan invitere familien til å logge inn."), "member")
    access.require_consent()
    if member.family_id != access.family.id:
        raise ServiceError(_("Familiemedlemmet finnes ikke."), "member", status=404)
    now = utcnow()
    db.session.execute(
        update(FamilyInvitation)
        .where(
            FamilyInvitation.member_id == member.id,
            FamilyInvitation.used_at.is_(None),
            FamilyInvitation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    invitation = FamilyInvitation(
        member_id=member.id,
        code_hash=_code_hash(code),
        created_by_id=actor.id,
        created_at=now,
        expires_at=now + current_app.config["FAMILY_INVITATION_LIFETIME"],
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record(
        AuditAction.FAMILY_INVITATION_CREATE,
        actor=actor,
        family_id=access.family.id,
        lab_id=access.family.lab_id,
        object_type="member",
        object_id=member.id,
    )
    return invitation, "-".join(code[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def login_status(family_id: int) -> dict[int, dict]:
    """Per member of the family: whether they are linked, and the latest invitation's state."""
    members = db.session.scalars(select(FamilyMember.id).where(FamilyMember.family_id == family_id)).all()
    linked = dict(
        db.session.execute(
            select(FamilyLogin.member_id, FamilyLogin.linked_at).where(FamilyLogin.member_id.in_(members))
        ).all()
    )
    invited = {}
    for row in db.session.scalars(
        select(FamilyInvitation).where(FamilyInvitation.member_id.in_(members)).order_by(FamilyInvitation.created_at)
    ):
        invited[row.member_id] = row
    return {m: {"linked_at": linked.get(m), "invitation": invited.get(m)} for m in members}


def unlink(access: Access, member: FamilyMember, *, actor: User) -> None:
    """End a member's sign-in link (a new invitation links again), and their open sessions."""
    if not policy.can(actor, "lead", access):
        raise ForbiddenError(_("Bare familiens investeringsleder kan invitere familien til å logge inn."), "member")
    db.session.execute(
        update(FamilySession)
        .where(FamilySession.member_id == member.id, FamilySession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    for row in db.session.scalars(select(FamilyLogin).where(FamilyLogin.member_id == member.id)):
        db.session.delete(row)
    db.session.flush()
    audit.record(
        AuditAction.MEMBER_UPDATE,
        actor=actor,
        family_id=access.family.id,
        lab_id=access.family.lab_id,
        object_type="member",
        object_id=member.id,
        summary={"fields": ["login"], "login": "unlinked"},
    )


# --- the family member's sign-in ------------------------------------------------------------------


def member_for_identity(identity_hash: str) -> FamilyMember | None:
    login = db.session.scalar(select(FamilyLogin).where(FamilyLogin.identity_hash == identity_hash))
    if login is None or not _member_may_sign_in(login.member):
        return None
    login.last_login_at = utcnow()
    return login.member


def _member_may_sign_in(member: FamilyMember) -> bool:
    family = member.family
    return family.erased_at is None and family.restricted_at is None


def redeem_invitation(code: str, identity_hash: str) -> FamilyMember:
    """Link the signed-in person (``identity_hash``) to the invited member: once, before it expires.

    A wrong, expired, used or withdrawn code is refused alike (the refusal is audited), and so is a
    person already linked to another member.
    """
    now = utcnow()
    invitation = db.session.scalar(
        select(FamilyInvitation).where(FamilyInvitation.code_hash == _code_hash(code)).with_for_update()
    )
    reason = _invitation_problem(invitation, now)
    if reason is None and db.session.scalar(select(FamilyLogin.id).where(FamilyLogin.identity_hash == identity_hash)):
        reason = "identity_linked_elsewhere"
    if reason is not None:
        family_id = invitation.member.family_id if invitation is not None else None
        audit.record_even_if_request_fails(
            AuditAction.FAMILY_LOGIN_LINK_DENIED,
            family_id=family_id,
            lab_id=invitation.member.family.lab_id if invitation else None,
            object_type="member",
            object_id=invitation.member_id if invitation else None,
            summary={"reason": reason},
        )
        raise ServiceError(_("Koden er ugyldig, utløpt eller allerede brukt. Be investeringslederen om en ny."), "code")
    assert invitation is not None
    invitation.used_at = now
    member = invitation.member
    for old in db.session.scalars(select(FamilyLogin).where(FamilyLogin.member_id == member.id)):
        db.session.delete(old)  # a member signs in as one person; a new invitation moves the link
    db.session.flush()
    db.session.add(FamilyLogin(member_id=member.id, identity_hash=identity_hash, linked_at=now, last_login_at=now))
    db.session.flush()
    audit.record(
        AuditAction.FAMILY_LOGIN_LINK,
        actor=FamilyActor.of(member),
        family_id=member.family_id,
        object_type="member",
        object_id=member.id,
    )
    return member


def _invitation_problem(invitation: FamilyInvitation | None, now: datetime) -> str | None:
    if invitation is None:
        return "unknown"
    if invitation.used_at is not None:
        return "used"
    if invitation.revoked_at is not None:
        return "withdrawn"
    if invitation.expires_at <= now:
        return "expired"
    if not _member_may_sign_in(invitation.member):
        return "family_closed"
    return None


# --- the family session ---------------------------------------------------------------------------


def start_session(member: FamilyMember) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(FamilySession(member_id=member.id, token_hash=_token_hash(token)))
    db.session.flush()
    audit.record(
        AuditAction.FAMILY_LOGIN,
        actor=FamilyActor.of(member),
        family_id=member.family_id,
        object_type="member",
        object_id=member.id,
        summary={"method": "oidc"},
    )
    return token


def live_session(token: str | None, now: datetime | None = None) -> FamilySession | None:
    """The family session behind a cookie, if neither revoked nor past its (family) limits."""
    if not token or len(token) > 100:
        return None
    now = now or utcnow()
    row = db.session.scalar(select(FamilySession).where(FamilySession.token_hash == _token_hash(token)))
    config = current_app.config
    if (
        row is None
        or row.revoked_at is not None
        or not _member_may_sign_in(row.member)
        or now - row.last_seen_at > config["FAMILY_SESSION_IDLE_TIMEOUT"]
        or now - row.created_at > config["FAMILY_SESSION_ABSOLUTE_TIMEOUT"]
    ):
        return None
    if (now - row.last_seen_at).total_seconds() > min(60.0, config["FAMILY_SESSION_IDLE_TIMEOUT"].total_seconds() / 4):
        row.last_seen_at = now
    return row


def end_session(row: FamilySession) -> None:
    row.revoked_at = utcnow()
    db.session.flush()
    audit.record(
        AuditAction.FAMILY_LOGOUT,
        actor=FamilyActor.of(row.member),
        family_id=row.member.family_id,
        object_type="member",
        object_id=row.member_id,
    )


def record_self_view(member: FamilyMember) -> None:
    audit.record(
        AuditAction.FAMILY_SELF_VIEW,
        actor=FamilyActor.of(member),
        family_id=member.family_id,
        object_type="member",
        object_id=member.id,
    )
