"""What the audit trail needs to know about the rest of the lab, and nothing more.

``audit`` sits below every domain (they all write audit events), so it may not import the domains
whose rows its review and access log name. Instead each owner *provides* a selectable with the
columns listed in :data:`REQUIRED` when its models are defined, and ``audit`` joins against that:

========================  ===================================================  ==========
source                    columns                                              provided by
========================  ===================================================  ==========
``people``                ``id``, ``name``, ``lab_id``                         ``auth``
``agencies``              ``id``, ``name``, ``lab_id``                         ``auth``
``memberships``           ``user_id``, ``family_id``, ``start_date``,          ``teams``
                          ``end_date``
========================  ===================================================  ==========

A source that is missing, or lacks a column, fails at the first use with a message naming it.
"""

from __future__ import annotations

from sqlalchemy import Row, select
from sqlalchemy.sql import FromClause

from velferdslab.extensions import db

REQUIRED: dict[str, tuple[str, ...]] = {
    "people": ("id", "name", "lab_id"),
    "agencies": ("id", "name", "lab_id"),
    "memberships": ("user_id", "family_id", "start_date", "end_date"),
}
_sources: dict[str, FromClause] = {}


def provide(name: str, selectable: FromClause) -> None:
    """Give ``audit`` one of the sources it reads (called by the owning domain's models module)."""
    if name not in REQUIRED:
        raise ValueError(f"audit needs no source called {name!r}")
    missing = [column for column in REQUIRED[name] if column not in selectable.c]
    if missing:
        raise ValueError(f"the audit source {name!r} lacks the columns {missing}")
    _sources[name] = selectable


def source(name: str) -> FromClause:
    """The selectable provided for ``name``."""
    try:
        return _sources[name]
    except KeyError:
        raise RuntimeError(f"no module has provided the audit source {name!r}; import the models first") from None


def lab_names(name: str, lab_id: int) -> list[Row]:
    """(id, name) of every row of a ``people`` or ``agencies`` source in one lab, by name."""
    rows = source(name)
    return list(db.session.execute(select(rows.c.id, rows.c.name).where(rows.c.lab_id == lab_id)
                                   .order_by(rows.c.name)))
