"""Writing audit events. Called by every domain; imports only ``core`` and its own models.

Every event is inserted at once, in the caller's transaction (a failing write fails the request
there and then, and the request rolls back and shows nothing), and sealed into the hash chain when
that transaction commits (``audit.chain``).

Summaries hold field names, codes, ids, counts and flags — never text a person wrote. That is
enforced here, not hoped for: a string value that is not a code (lowercase letters, digits and
``_ . : -``) or an ISO date is replaced by ``"[fjernet]"`` before it is stored, and so is a long
run of digits (a national id number is 11 digits); keys such as ``note`` or ``password`` are
dropped whole. The warning names the action and the key, never the value.
"""

from __future__ import annotations

import logging
import math
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from flask import current_app, g, has_request_context, request
from flask_login import current_user

from velferdslab.audit import chain
from velferdslab.audit.actions import AuditAction, Purpose
from velferdslab.audit.models import AuditEvent
from velferdslab.core import permissions
from velferdslab.core.models import utcnow
from velferdslab.core.transaction import after_rollback
from velferdslab.extensions import db

log = logging.getLogger(__name__)

# Keys that may never appear in an audit summary, whatever a caller passes.
FORBIDDEN_SUMMARY_KEYS = frozenset({"password", "password_hash", "token", "note", "notes", "text",
                                    "description", "reason_text", "national_id", "fnr", "name", "email",
                                    "title", "decisions", "payee", "comment", "body"})
REDACTED = "[fjernet]"
_CODE = re.compile(r"[a-z0-9_.:\-]{0,64}")
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?")
_DIGIT_RUN = re.compile(r"\d{8,}")
MAX_ITEMS = 50


def request_id() -> str | None:
    if not has_request_context():
        return None
    if "request_id" not in g:
        incoming = request.headers.get("X-Request-Id", "")
        valid = 8 <= len(incoming) <= 36 and all(c.isalnum() or c == "-" for c in incoming) and incoming.isascii()
        g.request_id = incoming if valid else str(uuid.uuid4())
    return g.request_id


def _safe_value(value: Any, where: str, depth: int = 0) -> Any:
    """The value if it carries no content, else a redaction (see the module docstring)."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        if (_CODE.fullmatch(value) or _ISO_TIME.fullmatch(value)) and not _DIGIT_RUN.search(value):
            return value
        log.warning("audit summary value redacted (%s): not a code", where)
        return REDACTED
    if depth < 3 and isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
        return [_safe_value(item, where, depth + 1) for item in items[:MAX_ITEMS]]
    if depth < 3 and isinstance(value, dict):
        return _clean_mapping(value, where, depth + 1)
    log.warning("audit summary value redacted (%s): unsupported type %s", where, type(value).__name__)
    return REDACTED


def _clean_mapping(mapping: dict, where: str, depth: int) -> dict:
    cleaned = {}
    for key, value in list(mapping.items())[:MAX_ITEMS]:
        key = str(key)
        if key.lower() in FORBIDDEN_SUMMARY_KEYS:
            continue
        if not _CODE.fullmatch(key):
            log.warning("audit summary key redacted (%s)", where)
            continue
        cleaned[key] = _safe_value(value, f"{where}.{key}", depth)
    return cleaned


def clean_summary(summary: dict[str, Any] | None, action: str = "?") -> dict[str, Any] | None:
    """What may be stored of a summary: codes, ids, counts, flags and dates; nothing a person wrote."""
    if not summary:
        return None
    return _clean_mapping(summary, action, 0) or None


def _actor(actor):
    if actor is not None:
        return actor
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def _event_fields(action: AuditAction, actor, lab_id, family_id, object_type, object_id,
                  purpose: Purpose | None, summary) -> dict:
    """The event's columns. ``action`` and ``purpose`` are members of their closed vocabularies
    (``audit.actions``; mypy holds every caller to that), stored as their codes."""
    who = _actor(actor)
    return dict(
        occurred_at=utcnow(),
        action=str(action),
        actor_id=who.id if who else None,
        actor_role=who.primary_role if who else None,
        agency_id=who.agency_id if who else None,
        lab_id=lab_id if lab_id is not None else (who.lab_id if who else None),
        family_id=family_id,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        purpose=str(purpose) if purpose is not None else None,
        request_id=request_id(),
        address=request.remote_addr if has_request_context() else None,
        summary=clean_summary(summary, action),
    )


def _write(fields: dict) -> AuditEvent:
    audit_event = AuditEvent(**fields)
    db.session.add(audit_event)
    db.session.flush()
    chain.track(db.session(), audit_event)
    return audit_event


def record(action: AuditAction, *, actor=None, lab_id: int | None = None, family_id: int | None = None,
           object_type: str | None = None, object_id: Any = None, purpose: Purpose | None = None,
           summary: dict[str, Any] | None = None) -> AuditEvent:
    """Add one audit event to the current transaction and flush it.

    The flush makes a failing write fail the caller now, inside the same transaction as the work
    it describes; the request then rolls back and shows nothing. The commit seals it into the chain.
    """
    return _write(_event_fields(action, actor, lab_id, family_id, object_type, object_id, purpose, summary))


def record_for_families(action: AuditAction, families: Iterable[int] | Mapping[int, dict | None], *, actor=None,
                        purpose: Purpose | None = None) -> list[AuditEvent]:
    """One event per family (the family as its object) for a list or queue that shows several,
    written with one multi-row INSERT instead of one round trip each. ``families`` is the family
    ids, or a mapping of each id to its event's summary. Sealed at commit like :func:`record`."""
    items = families.items() if isinstance(families, Mapping) else ((family_id, None) for family_id in families)
    base = _event_fields(action, actor, None, None, "family", None, purpose, None)
    events = [AuditEvent(**{**base, "family_id": family_id, "object_id": str(family_id),
                            "summary": clean_summary(summary, action)}) for family_id, summary in items]
    if not events:
        return []
    db.session.add_all(events)
    db.session.flush()
    session = db.session()
    for audit_event in events:
        chain.track(session, audit_event)
    return events


