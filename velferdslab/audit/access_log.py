"""The family's access log: every audit event about one family, as the family may see it.

One entry per audit event whose ``family_id`` is the family's — reads, changes, denied attempts
and emergency access alike — with the date and time, the agency, the kind of staff role, what was
done and why (C-579/21: the person learns the dates and purposes of every access). Staff names,
user ids, addresses and request ids are left out of the family's copy.
"""

from __future__ import annotations

from sqlalchemy import select

from velferdslab.audit.directory import source
from velferdslab.audit.labels import action_label, purpose_label
from velferdslab.audit.models import AuditEvent
from velferdslab.core.i18n import OSLO
from velferdslab.core.navigation import role_label
from velferdslab.extensions import db


def entries(family_id: int) -> list[dict]:
    """The log, oldest first. Each entry names its audit event (``id``), so it can be checked."""
    e = AuditEvent
    _agency = source("agencies")
    rows = db.session.execute(
        select(e.id, e.occurred_at, e.actor_role, _agency.c.name.label("agency"), e.action, e.purpose)
        .select_from(e).outerjoin(_agency, _agency.c.id == e.agency_id)
        .where(e.family_id == family_id).order_by(e.occurred_at, e.id))
    log = []
    for row in rows:
        local = row.occurred_at.astimezone(OSLO)
        log.append({
            "id": row.id,
            "time": row.occurred_at.isoformat(),
            "date": local.date().isoformat(),
            "local_time": local.strftime("%H:%M"),
            "agency": row.agency,
            "role": role_label(row.actor_role) or None,
            "action": row.action,
            "what": action_label(row.action),
            "purpose": purpose_label(row.purpose, row.action),
        })
    return log
