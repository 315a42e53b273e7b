"""Every mutation of labs, agencies, users, sessions and tokens. Services flush, never commit."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, String, bindparam, func, select, update
from sqlalchemy.orm import joinedload

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction
from velferdslab.auth.models import AGENCY_KINDS, Agency, ApiToken, AuthSession, Lab, User
from velferdslab.auth.passwords import password_problem
from velferdslab.core.errors import ConflictError, ServiceError
from velferdslab.core.models import utcnow
from velferdslab.core.permissions import ROLES, Permission, permissions_for
from velferdslab.core.text import short_text
from velferdslab.extensions import db

log = logging.getLogger(__name__)

# argon2id with the library's RFC 9106 "low memory" defaults.
_hasher = PasswordHasher()
TOKEN_PREFIX = "vlt_"  # noqa: S105 - a visible prefix, not a secret
# A fixed hash to verify against when the account does not exist, so timing does not tell.
_DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(8))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str, *, name: str | None = None, email: str | None = None) -> None:
    """Refuse a short, common or context password (see ``auth.passwords``) on the field ``password``."""
    problem = password_problem(password or "", name=name, email=email)
    if problem:
        raise ServiceError(problem, "password")


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


# --- labs and agencies -------------------------------------------------------------------------

def create_lab(*, slug: str, name: str, municipality: str, consent_age: int = 15) -> Lab:
    if db.session.scalar(select(Lab).where(Lab.slug == slug)):
        raise ConflictError(_("Det finnes allerede et lab med denne kortnavnet."), "slug")
    lab = Lab(slug=slug, name=short_text(name, "name"), municipality=short_text(municipality, "municipality"),
              consent_age=consent_age)
    db.session.add(lab)
    db.session.flush()
    audit.record(AuditAction.LAB_CREATE, lab_id=lab.id, object_type="lab", object_id=lab.id)
    return lab


def create_agency(lab: Lab, *, name: str, kind: str, actor: User | None = None) -> Agency:
    if kind not in AGENCY_KINDS:
        raise ServiceError(_("Ukjent etatstype."), "kind")
    name = short_text(name, "name")
    if db.session.scalar(select(Agency).where(Agency.lab_id == lab.id, Agency.name == name)):
        raise ConflictError(_("Det finnes allerede en etat med dette navnet."), "name")
    agency = Agency(lab=lab, name=name, kind=kind, active=True)
    db.session.add(agency)
    db.session.flush()
    audit.record(AuditAction.AGENCY_CREATE, actor=actor, lab_id=lab.id, object_type="agency", object_id=agency.id)
    return agency


def update_agency(agency: Agency, *, name: str, kind: str, active: bool, actor: User | None = None) -> Agency:
    if kind not in AGENCY_KINDS:
        raise ServiceError(_("Ukjent etatstype."), "kind")
    name = short_text(name, "name")
    clash = db.session.scalar(select(Agency).where(Agency.lab_id == agency.lab_id, Agency.name == name,
                                                  Agency.id != agency.id))
    if clash:
        raise ConflictError(_("Det finnes allerede en etat med dette navnet."), "name")
    changed = [f for f, v in (("name", name), ("kind", kind), ("active", active)) if getattr(agency, f) != v]
    agency.name, agency.kind, agency.active = name, kind, active
    db.session.flush()
    audit.record(AuditAction.AGENCY_UPDATE, actor=actor, lab_id=agency.lab_id, object_type="agency",
                 object_id=agency.id, summary={"fields": changed})
    return agency


# --- users ---------------------------------------------------------------------------------------

def _check_roles(roles) -> set[str]:
    roles = set(roles)
    if not roles:
        raise ServiceError(_("Velg minst én rolle."), "roles")
    unknown = roles - set(ROLES)
    if unknown:
        raise ServiceError(_("Ukjent rolle."), "roles")
    return roles


def _check_agency(lab: Lab, agency_id: int | None) -> None:
    if agency_id is None:
        return
    agency = db.session.get(Agency, agency_id)
    if agency is None or agency.lab_id != lab.id:
        raise ServiceError(_("Etaten finnes ikke i dette laboratoriet."), "agency_id")


def create_user(lab: Lab, *, name: str, email: str, password: str, roles, agency_id: int | None = None,
                actor: User | None = None) -> User:
    email = normalise_email(email)
    if db.session.scalar(select(User).where(User.lab_id == lab.id, func.lower(User.email) == email)):
        raise ConflictError(_("E-postadressen er allerede i bruk."), "email")
    name = short_text(name, "name")
    check_password_strength(password, name=name, email=email)
    roles = _check_roles(roles)
    _check_agency(lab, agency_id)
    user = User(lab=lab, name=name, email=email, password_hash=hash_password(password),
                agency_id=agency_id, active=True)
    user.set_roles(roles)
    db.session.add(user)
    db.session.flush()
    audit.record(AuditAction.USER_CREATE, actor=actor, lab_id=lab.id, object_type="user", object_id=user.id,
                 summary={"roles": sorted(roles)})
    return user


def update_user(user: User, *, name: str, email: str, roles, agency_id: int | None, active: bool,
                actor: User | None = None) -> User:
    email = normalise_email(email)
    clash = db.session.scalar(select(User).where(User.lab_id == user.lab_id, func.lower(User.email) == email,
                                                 User.id != user.id))
    if clash:
        raise ConflictError(_("E-postadressen er allerede i bruk."), "email")
    roles = _check_roles(roles)
    _check_agency(user.lab, agency_id)
    keeps_admin = Permission.ADMIN_USERS in permissions_for(roles)
    if actor is not None and actor.id == user.id and (not active or not keeps_admin):
        raise ServiceError(_("Du kan ikke fjerne din egen administratortilgang."), "roles")
    name = short_text(name, "name")
    changed = [f for f, v in (("name", name), ("email", email), ("agency_id", agency_id),
                              ("active", active)) if getattr(user, f) != v]
    if set(user.roles) != roles:
        changed.append("roles")
    was_active = user.active
    user.name, user.email, user.agency_id = name, email, agency_id
    user.set_roles(roles)
    if was_active and not active:
        _deactivate(user)
    user.active = active
    db.session.flush()
    audit.record(AuditAction.USER_UPDATE, actor=actor, lab_id=user.lab_id, object_type="user", object_id=user.id,
                 summary={"fields": changed, "roles": sorted(roles)})
    return user


def _deactivate(user: User) -> None:
    user.active = False
    revoke_all_sessions(user)
    db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=utcnow()))


def set_active(user: User, active: bool, *, actor: User | None = None) -> User:
    if actor is not None and actor.id == user.id and not active:
        raise ServiceError(_("Du kan ikke deaktivere deg selv."), "active")
    if not active:
        _deactivate(user)
    user.active = active
    db.session.flush()
    audit.record(AuditAction.USER_ENABLE if active else AuditAction.USER_DISABLE, actor=actor, lab_id=user.lab_id,
                 object_type="user", object_id=user.id)
    return user


def set_password(user: User, password: str, *, actor: User | None = None) -> None:
    """Set a new password and end every session and token-less login of the user."""
    check_password_strength(password, name=user.name, email=user.email)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    revoke_all_sessions(user)
    revoke_all_api_tokens(user)  # a new password ends the scripts' keys too: they act as the user
    db.session.flush()
    audit.record(AuditAction.USER_PASSWORD, actor=actor, lab_id=user.lab_id, object_type="user", object_id=user.id)


def change_own_password(user: User, current: str, new: str) -> None:
    if not verify_password(user, current):
        raise ServiceError(_("Nåværende passord er feil."), "current_password")
    if current == new:
        raise ServiceError(_("Det nye passordet må være forskjellig fra det gamle."), "new_password")
    set_password(user, new, actor=user)


def verify_password(user: User | None, password: str) -> bool:
    try:
        if user is None:
            _hasher.verify(_DUMMY_HASH, password or "")
            return False
        return _hasher.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


def authenticate(email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None. Both failures look the same.

    An address is unique per lab, so it may name users of several labs: the one whose password
    matches signs in (each candidate is checked, so the time says nothing about how many there
    are beyond one); when the same password matches in more than one lab, nobody does.
    """
    candidates = db.session.scalars(select(User).where(func.lower(User.email) == normalise_email(email))
                                    .order_by(User.id)).all()
    if not candidates:
        verify_password(None, password)  # the same work as for a real account
        return None
    matches = [u for u in candidates if verify_password(u, password)]
    if len(matches) != 1:
        if len(matches) > 1:
            log.warning("sign-in refused: one address and password match users of several labs")
        return None
    user = matches[0]
    if not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def _claim_values(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def user_for_oidc_claims(claims: dict) -> User:
    """The active user a staff provider's validated ID token names (by the configured e-mail claim),
    with roles from the configured roles claim when one is set (``OIDC_STAFF_ROLES_CLAIM`` and
    ``OIDC_STAFF_ROLE_MAP``); without one, the roles stay as the app has them. Refuses
    (``oidc.SignInRefused``) an unknown or disabled user, an address several labs use, and a token
    whose roles claim maps to no role."""
    from velferdslab.auth.oidc import SignInRefused

    config = current_app.config
    email = normalise_email(str(claims.get(config["OIDC_STAFF_EMAIL_CLAIM"]) or ""))
    if not email:
        raise SignInRefused("no_email_claim")
    candidates = db.session.scalars(select(User).where(func.lower(User.email) == email)).all()
    if len(candidates) != 1:
        if candidates:
            log.warning("OpenID Connect sign-in refused: one address names users of several labs")
        raise SignInRefused("unknown_user" if not candidates else "ambiguous_user")
    user = candidates[0]
    if not user.active:
        raise SignInRefused("user_disabled")
    roles_claim = config.get("OIDC_STAFF_ROLES_CLAIM")
    if roles_claim:
        mapping = config["OIDC_STAFF_ROLE_MAP"]
        roles = {mapping[v] for v in _claim_values(claims.get(roles_claim)) if v in mapping}
        if not roles:
            raise SignInRefused("no_role")
        if roles != set(user.roles):
            user.set_roles(roles)
            db.session.flush()
            audit.record(AuditAction.USER_UPDATE, actor=user, object_type="user", object_id=user.id,
                         summary={"fields": ["roles"], "roles": sorted(roles), "source": "oidc"})
    return user


# --- sessions ------------------------------------------------------------------------------------

def start_session(user: User) -> str:
    """Create a server-side session for ``user``; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    db.session.add(AuthSession(user_id=user.id, token_hash=hash_token(token)))
    db.session.flush()
    return token


def _with_user(relation) -> tuple:
    """The signed-in user with their roles and lab, joined into the statement that finds the session
    or the token: one round trip per request for who is asking."""
    user = joinedload(relation, innerjoin=True)
    return (user.joinedload(User.role_rows), user.joinedload(User.lab, innerjoin=True))


_WITH_USER = _with_user(AuthSession.user)
_WITH_TOKEN_USER = _with_user(ApiToken.user)


@cache
def _token_query() -> Select[ApiToken]:
    """The token with its user, roles and lab, built once with the hash as a parameter (issue 19:
    building and keying the statement with its loader options on every request cost more CPU than
    running it)."""
    return select(ApiToken).where(ApiToken.token_hash == bindparam("token_hash", type_=String)).options(
        *_WITH_TOKEN_USER)


@cache
def _session_query() -> Select[AuthSession]:
    """As :func:`_token_query`, for a browser's session."""
    return select(AuthSession).where(AuthSession.token_hash == bindparam("token_hash", type_=String)).options(
        *_WITH_USER)


def find_live_session(token: str | None, now: datetime | None = None) -> AuthSession | None:
    """The session behind a cookie token if it is neither revoked nor timed out, else None."""
    if not token:
        return None
    now = now or utcnow()
    row = db.session.scalar(_session_query(), {"token_hash": hash_token(token)})
    if row is None or row.revoked_at is not None:
        return None
    config = current_app.config
    user = row.user
    if (not user.active or now - row.last_seen_at > config["SESSION_IDLE_TIMEOUT"]
            or now - row.created_at > config["SESSION_ABSOLUTE_TIMEOUT"]
            or row.created_at < user.password_changed_at):
        return None
    return row


def touch_session(row: AuthSession, now: datetime | None = None) -> None:
    # Writing on every request would serialise a user's parallel requests; a minute is precise enough
    # (a quarter of the idle limit when that is shorter, so a kept-alive form never times out).
    now = now or utcnow()
    every = min(60.0, current_app.config["SESSION_IDLE_TIMEOUT"].total_seconds() / 4)
    if (now - row.last_seen_at).total_seconds() > every:
        row.last_seen_at = now


def revoke_session(token: str | None) -> None:
    if token:
        db.session.execute(update(AuthSession).where(AuthSession.token_hash == hash_token(token),
                                                     AuthSession.revoked_at.is_(None))
                           .values(revoked_at=utcnow()))


def revoke_all_sessions(user: User) -> None:
    db.session.execute(update(AuthSession).where(AuthSession.user_id == user.id,
                                                 AuthSession.revoked_at.is_(None))
                       .values(revoked_at=utcnow()))


# --- API tokens ----------------------------------------------------------------------------------

MAX_TOKEN_DAYS = 365


def token_lifetime() -> timedelta:
    return current_app.config.get("API_TOKEN_LIFETIME", timedelta(days=90))


def token_idle_timeout() -> timedelta:
    return current_app.config.get("API_TOKEN_IDLE_TIMEOUT", timedelta(days=30))


def create_api_token(user: User, name: str, *, days: int | None = None) -> tuple[ApiToken, str]:
    """Create a token; the plain value is returned once and never stored. It ends after ``days``
    (the configured lifetime, 90 days by default) and after the idle time unused."""
    name = short_text(name or "", "name")
    if not name:
        raise ServiceError(_("Gi nøkkelen et navn."), "name")
    if len(name) > 100:
        raise ServiceError(_("Navnet kan ha høyst 100 tegn."), "name")
    if days is not None and not (isinstance(days, int) and 1 <= days <= MAX_TOKEN_DAYS):
        raise ServiceError(_("En nøkkel kan vare fra 1 til %(max)s dager.", max=MAX_TOKEN_DAYS), "expires_in_days")
    now = utcnow()
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, prefix=plain[:12], token_hash=hash_token(plain), created_at=now,
                     expires_at=now + (timedelta(days=days) if days else token_lifetime()))
    db.session.add(token)
    db.session.flush()
    audit.record(AuditAction.TOKEN_CREATE, actor=user, object_type="api_token", object_id=token.id)
    return token, plain


def revoke_all_api_tokens(user: User) -> None:
    db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=utcnow()))


def revoke_api_token(user: User, token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise ServiceError(_("Nøkkelen finnes ikke."), "id", status=404)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()
        audit.record(AuditAction.TOKEN_REVOKE, actor=user, object_type="api_token", object_id=token.id)
    return token


def user_for_api_token(plain: str) -> User | None:
    if not plain or not plain.startswith(TOKEN_PREFIX) or len(plain) > 100:
        return None
    token = db.session.scalar(_token_query(), {"token_hash": hash_token(plain)})
    now = utcnow()
    if token is None or token.ended(now, token_idle_timeout()) or not token.user.active:
        return None
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        token.last_used_at = now
    return token.user
