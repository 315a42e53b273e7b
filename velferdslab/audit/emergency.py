"""Emergency access ("break the glass"): a time-limited view of one family, for a stated reason.

Only roles with the ``emergency.access`` permission (lab management and administrators) may break
the glass; the reason is required (at least 20 characters), the time limit is 1–8 hours, and the
grant covers one family. ``teams.policy`` honours an active grant exactly as team membership, and
it is the *only* way into a restricted (*sperret*) family. Every grant, its early end, and every
read made under it are in the audit trail and flagged in the review until an administrator has
looked at them.

This module knows families only by id (``audit`` imports only ``core``): whether the family exists
in the user's lab and may still be seen is checked by the caller (``cases.emergency``), which knows
families, before it opens a grant here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Integer, and_, bindparam, select

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction, Purpose
from velferdslab.audit.models import MAX_EMERGENCY_HOURS, MIN_REASON_LENGTH, EmergencyAccess
from velferdslab.core import events
from velferdslab.core.errors import ConflictError, ForbiddenError, ServiceError
from velferdslab.core.models import UTCDateTime, utcnow
from velferdslab.extensions import db

PERMISSION = "emergency.access"
MAX_REASON_LENGTH = 1000
PURPOSE = Purpose.EMERGENCY

def active_clause(user_id: Any, now: Any = None):
    """SQL: the grant belongs to ``user_id`` and is in force at ``now`` (a time, or a parameter)."""
    if now is None:
        now = utcnow()
    return and_(EmergencyAccess.user_id == user_id, EmergencyAccess.granted_at <= now,
                EmergencyAccess.expires_at > now, EmergencyAccess.ended_at.is_(None))


def family_ids(user_id: Any, now: Any = None):
    """A subquery of the families ``user_id`` may see by emergency access right now (or at ``now``:
    a time, or a parameter)."""
    return select(EmergencyAccess.family_id).where(active_clause(user_id, now))


def active_grant(user, family_id: int, now: datetime | None = None) -> EmergencyAccess | None:
    if not getattr(user, "is_authenticated", False) or not user.has_permission(PERMISSION):
        return None
    return db.session.scalar(select(EmergencyAccess).where(active_clause(user.id, now),
                                                           EmergencyAccess.family_id == family_id)
                             .order_by(EmergencyAccess.expires_at.desc()).limit(1))


def check_request(user, *, reason: str, hours: int) -> str:
    """The request's own rules: the permission, a reason, a time limit. Returns the clean reason.
    Raises ServiceError (422) / ForbiddenError (403)."""
    if not user.has_permission(PERMISSION):
        raise ForbiddenError(_("Du har ikke tilgang til nødtilgang."), "family_id")
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise ServiceError(_("Skriv en begrunnelse på minst %(n)d tegn.", n=MIN_REASON_LENGTH), "reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise ServiceError(_("Begrunnelsen kan ha høyst %(n)d tegn.", n=MAX_REASON_LENGTH), "reason")
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= MAX_EMERGENCY_HOURS:
        raise ServiceError(_("Velg en varighet mellom 1 og %(n)d timer.", n=MAX_EMERGENCY_HOURS), "hours")
    return reason


def open_grant(user, family_id: int, *, reason: str, hours: int) -> EmergencyAccess:
    """Break the glass for one family, once the request passed :func:`check_request` and the caller
    has checked the family exists in ``user``'s lab and is not erased (``cases.emergency.grant``)."""
    if active_grant(user, family_id) is not None:
        raise ConflictError(_("Du har allerede nødtilgang til denne familien."), "family_id")
    now = utcnow()
    row = EmergencyAccess(lab_id=user.lab_id, family_id=family_id, user_id=user.id, reason=reason,
                          granted_at=now, expires_at=now + timedelta(hours=hours))
    db.session.add(row)
    db.session.flush()
    audit.record(AuditAction.EMERGENCY_GRANT, actor=user, family_id=family_id, object_type="emergency_access",
                 object_id=row.id, purpose=Purpose.EMERGENCY, summary={"hours": hours, "expires_at": row.expires_at})
    events.emergency_access_opened(row)
    return row


def end(user, grant_id: int) -> EmergencyAccess:
    """End one's own grant before its time is up."""
    row = db.session.get(EmergencyAccess, grant_id)
    if row is None or row.user_id != user.id:
        raise ServiceError(_("Fant ikke nødtilgangen."), "grant", status=404)
    if row.ended_at is None and row.expires_at > utcnow():
        row.ended_at = utcnow()
        db.session.flush()
        audit.record(AuditAction.EMERGENCY_END, actor=user, family_id=row.family_id, object_type="emergency_access",
                     object_id=row.id, purpose=PURPOSE)
    return row


def mark_reviewed(reviewer, grant_id: int) -> EmergencyAccess:
    """An administrator has looked at the grant and what was read under it."""
    if not reviewer.has_permission("audit.review"):
        raise ForbiddenError(_("Du har ikke tilgang til å gjennomgå nødtilganger."), "grant")
    row = db.session.get(EmergencyAccess, grant_id)
    if row is None or row.lab_id != reviewer.lab_id:
        raise ServiceError(_("Fant ikke nødtilgangen."), "grant", status=404)
    if row.user_id == reviewer.id:
        raise ForbiddenError(_("Du kan ikke gjennomgå din egen nødtilgang."), "grant")
    if row.reviewed_at is None:
        row.reviewed_at, row.reviewed_by_id = utcnow(), reviewer.id
        db.session.flush()
        audit.record(AuditAction.EMERGENCY_REVIEW, actor=reviewer, family_id=row.family_id,
                     object_type="emergency_access",
                     object_id=row.id, purpose=Purpose.REVIEW)
    return row


def grants_for_family(family_id: int, since: datetime) -> list[EmergencyAccess]:
    """Grants for the family that were in force at some time after ``since`` (the family page banner)."""
    return list(db.session.scalars(_grants_query(), {"family_id": family_id, "since": since}))


@cache
def _grants_query():
    # Built once with the family and time as parameters (issue 19: asked on every family page).
    return (select(EmergencyAccess).where(EmergencyAccess.family_id == bindparam("family_id", type_=Integer),
                                          EmergencyAccess.expires_at >= bindparam("since", type_=UTCDateTime))
            .order_by(EmergencyAccess.granted_at.desc()))


def grants_of_user(user_id: int, limit: int = 20) -> list[EmergencyAccess]:
    return list(db.session.scalars(select(EmergencyAccess).where(EmergencyAccess.user_id == user_id)
                                   .order_by(EmergencyAccess.granted_at.desc()).limit(limit)))


def is_active(row: EmergencyAccess, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return row.ended_at is None and row.granted_at <= now < row.expires_at
