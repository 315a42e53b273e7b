"""Read-only report queries, optionally on a PostgreSQL replica.

When ``VELFERDSLAB_REPORT_DATABASE_URL`` is set, ``config`` maps it to the SQLAlchemy bind
``reports`` and :func:`report_session` hands the report code a session on that database (a hot
standby, say), so the heavy aggregate queries of the outcome report never compete with the
request traffic on the primary. Without it, report queries run on the request's own session.

Only queries go through it. Writes — above all the audit row that records who read a report — stay
on ``db.session``, the primary: a replica is read-only and the audit trail must be written in the
request's own transaction.

    from velferdslab.core.replica import report_session
    rows = report_session().execute(select(...)).all()
"""

from __future__ import annotations

from typing import Any

from flask import appcontext_tearing_down, g
from sqlalchemy.orm import Session

from velferdslab.extensions import db

BIND = "reports"
_KEY = "_report_session"


def replica_configured() -> bool:
    return BIND in db.engines


def report_session() -> Any:  # a Session, or db.session (a scoped_session that acts as one)
    """The session for report queries: on the ``reports`` bind when configured, else ``db.session``.

    The replica session is opened once per app context (request, job or command) and closed when
    the context ends. It never commits: it only reads.
    """
    if not replica_configured():
        return db.session
    session = g.get(_KEY)
    if session is None:
        session = Session(bind=db.engines[BIND], autoflush=False, expire_on_commit=False)
        setattr(g, _KEY, session)
    return session


def _close(sender, exc=None, **extra) -> None:
    session = g.pop(_KEY, None)
    if session is not None:
        session.close()


# A signal rather than ``app.teardown_appcontext`` so no app needs to register anything.
appcontext_tearing_down.connect(_close, weak=False)
