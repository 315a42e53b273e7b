"""Writing audit events. Called by every domain; imports only ``core`` and its own models."""

from __future__ import annotations

import uuid
from typing import Any

from flask import g, has_request_context, request
from flask_login import current_user

from velferdslab.audit.models import AuditEvent
from velferdslab.core.transaction import after_rollback
from velferdslab.extensions import db

# Keys that may never appear in an audit summary, whatever a caller passes.
FORBIDDEN_SUMMARY_KEYS = frozenset({"password", "password_hash", "token", "note", "notes", "text",
                                    "description", "reason_text", "national_id", "fnr"})


def request_id() -> str | None:
    if not has_request_context():
        return None
    if "request_id" not in g:
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if 8 <= len(incoming) <= 36 and incoming.isascii() else str(uuid.uuid4())
    return g.request_id


def _clean_summary(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    if not summary:
        return None
    return {k: v for k, v in summary.items() if k.lower() not in FORBIDDEN_SUMMARY_KEYS}


def _actor(actor):
    if actor is not None:
        return actor
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def _event_fields(action: str, actor, lab_id, family_id, object_type, object_id, purpose, summary) -> dict:
    who = _actor(actor)
    return dict(
        action=action,
        actor_id=who.id if who else None,
        actor_role=who.primary_role if who else None,
        agency_id=who.agency_id if who else None,
        lab_id=lab_id if lab_id is not None else (who.lab_id if who else None),
        family_id=family_id,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        purpose=purpose,
        request_id=request_id(),
        address=request.remote_addr if has_request_context() else None,
        summary=_clean_summary(summary),
    )


def record(action: str, *, actor=None, lab_id: int | None = None, family_id: int | None = None,
           object_type: str | None = None, object_id: Any = None, purpose: str | None = None,
           summary: dict[str, Any] | None = None) -> AuditEvent:
    """Add one audit event to the current transaction and flush it.

    The flush makes a failing write fail the caller now, inside the same transaction as the work
    it describes; the request then rolls back and shows nothing.
    """
    event = AuditEvent(**_event_fields(action, actor, lab_id, family_id, object_type, object_id,
                                       purpose, summary))
    db.session.add(event)
    db.session.flush()
    return event


def record_even_if_request_fails(action: str, *, actor=None, lab_id: int | None = None,
                                 family_id: int | None = None, object_type: str | None = None,
                                 object_id: Any = None, purpose: str | None = None,
                                 summary: dict[str, Any] | None = None) -> None:
    """For facts that must survive a failed request (denied access, failed sign-in).

    The fields are captured now; the row is written after the request's own work is rolled back.
    """
    fields = _event_fields(action, actor, lab_id, family_id, object_type, object_id, purpose, summary)

    def write() -> None:
        db.session.add(AuditEvent(**fields))
        db.session.flush()

    after_rollback(write)
