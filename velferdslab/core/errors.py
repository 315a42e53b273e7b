"""Errors answer in the caller's language: JSON under /api, a Norwegian page elsewhere."""

from __future__ import annotations

import logging
import math

from flask import Flask, current_app, flash, g, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, InternalServerError

from velferdslab.core.permissions import wants_json
from velferdslab.extensions import db

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """A rule of the domain said no. Views turn it into a form message, the API into a status.

    ``field`` names the input at fault (for 422 bodies); ``status`` is the HTTP status to answer.
    """

    status = 422

    def __init__(self, message: str, field: str = "_schema", status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if status is not None:
            self.status = status

    def as_errors(self) -> dict[str, list[str]]:
        return {self.field: [self.message]}


class ConflictError(ServiceError):
    status = 409


class ForbiddenError(ServiceError):
    status = 403


MESSAGES = {
    400: _l("Forespørselen kunne ikke behandles."),
    401: _l("Du må logge inn."),
    403: _l("Du har ikke tilgang til dette."),
    404: _l("Siden finnes ikke."),
    405: _l("Metoden er ikke tillatt her."),
    409: _l("Dette er allerede endret av noen andre."),
    413: _l("Forespørselen er for stor."),
    422: _l("Noen av feltene er ikke gyldige."),
    429: _l("For mange forsøk. Vent litt og prøv igjen."),
    500: _l("Noe gikk galt hos oss. Feilen er logget."),
    503: _l("Tjenesten er midlertidig utilgjengelig. Prøv igjen om litt."),
}


def flatten_errors(messages) -> dict:
    """webargs reports errors per location ({"json": {...}}); callers want {field: [messages]}."""
    if not isinstance(messages, dict):
        return {"_schema": [str(messages)]}
    if set(messages) <= {"json", "query", "form", "headers", "files", "view_args", "path", "cookies"}:
        flat: dict = {}
        for inner in messages.values():
            flat.update(inner if isinstance(inner, dict) else {"_schema": inner})
        return flat
    return messages


def translate_messages(errors):
    """Schema messages are bokmål msgids marked with ``N_`` (marshmallow needs plain str at import
    time); they are translated here, in the request's language. Other text passes unchanged."""
    if isinstance(errors, dict):
        return {key: translate_messages(value) for key, value in errors.items()}
    if isinstance(errors, list | tuple):
        return [translate_messages(value) for value in errors]
    return _(errors) if isinstance(errors, str) and errors else errors


def error_response(code: int, errors: dict | None = None, message: str | None = None, headers=None):
    message = message or str(MESSAGES.get(code, MESSAGES[500]))
    if wants_json():
        body = {"status": code, "message": message}
        if errors:
            body["errors"] = errors
        response = jsonify(body)
        response.status_code = code
    else:
        page = render_template("error.html", code=code, message=message, errors=errors or {})
        response = make_response(page, code)
    if headers:
        response.headers.update(headers)
    if code == 503 and "Retry-After" not in response.headers:
        # Every 503 says when to come back (the money operations' exhausted retries among them).
        response.headers["Retry-After"] = g._retry_after = str(current_app.config.get("DATABASE_RETRY_AFTER", 5))
    return response


def handle_http_exception(error: HTTPException):
    code = error.code or 500
    if code == 401 and not wants_json():
        return _to_sign_in()
    if (code == 400 and isinstance(error, CSRFError) and not wants_json() and request.endpoint != "auth.login"
            and not current_user.is_authenticated):
        # The session cookie itself expired with the session (its absolute limit): the form's token
        # went with it. Same way back as an expired session: sign in, then the page again.
        return _to_sign_in()
    data = getattr(error, "data", None) or {}
    errors = None
    if "errors" in data:
        errors = data["errors"]
    elif "messages" in data:
        errors = translate_messages(flatten_errors(data["messages"]))
    message = None
    if code == 400 and isinstance(error, CSRFError):
        message = _("Skjemaet er utløpt eller mangler sikkerhetsnøkkel. Last siden på nytt og prøv igjen.")
    limit = getattr(getattr(error, "limit", None), "limit", None)  # flask-limiter's RateLimitExceeded
    if code == 429 and limit is not None:
        # The lock-out says how long it can last: the window of the limit that was hit.
        minutes = max(1, math.ceil(limit.get_expiry() / 60))
        message = _("For mange forsøk. Vent høyst %(n)s minutter og prøv igjen.", n=minutes)
    headers = dict(data.get("headers") or {})
    allowed = getattr(error, "valid_methods", None)  # MethodNotAllowed's
    if code == 405 and allowed:
        headers["Allow"] = ", ".join(allowed)
    return error_response(code, errors, message, headers)


def _to_sign_in():
    if g.get("session_expired") or request.method == "POST":
        flash(_("Økten din er avsluttet. Logg inn igjen for å fortsette der du var."), "info")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def handle_service_error(error: ServiceError):
    return error_response(error.status, error.as_errors(), error.message)


def handle_unexpected(error: Exception):
    log.exception("unhandled error on %s %s", request.method, request.path)
    # A failed flush (an audit row that could not be written, say) leaves the session unusable;
    # the request's work is void anyway, so roll it back before the error page needs the database.
    db.session.rollback()
    return error_response(500)


# --- the database could not be had in time (docs/reliability.md, items 5 and 6) ---------------------

# SQLite says this when another writer holds the database longer than its busy time-out.
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


def database_unavailable(error: BaseException | None) -> bool:
    """Whether ``error`` means the database could not be had in time, or was lost: a lock or
    statement time-out, a killed or broken connection, no free connection in the pool, a server
    that does not answer. Such a request is answered 503 with Retry-After, never 500.

    A programming error that SQLite also reports as OperationalError ("no such table") is not one.
    """
    if isinstance(error, sa_exc.TimeoutError):  # the pool had no connection to give in time
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sa_exc.InterfaceError):  # the connection is closed or broken
        return True
    if isinstance(error, sa_exc.OperationalError):
        if error.orig is not None and type(error.orig).__module__.startswith("sqlite3"):
            return any(phrase in str(error.orig) for phrase in _SQLITE_BUSY)
        return True
    return False


