"""Undoing a change a few minutes after it was made (issue 13): which change, and whether it may be.

A change that can be undone is named by its audit event (the id the success message carries), so
the undo needs no table of its own and the trail keeps both the change and the undo. This module
answers the questions every undo asks of that event — is it the change it claims to be, of this
family, made by this person, and still inside the window (``UNDO_MINUTES``, default 10)? — and
whether someone has acted on the family since. What else must hold ("nothing depends on it") is
the owning service's to say: only it knows its rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from velferdslab.audit.actions import AuditAction
from velferdslab.audit.models import AuditEvent
from velferdslab.core.errors import ConflictError, ServiceError
from velferdslab.core.models import utcnow
from velferdslab.extensions import db

FIELD = "event_id"


def window() -> timedelta:
    """How long a change may be undone."""
    return timedelta(minutes=int(current_app.config.get("UNDO_MINUTES", 10)))


def undo_until(event: AuditEvent) -> datetime:
    return event.occurred_at + window()


def undoable(event_id: object, action: AuditAction, *, actor_id: int, family_id: int,
             now: datetime | None = None) -> AuditEvent:
    """The audit event of the change to undo, or a refusal in Norwegian (422/409).

    Only the person who made the change undoes it, only for the family the URL names, and only
    within the window.
    """
    try:
        key = int(str(event_id))
    except ValueError:
        key = 0
    event = db.session.get(AuditEvent, key) if key > 0 else None
    if event is None or event.action != str(action) or event.family_id != family_id:
        raise ServiceError(_("Fant ikke endringen som skulle angres."), FIELD, status=404)
    if event.actor_id != actor_id:
        raise ServiceError(_("Bare den som gjorde endringen, kan angre den."), FIELD, status=403)
    if (now or utcnow()) > undo_until(event):
        raise ConflictError(_("Endringen kan ikke lenger angres: det har gått mer enn %(minutes)s minutter.",
                              minutes=int(window().total_seconds() // 60)), FIELD)
    return event


def acted_since(event: AuditEvent, user_id: int) -> bool:
    """Whether ``user_id`` has done anything with the family (read or change) since ``event``."""
    return bool(db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.family_id == event.family_id, AuditEvent.actor_id == user_id, AuditEvent.id > event.id)))


def latest(action: AuditAction, object_type: str, object_id: object) -> AuditEvent | None:
    """The newest event of ``action`` on the object: the change a success message offers to undo."""
    return db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == str(action), AuditEvent.object_type == object_type,
        AuditEvent.object_id == str(object_id)).order_by(AuditEvent.id.desc()).limit(1))
