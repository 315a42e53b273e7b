"""A published report, computed once (issues 14 and 19).

A published quarter (``reports.releases``) is read as recorded at its release instant: nothing
recorded afterwards changes it, so every statement of it gives the same rows every time it runs.
Over a lab of 10 000 families those statements take seconds; so the first reading of a published
report computes them and keeps their rows (``ReportSnapshot``), and every later reading — any
worker, any reader of the same selection — reads the rows back in one statement.

- **The key** is the SHA-256 of the statement's SQL and its parameters, so the filter, the
  release instant, the cell-key coefficients (literals in the SQL) and any change of the code all
  make a different key; a snapshot can never answer for another statement.
- **Only published readings** are kept: a filter with a release (``OutcomeFilter.release``) and
  its instant. A live report (the cell key off) or one read as of a day the reader typed is
  computed every time.
- **Settled instants only**: a release instant fixed a moment ago may still see a transaction
  that began before it commit (docs/reports.md); rows are kept only once the instant is
  ``REPORT_SNAPSHOT_SETTLE_SECONDS`` (300) old, so the kept rows are the ones every later
  recomputation gives.
- ``VELFERDSLAB_REPORT_SNAPSHOTS=0`` turns it off (every reading computes).

The rows are stored with their column names and types (integers, text, dates, decimals), and read
back as named tuples: the code that reads a report cannot tell them from the database's rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict, namedtuple
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.engine import Engine

from velferdslab.core.database import insert_new
from velferdslab.core.models import utcnow
from velferdslab.extensions import db
from velferdslab.reports.models import ReportSnapshot

log = logging.getLogger(__name__)


def enabled() -> bool:
    return bool(current_app.config.get("REPORT_SNAPSHOTS", True))


def settled(instant: datetime | date | None) -> bool:
    """Whether a release instant is old enough for its rows to be kept."""
    if not isinstance(instant, datetime):
        return False
    seconds = int(current_app.config.get("REPORT_SNAPSHOT_SETTLE_SECONDS", 300))
    return instant <= utcnow() - timedelta(seconds=seconds)


def frozen(f) -> bool:
    """Whether the report ``f`` (an ``OutcomeFilter``) is a published reading whose rows may be kept."""
    return enabled() and f.release is not None and settled(f.as_of)


# --- the key of a statement ---------------------------------------------------------------------

# Compiling a large statement to hash it costs milliseconds: its key is kept per statement object
# (the report's statements are themselves built once per filter and kept, ``outcome.built``).
_KEYS: OrderedDict[int, tuple[Any, str]] = OrderedDict()
_KEYS_KEPT = 2048
_KEYS_LOCK = threading.Lock()


def key(statement, dialect) -> str:
    ident = id(statement)
    with _KEYS_LOCK:
        kept = _KEYS.get(ident)
        if kept is not None and kept[0] is statement:
            return kept[1]
    compiled = statement.compile(dialect=dialect)
    params = sorted((name, repr(value)) for name, value in compiled.params.items())
    digest = hashlib.sha256(json.dumps([dialect.name, compiled.string, params]).encode()).hexdigest()
    with _KEYS_LOCK:
        _KEYS[ident] = (statement, digest)  # the statement is held: its id is not reused meanwhile
        while len(_KEYS) > _KEYS_KEPT:
            _KEYS.popitem(last=False)
    return digest


# --- rows to JSON and back ----------------------------------------------------------------------

def _encode(value):
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, float):
        return {"float": repr(value)}
    raise TypeError(f"a report snapshot cannot hold {type(value).__name__}")


def _decode(value):
    if not isinstance(value, dict):
        return value
    (kind, text), = value.items()
    readers: dict[str, Callable[[str], Any]] = {"decimal": Decimal, "datetime": datetime.fromisoformat,
                                                "date": date.fromisoformat, "float": float}
    return readers[kind](text)


def dumps(rows: list) -> str:
    fields = list(rows[0]._fields) if rows else []
    return json.dumps({"fields": fields, "rows": [[_encode(v) for v in row] for row in rows]},
                      separators=(",", ":"))


_ROW_TYPES: dict[tuple[str, ...], type] = {}


def loads(body: str) -> list:
    data = json.loads(body)
    fields = tuple(data["fields"])
    row_type = _ROW_TYPES.get(fields)
    if row_type is None:
        row_type = _ROW_TYPES.setdefault(fields, namedtuple("SnapshotRow", fields))
    return [row_type(*(_decode(v) for v in row)) for row in data["rows"]]


# --- reading through the snapshots --------------------------------------------------------------

def execute_all(connection, statements: dict) -> dict[str, list]:
    """The rows of each statement (by name): kept ones read in one statement, the rest computed on
    ``connection`` and kept (on the primary, committed at once on PostgreSQL: see :func:`_keep`; a
    concurrent first reading of the same report inserts the same rows, ``ON CONFLICT DO NOTHING``)."""
    dialect = connection.dialect
    keys = {name: key(statement, dialect) for name, statement in statements.items()}
    found = dict(db.session.execute(select(ReportSnapshot.key, ReportSnapshot.body)
                                    .where(ReportSnapshot.key.in_(set(keys.values())))).all())
    results: dict[str, list] = {}
    new: dict[str, str] = {}
    for name, statement in statements.items():
        body = found.get(keys[name])
        if body is not None:
            results[name] = loads(body)
            continue
        rows = connection.execute(statement).all()
        results[name] = rows
        try:
            new[keys[name]] = dumps(rows)
        except TypeError:  # a value the snapshot cannot hold: answer, compute it again next time
            log.warning("report statement %s not kept: a value of a type snapshots cannot hold", name)
    if new:
        _keep(new)
    return results


def _keep(bodies: dict[str, str]) -> None:
    now = utcnow()
    # In key order: two first readings inserting overlapping rows wait for each other in the same
    # order (the unique index), never in a cycle.
    rows = [{"key": k, "body": bodies[k], "created_at": now} for k in sorted(bodies)]
    bind = db.session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        # Committed at once, in a transaction of their own: the rows stand for a settled instant
        # whatever the request does next, so a first reading cut short (the request's database
        # deadline, a lost client) keeps what it had computed, and the next reading goes on from
        # there instead of starting again (over a lab of 10 000 families a first reading of a long
        # period can take longer than a request may: issue 19). A session bound to one connection
        # (an outer transaction, as in the tests) keeps them in that transaction instead; so does
        # SQLite, where a second writer would wait on the request's own write lock.
        with bind.begin() as connection:
            insert_new(ReportSnapshot, rows, "key", connection)
        return
    insert_new(ReportSnapshot, rows, "key")
