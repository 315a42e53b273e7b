"""flask-login wiring: a browser is signed in by a live server-side session, a script by a token."""

from __future__ import annotations

from flask import Flask, current_app, g, request, session

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction
from velferdslab.auth import services
from velferdslab.auth.models import User
from velferdslab.core.models import utcnow
from velferdslab.extensions import db, login_manager

SESSION_KEY = "sid"


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


@login_manager.user_loader
def load_user_from_session(user_id: str) -> User | None:
    # A request that presents a token is judged by the token alone, never by a cookie beside it.
    if bearer_token() is not None:
        return None
    row = services.find_live_session(session.get(SESSION_KEY))
    if row is None or str(row.user_id) != user_id:
        # Remembered for the sign-in page: "your session ended", and the way back (``next``).
        g.session_expired = bool(session.get(SESSION_KEY))
        session.clear()
        return None
    services.touch_session(row)
    g.auth_session = row
    return row.user


@login_manager.request_loader
def load_user_from_token(req) -> User | None:
    token = bearer_token()
    if token is None:
        return None
    user = services.user_for_api_token(token)
    if user is not None:
        g.auth_via_token = True
    return user


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = None  # our own server-side session does this job, stricter
    # An expired session must not turn into a redirect loop for the API; errors.py answers 401.
    login_manager.unauthorized_handler(_unauthorized)


def _unauthorized():
    from flask import abort

    abort(401)


def sign_in(user: User) -> None:
    """Start a fresh session (a new cookie value) for ``user``."""
    from flask_login import login_user

    session.clear()
    token = services.start_session(user)
    login_user(user)
    session[SESSION_KEY] = token
    # False (the default): the cookie has no expiry and ends with the browser; the session row's own
    # idle and absolute limits end it on the server whatever the browser keeps.
    session.permanent = bool(current_app.config.get("SESSION_PERSISTENT", False))


def sign_out() -> None:
    from flask_login import logout_user

    services.revoke_session(session.get(SESSION_KEY))
    logout_user()
    session.clear()
    db.session.flush()


def log_in(user: User, method: str = "password") -> None:
    """A sign-in (the password form, or ``oidc``): a fresh session, recorded in the audit trail."""
    sign_in(user)
    audit.record(AuditAction.AUTH_LOGIN, actor=user, object_type="user", object_id=user.id,
                 summary=None if method == "password" else {"method": method})


def refuse_log_in() -> None:
    """A failed sign-in, recorded even though the request fails. The e-mail is not stored: a
    mistyped password in the e-mail field must not land in the trail."""
    audit.record_even_if_request_fails(AuditAction.AUTH_LOGIN_FAILED, summary={"reason": "bad_credentials"})


def log_out(user: User) -> None:
    """Sign out, recorded in the audit trail."""
    audit.record(AuditAction.AUTH_LOGOUT, actor=user, object_type="user", object_id=user.id)
    sign_out()


def session_seconds_left(now=None) -> int | None:
    """Seconds until the current browser session reaches its absolute limit (None for a token)."""
    row = g.get("auth_session")
    if row is None:
        return None
    now = now or utcnow()
    return max(0, int((row.created_at + current_app.config["SESSION_ABSOLUTE_TIMEOUT"] - now).total_seconds()))