def discard_session() -> None:
    """Roll back what the request did; on a connection that is already gone, only forget it."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is broken; its work is void either way
        log.warning("rollback failed after a database fault; discarding the session")
        try:
            db.session.close()
        except Exception:  # noqa: BLE001
            log.warning("closing the session failed after a database fault")


def unavailable_response(error: BaseException):
    """503 with Retry-After: JSON for the API (the usual error body), a Norwegian page elsewhere.

    The page stands alone (no menu, no user, nothing that needs the database again)."""
    orig = getattr(error, "orig", None)
    # The class names say what happened (LockNotAvailable, QueryCanceled, AdminShutdown, …);
    # the message itself could quote data, so it stays out of the log.
    log.warning("database unavailable on %s %s: %s%s", request.method, request.path, type(error).__name__,
                f" ({type(orig).__name__})" if orig is not None else "")
    discard_session()
    # Who is asking cannot be looked up now (and the rollback expired a user already loaded): from
    # here on (language, page, after-request hooks) the request is anonymous, so nothing asks the
    # database again.
    login_manager = getattr(current_app, "login_manager", None)
    if login_manager is not None:
        g._login_user = login_manager.anonymous_user()
    retry_after = str(current_app.config.get("DATABASE_RETRY_AFTER", 5))
    message = str(MESSAGES[503])
    if wants_json():
        response = jsonify({"status": 503, "message": message})
        response.status_code = 503
    else:
        response = make_response(render_template("unavailable.html", message=message, retry_after=retry_after), 503)
    response.headers["Retry-After"] = g._retry_after = retry_after  # kept by core.transaction
    return response


def handle_database_error(error: Exception):
    if database_unavailable(error):
        return unavailable_response(error)
    if current_app.config.get("TESTING"):
        raise error  # as any other unexpected error in tests: into the test (see init_app)
    return handle_unexpected(error)


def _handle_internal_error(error: InternalServerError):
    # An error raised after the view (the commit in core.transaction, say) reaches Flask as a 500
    # wrapping it; a database fault among them is still a 503.
    original = error.original_exception
    if original is not None and database_unavailable(original):
        return unavailable_response(original)
    return handle_unexpected(error)


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(ServiceError, handle_service_error)
    app.register_error_handler(InternalServerError, _handle_internal_error)
    for database_error in (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError, sa_exc.DBAPIError):
        app.register_error_handler(database_error, handle_database_error)
    if not app.config.get("TESTING"):
        app.register_error_handler(Exception, handle_unexpected)
