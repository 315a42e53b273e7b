"""``Idempotency-Key`` on every create in the JSON API (issue 12, items 2 and 3).

A client whose request committed but whose answer was lost (a time-out during a database stall)
must be able to send it again without creating a duplicate. Every ``POST`` to the API may carry an
``Idempotency-Key`` header (8–100 visible ASCII characters, chosen by the client, unique per user):

* the first request with a key runs as usual; when it succeeds (2xx) its answer is stored with the
  key in the same transaction as the work itself, so either both are committed or neither is;
* the same key again with the same method, path and body answers the stored response (status,
  body, ``Location``) with ``Idempotent-Replayed: true`` and does nothing;
* the same key with a different request answers 422 (field ``idempotency_key``);
* two requests with the same key at the same moment: the database's unique constraint lets one
  commit; the other's work is rolled back and it answers as a replay (same request) or 422.

Keys are kept for :data:`RETENTION`; a family's stored answers are deleted with its personal data
(``privacy.inventory``). Spend decisions (approve, pay, …) keep their own keys bound to the request
(``budget.services``), and a new API token's answer — a secret shown once — is never stored.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from typing import Any

from apispec import BasePlugin
from flask import Flask, Response, g, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Index, Integer, String, Text, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from velferdslab.core.errors import error_response
from velferdslab.core.models import UTCDateTime, utcnow
from velferdslab.extensions import Model, db

HEADER = "Idempotency-Key"
KEY = re.compile(r"^[\x21-\x7e]{8,100}$")
RETENTION = timedelta(hours=24)
# Endpoints that answer for themselves: decisions on a spend request bind the key to the request
# and the operation; a token's answer carries the token itself, which is never stored.
EXEMPT = frozenset({"budget_api.SpendApprove", "budget_api.SpendReject", "budget_api.SpendPay",
                    "budget_api.SpendCancel", "budget_api.SpendSubmit", "auth_api.Tokens"})
PARAMETER = {"in": "header", "name": HEADER, "required": False,
             "schema": {"type": "string", "minLength": 8, "maxLength": 100},
             "description": "Send the same key again with the same request and nothing is created "
                            "twice: the first answer is repeated (header Idempotent-Replayed: true). "
                            "The same key with another request answers 422. Keys are kept 24 hours."}


class StoredResponse(Model):
    """The answer to a successful API write, under the client's key."""

    __tablename__ = "api_idempotency"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of method, path and body
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(300))
    # The family the answer is about (its path's family_id), so erasure can delete it.
    family_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_api_idempotency_user_key"),
                      Index("ix_api_idempotency_family_id", "family_id"),
                      Index("ix_api_idempotency_created_at", "created_at"))


def applies() -> bool:
    return (request.method == "POST" and request.path.startswith("/api/") and request.endpoint is not None
            and request.endpoint not in EXEMPT and HEADER in request.headers)


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _stored(user_id: int, key: str) -> StoredResponse | None:
    return db.session.scalar(select(StoredResponse).where(StoredResponse.user_id == user_id,
                                                          StoredResponse.key == key,
                                                          StoredResponse.created_at >= utcnow() - RETENTION))


def _refused(message: str) -> Response:
    return error_response(422, {"idempotency_key": [message]})


def _replay(row: StoredResponse) -> Response:
    response = Response(row.body, status=row.status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    if row.location:
        response.headers["Location"] = row.location
    return response


def _answer_for(row: StoredResponse | None, fingerprint: str) -> Response:
    if row is None or row.fingerprint != fingerprint:
        return _refused(_("Idempotency-Key er allerede brukt til en annen forespørsel."))
    return _replay(row)


def before_request() -> Response | None:
    if not applies() or not current_user.is_authenticated:
        return None  # no key, or no user yet: the view answers (401 for a stranger)
    key = request.headers[HEADER].strip()
    if not KEY.match(key):
        return _refused(_("Idempotency-Key må være 8–100 synlige ASCII-tegn."))
    fingerprint = _fingerprint()
    row = _stored(current_user.id, key)
    if row is not None:
        return _answer_for(row, fingerprint)
    g._idempotency = (current_user.id, key, fingerprint)
    return None


def after_request(response: Response) -> Response:
    """Store a successful answer before the request's one commit (``core.transaction``)."""
    pending = g.pop("_idempotency", None)
    if pending is None or not 200 <= response.status_code < 300:
        return response
    user_id, key, fingerprint = pending
    # The family: its id in the path, or named by a view whose path names another of its objects.
    family_id = (request.view_args or {}).get("family_id") or g.get("idempotency_family_id")
    try:
        with db.session.begin_nested():
            # Expired keys go as new ones come (an indexed range, nearly always empty).
            db.session.execute(delete(StoredResponse).where(StoredResponse.created_at < utcnow() - RETENTION))
            db.session.add(StoredResponse(user_id=user_id, key=key, fingerprint=fingerprint,
                                          status=response.status_code, body=response.get_data(as_text=True),
                                          location=response.headers.get("Location"),
                                          family_id=family_id if isinstance(family_id, int) else None))
    except IntegrityError:
        # The same key committed by a request running at the same moment: this one's work goes.
        db.session.rollback()
        return _answer_for(_stored(user_id, key), fingerprint)
    return response


class OpenAPIPlugin(BasePlugin):
    """Documents the header on every POST operation it applies to (the spend decisions already
    document their own; the token endpoint is left out)."""

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **kwargs: Any) -> None:
        post = (operations or {}).get("post")
        if post is None or path is None or path.endswith("/tokens"):
            return
        parameters = post.setdefault("parameters", [])
        if not any(isinstance(p, dict) and p.get("in") == "header" and p.get("name") == HEADER
                   for p in parameters):
            parameters.append(dict(PARAMETER))


def init_app(app: Flask) -> None:
    """Register after ``core.transaction``: after-request functions run in reverse order, so the
    answer is stored before the request commits."""
    app.before_request(before_request)
    app.after_request(after_request)
