"""The family's access log: every audit event about one family, as the family may see it.

One entry per audit event whose ``family_id`` is the family's — reads, changes, denied attempts
and emergency access alike — with the date and time, the agency, the kind of staff role, what was
done and why (C-579/21: the person learns the dates and purposes of every access). Staff names,
user ids, addresses and request ids are left out of the family's copy.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from velferdslab.audit.directory import source
from velferdslab.audit.labels import action_label, purpose_label
from velferdslab.audit.models import AuditEvent
from velferdslab.core.i18n import OSLO
from velferdslab.core.navigation import role_label
from velferdslab.extensions import db

# The documents (page and PDF) show at most this many lines; a longer log is read by period.
MAX_DOCUMENT_LINES = 2000


def _oslo_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=OSLO)


def entries(family_id: int, since: date | None = None, until: date | None = None) -> list[dict]:
    """The log, oldest first, optionally for the Oslo dates ``since``–``until`` (inclusive). Each
    entry names its audit event (``id``), so it can be checked."""
    e = AuditEvent
    _agency = source("agencies")
    query = (select(e.id, e.occurred_at, e.actor_role, _agency.c.name.label("agency"), e.action, e.purpose,
                    e.summary)
             .select_from(e).outerjoin(_agency, _agency.c.id == e.agency_id).where(e.family_id == family_id))
    if since is not None:
        query = query.where(e.occurred_at >= _oslo_midnight(since))
    if until is not None:
        query = query.where(e.occurred_at < _oslo_midnight(until + timedelta(days=1)))
    log = []
    for row in db.session.execute(query.order_by(e.occurred_at, e.id)):
        local = row.occurred_at.astimezone(OSLO)
        repeated = (row.summary or {}).get("repeated") if isinstance(row.summary, dict) else None
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
            # A refusal repeated in a short time is written at its 1st, 2nd, 4th… occurrence
            # (``audit.services``): this one was the n-th.
            "repeated": repeated if isinstance(repeated, int) else None,
        })
    return log


def lines(log: list[dict]) -> list[dict]:
    """The log as the documents print it: entries in a row that differ only in their time (the
    same day, agency, role, action and purpose) become one line with a count and a time span."""
    out: list[dict] = []
    for entry in log:
        key = (entry["date"], entry["agency"], entry["role"], entry["action"], entry["purpose"])
        times = max(entry.get("repeated") or 1, 1)
        if out and out[-1]["key"] == key:
            last = out[-1]
            last["count"] = max(last["count"] + 1, times)
            last["until_time"] = entry["local_time"]
            continue
        out.append({**entry, "key": key, "count": times, "until_time": entry["local_time"]})
    return out