def record_even_if_request_fails(action: AuditAction, *, actor=None, lab_id: int | None = None,
                                 family_id: int | None = None, object_type: str | None = None,
                                 object_id: Any = None, purpose: Purpose | None = None,
                                 summary: dict[str, Any] | None = None) -> None:
    """For facts that must survive a failed request (denied access, failed sign-in).

    The fields are captured now; the row is written after the request's own work is rolled back.
    """
    fields = _event_fields(action, actor, lab_id, family_id, object_type, object_id, purpose, summary)
    if str(action).endswith("denied"):
        repeated = _repeat_count(fields)
        if repeated is not None and repeated & (repeated - 1):
            return  # not the 1st, 2nd, 4th, 8th… of this refusal in the window: counted, not written
        if repeated is not None and repeated > 1:
            fields["summary"] = {**(fields["summary"] or {}), "repeated": repeated}

    def write_after_rollback() -> None:
        _write(fields)

    after_rollback(write_after_rollback)


# Refusals repeated by one actor on one object and page (a script in a loop, an attacker hammering one
# family) would grow the family's access log without limit. Within REPEAT_WINDOW seconds the same
# refusal is written at its 1st, 2nd, 4th, 8th… occurrence, each row saying how many there have
# been (``repeated``): 1 500 refused reads leave 11 rows, and the count is on record.
REPEAT_WINDOW = 600


def _repeat_count(fields: dict) -> int | None:
    """How many times (this one included) this refusal happened in the window; None when the
    counter store is out of reach (then every refusal is written)."""
    from velferdslab.extensions import limiter

    endpoint = request.endpoint if has_request_context() else None
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or "velferdslab"
    key = f"{prefix}-refusal:" + ":".join(str(fields.get(name)) for name in (
        "action", "actor_id", "address" if fields.get("actor_id") is None else "lab_id", "family_id",
        "object_type", "object_id")) + f":{endpoint}"
    try:
        return int(limiter.storage.incr(key, REPEAT_WINDOW))
    except Exception:  # noqa: BLE001 - an unreachable counter store must never lose a refusal
        log.warning("refusal counter unavailable; writing every refusal")
        return None


def _record_refusal(permission: Any) -> None:
    """A signed-in user refused for lacking a permission (403): on record, whatever follows."""
    endpoint = request.endpoint if has_request_context() else None
    record_even_if_request_fails(AuditAction.PERMISSION_DENIED, summary={"permission": str(permission),
                                                                        "endpoint": endpoint})


permissions.on_refusal(_record_refusal)
