"""The hash chain: sealing events at commit, and verifying the whole trail.

Sealing
-------
``audit.record`` inserts an event at once (so a failing write fails the request where it
happens) with empty chain columns and notes it on the session. When the session commits, the
``before_commit`` hook below locks the chain head (``SELECT … FOR UPDATE`` on the single
``audit_chain_head`` row), gives the transaction's events the next sequence numbers in id order,
computes their hashes, writes them and moves the head, and the COMMIT releases the lock. The lock
is held only for those three statements and the commit, never while a page renders, so the
family page's read events do not queue behind each other. Order = commit order; sequence numbers
have no gaps because a rolled-back transaction rolls back its head move too.

A row lock rather than ``pg_advisory_xact_lock``: under READ COMMITTED both serialise the same
way, but a REPEATABLE READ or SERIALIZABLE transaction reading the head after another writer
committed would silently see the old head with an advisory lock (a fork); with the row lock it
gets a serialization failure (40001) that the caller's retry loop handles. On SQLite the writer
already holds the database's write lock from its INSERT.

Verifying
---------
:func:`verify` streams the events in ``chain_seq`` order (a server-side cursor on PostgreSQL),
re-hashes each and compares, and names the first event where the chain breaks: an edited event
(its hash does not match its content), a deleted one (a gap in the sequence), two swapped ones (a
link that does not match). The end of the chain is then compared with the head row
(``audit_chain_head``, which every seal moves and which only moves forward): events deleted from
the tail leave the head pointing past the last event (**truncated**), events written into the
chain around the seal leave events past the head (**beyond-head**). Signed checkpoints
(``audit.checkpoints``) pin the hash at a sequence number outside the database, which catches a
rewritten chain and a cut-off tail even when the head row was rewritten too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from hashlib import sha256

from sqlalchemy import Table, bindparam, event, inspect, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from velferdslab.audit.canonical import GENESIS, canonical_json, chain_hash, event_bytes, timestamp
from velferdslab.audit.models import AuditChainHead, AuditEvent

PENDING_KEY = "audit_unsealed"


def track(session: Session, audit_event: AuditEvent) -> None:
    """Note an inserted event on its session so the commit seals it."""
    session.info.setdefault(PENDING_KEY, []).append(audit_event)


def canonical_fields(e: AuditEvent, seq: int | None = None) -> tuple:
    return (e.chain_seq if seq is None else seq, e.id, timestamp(e.occurred_at), e.lab_id, e.actor_id,
            e.actor_role, e.agency_id, e.family_id, e.action, e.object_type, e.object_id, e.purpose, e.request_id,
            e.address, canonical_json(e.summary))


def _table(model: type[AuditChainHead] | type[AuditEvent]) -> Table:
    """A declarative model's table: ``__table__`` is typed as any FromClause, but a model with a
    ``__tablename__`` is always mapped to a Table (which ``update()`` needs)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


_head = _table(AuditChainHead)
_events = _table(AuditEvent)
MAX_LINKS_PER_STATEMENT = 1000


@event.listens_for(Session, "before_commit")
def seal(session: Session) -> None:
    """Give the events of the committing transaction their place in the chain.

    Two round trips: the locked read of the head, then one statement that writes the links and
    moves the head (a data-modifying CTE on PostgreSQL), so the lock is held as briefly as can be.
    """
    if session.in_nested_transaction() or not session.info.get(PENDING_KEY):
        return  # a savepoint: the outermost commit seals, so the head stays locked only briefly
    session.flush()
    pending = session.info.pop(PENDING_KEY)
    # Events of a rolled-back savepoint are no longer persistent; they were never written.
    events = sorted((e for e in pending if inspect(e).persistent and e.chain_seq is None), key=lambda e: e.id)
    if not events:
        return
    seq, prev = session.execute(select(_head.c.seq, _head.c.hash).where(_head.c.id == 1).with_for_update()).one()
    links = []
    for audit_event in events:
        seq += 1
        digest = chain_hash(prev, event_bytes(canonical_fields(audit_event, seq)))
        links.append({"eid": audit_event.id, "seq": seq, "prev": prev, "hash": digest})
        prev = digest
    _write(session, links, seq, prev)
    for audit_event, link in zip(events, links, strict=True):
        set_committed_value(audit_event, "chain_seq", link["seq"])
        set_committed_value(audit_event, "prev_hash", link["prev"])
        set_committed_value(audit_event, "hash", link["hash"])


def _write(session: Session, links: list[dict], seq: int, last: str) -> None:
    if session.get_bind().dialect.name == "postgresql" and len(links) <= MAX_LINKS_PER_STATEMENT:
        rows = ", ".join(f"(CAST(:eid{i} AS bigint), CAST(:seq{i} AS bigint), CAST(:prev{i} AS varchar), "
                         f"CAST(:hash{i} AS varchar))" for i in range(len(links)))
        params = {f"{key}{i}": value for i, link in enumerate(links) for key, value in link.items()}
        session.execute(text(
            "WITH head AS (UPDATE audit_chain_head SET seq = :head_seq, hash = :head_hash WHERE id = 1) "  # noqa: S608
            "UPDATE audit_event AS e SET chain_seq = v.seq, prev_hash = v.prev, hash = v.hash "
            f"FROM (VALUES {rows}) AS v(id, seq, prev, hash) WHERE e.id = v.id"),
            {**params, "head_seq": seq, "head_hash": last})
        return
    session.execute(update(_events).where(_events.c.id == bindparam("eid"))
                    .values(chain_seq=bindparam("seq"), prev_hash=bindparam("prev"), hash=bindparam("hash")),
                    links, execution_options={"synchronize_session": False})
    session.execute(update(_head).where(_head.c.id == 1).values(seq=seq, hash=last))


@event.listens_for(Session, "after_transaction_end")
def forget(session: Session, transaction) -> None:
    """A rolled-back transaction's events were never written: drop them when the outermost ends."""
    if transaction.parent is None:
        session.info.pop(PENDING_KEY, None)


# --- verification ------------------------------------------------------------------------------

@dataclass
class Break:
    """Where the chain first fails to hold."""

    # "edited", "link", "gap", "order", "unsealed", "checkpoint", "truncated", "head", "beyond-head",
    # "checkpoint-signature", "checkpoint-missing", "checkpoint-stale"
    kind: str
    seq: int | None
    event_id: int | None
    detail: str

    def __str__(self) -> str:
        where = f"event id {self.event_id} (seq {self.seq})" if self.event_id is not None else f"seq {self.seq}"
        return f"{self.kind}: {where}: {self.detail}"


@dataclass
class Report:
    checked: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    unsealed: int = 0
    rechecked: int = 0  # fast-path mismatches re-checked in Python (should stay 0)
    checkpoints_checked: int = 0
    breaks: list[Break] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.breaks

    @property
    def first_break(self) -> Break | None:
        return self.breaks[0] if self.breaks else None

    def as_dict(self) -> dict:
        return {"ok": self.ok, "checked": self.checked, "head_seq": self.head_seq, "head_hash": self.head_hash,
                "unsealed": self.unsealed, "rechecked": self.rechecked, "checkpoints_checked": self.checkpoints_checked,
                "seconds": round(self.seconds, 3),
                "breaks": [{"kind": b.kind, "seq": b.seq, "event_id": b.event_id, "detail": b.detail}
                           for b in self.breaks]}


# The columns in canonical order, then the stored links. SQLite stores timestamps as
# "YYYY-MM-DD HH:MM:SS.ffffff" in UTC; PostgreSQL formats them itself.
_COLUMNS = ("chain_seq, id, {ts}, lab_id, actor_id, actor_role, agency_id, family_id, action, object_type, "
            "object_id, purpose, request_id, address, summary, prev_hash, hash")
_PG_TS = "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


def _json(column: str) -> str:
    return f"coalesce(to_json({column})::text, 'null')"


def _code(column: str) -> str:
    """A code (action, role, UUID, address): quoted without escaping. Should one ever hold a quote,
    a backslash or a control character, the fast hash misses and the Python re-check decides."""
    return f"coalesce('\"' || {column} || '\"', 'null')"


# The summary is canonical JSON already (no raw control characters): escaping the backslashes
# and quotes is all ``to_json`` would do to it.
_SUMMARY = "coalesce('\"' || replace(replace(summary, '\\', '\\\\'), '\"', '\\\"') || '\"', 'null')"


def _number(column: str) -> str:
    return f"coalesce({column}::text, 'null')"


# On PostgreSQL the server builds each event's canonical text (the same compact JSON array that
# ``audit.canonical.event_bytes`` makes: ``to_json`` escapes text as Python's encoder does; codes
# and the already-canonical summary take cheaper quoting), so
# Python only hashes and compares five columns per row — that is what makes verify fast. Should
# the two ever disagree on some exotic string, a hash mismatch is re-checked with the canonical
# form computed in Python from the row's fields, and only a real mismatch is reported.
_PG_CANONICAL = " || ',' || ".join([
    "'[1'", "chain_seq::text", "id::text", f"'\"' || {_PG_TS} || '\"'", _number("lab_id"), _number("actor_id"),
    _code("actor_role"), _number("agency_id"), _number("family_id"), _code("action"), _code("object_type"),
    _json("object_id"), _json("purpose"), _code("request_id"), _code("address"), _SUMMARY]) + " || ']'"
_PG_FAST = (f"SELECT chain_seq, id, {_PG_CANONICAL}, prev_hash, hash FROM audit_event "  # noqa: S608
            "ORDER BY chain_seq NULLS LAST")


def _rows(connection, batch: int) -> Iterator[tuple]:
    """(chain_seq, id, canonical text, prev_hash, hash) for every event, in chain order, unsealed
    events (chain_seq NULL) last."""
    if connection.dialect.name == "postgresql":
        yield from _prefetched(connection.connection.dbapi_connection, batch)
        return
    sql = f"SELECT {_COLUMNS.format(ts='occurred_at')} FROM audit_event ORDER BY chain_seq IS NULL, chain_seq"  # noqa: S608
    for row in connection.execute(text(sql)):
        yield (row[0], row[1], _python_canonical(row), row[15], row[16])


def _prefetched(dbapi_connection, batch: int) -> Iterator[tuple]:
    """The fast rows from a server-side cursor, the next batch fetched by a thread while this one
    is hashed: PostgreSQL builds the canonical text of batch n + 1 on one core while Python hashes
    batch n on the other (psycopg releases the GIL while it waits), so verify takes about as long
    as reading the rows alone instead of the reading plus the hashing."""
    import queue
    import threading

    batches: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()
    done = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                batches.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        try:
            with dbapi_connection.cursor(name="audit_verify") as cursor:
                cursor.itersize = batch
                cursor.execute(_PG_FAST)
                while rows := cursor.fetchmany(batch):
                    if not put(rows):
                        return
            put(done)
        except BaseException as error:  # handed to the reader, which raises it
            put(error)

    reader = threading.Thread(target=fetch, name="audit-verify-fetch", daemon=True)
    reader.start()
    try:
        while (item := batches.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield from item
    finally:
        stop.set()
        reader.join()


def _python_canonical(row) -> str:
    """The canonical text from a row of ``_COLUMNS`` (timestamp as stored or as formatted)."""
    stored = row[2]
    if hasattr(stored, "isoformat"):
        stamp = timestamp(stored)
    else:
        stamp = str(stored).replace(" ", "T")
        stamp = (stamp if "." in stamp else stamp + ".000000") + ("" if stamp.endswith("Z") else "Z")
    return event_bytes((row[0], row[1], stamp, *row[3:15])).decode()


def _recheck(connection, event_id: int) -> str:
    """The canonical text of one event computed in Python (the reference for the SQL fast path)."""
    sql = f"SELECT {_COLUMNS.format(ts=_PG_TS)} FROM audit_event WHERE id = %s"  # noqa: S608
    with connection.connection.dbapi_connection.cursor() as cursor:
        cursor.execute(sql, (event_id,))
        return _python_canonical(cursor.fetchone())


def verify(connection, checkpoints: Iterable = (), batch: int = 10_000) -> Report:
    """Re-hash the whole trail; ``checkpoints`` are verified :class:`~audit.checkpoints.Checkpoint` s.

    Stops hashing at the first break (everything after it is suspect anyway) but still counts
    unsealed events and checks every checkpoint against what was reached.
    """
    import time

    started = time.perf_counter()
    report = Report()
    pinned = {cp.seq: cp for cp in checkpoints}
    expected, prev, broken, last_id, before = 1, GENESIS, False, None, GENESIS
    for row in _rows(connection, batch):
        seq = row[0]
        if seq is None:
            report.unsealed += 1
            if report.unsealed == 1:
                report.breaks.append(Break("unsealed", None, row[1], "event has no place in the chain "
                                           "(written around audit.record, or by hand)"))
            continue
        if broken:
            continue
        if seq != expected or row[3] != prev or sha256((prev + row[2]).encode()).hexdigest() != row[4]:
            found = _check(connection, row, expected, prev, report, last_id)
            if found is not None:
                report.breaks.append(found)
                broken = True
                if found.event_id == last_id and last_id is not None:  # the event before is the forged one
                    report.checked -= 1
                    expected -= 1
                    prev = before
                continue
        before, prev = prev, row[4]
        if seq in pinned and pinned[seq].hash != prev:
            report.breaks.append(Break("checkpoint", seq, row[1], f"hash differs from signed checkpoint "
                                       f"{pinned[seq].name}: the chain was rewritten up to here"))
            broken = True
            continue
        report.checked += 1
        expected += 1
        last_id = row[1]
    report.head_seq, report.head_hash = expected - 1, prev
    report.checkpoints_checked = len(pinned)
    if not broken:
        _check_tail(report, pinned)
        _check_head(connection, report, last_id)
    # An unsealed event is reported, but a broken chain is the headline.
    report.breaks.sort(key=lambda b: b.kind == "unsealed")
    report.seconds = time.perf_counter() - started
    return report


def _check_tail(report: Report, pinned: dict) -> None:
    """A checkpoint beyond the end of the chain means its tail was cut off."""
    for cp in sorted(pinned.values(), key=lambda c: c.seq):
        if cp.seq > report.head_seq:
            report.breaks.append(Break("truncated", cp.seq, cp.event_id, f"the chain ends at seq {report.head_seq} "
                                       f"but checkpoint {cp.name} attests seq {cp.seq}: events after "
                                       f"{report.head_seq} are missing"))
            return


def _check_head(connection, report: Report, last_id: int | None) -> None:
    """The chain must end where the head row says it does.

    The head is read after the events, so it may be ahead of them by events committed while
    verify ran (a seal moves the head and adds its events in one transaction, and the head only
    moves forward): that is told from a cut tail by looking for those events now.
    """
    row = connection.execute(text("SELECT seq, hash FROM audit_chain_head WHERE id = 1")).first()
    last, last_hash = report.head_seq, report.head_hash
    if row is None:
        report.breaks.append(Break("head", last, last_id, "the chain head row (audit_chain_head) is missing"))
        return
    seq, digest = int(row[0]), str(row[1])
    if seq == last:
        if digest != last_hash:
            report.breaks.append(Break("head", last, last_id, "the last event's hash differs from the chain head's: "
                                       "the tail of the chain was rewritten"))
        return
    if seq < last:
        first_id = connection.execute(text("SELECT id FROM audit_event WHERE chain_seq = :s"), {"s": seq + 1}).scalar()
        report.breaks.append(Break("beyond-head", seq + 1, first_id, f"the chain head is at seq {seq} but the events "
                                   f"run to seq {last}: events after seq {seq} were written into the chain outside "
                                   "the commit's seal (inserted pre-sealed), or the head was moved back"))
        return
    between = text("SELECT count(*) FROM audit_event WHERE chain_seq > :last AND chain_seq <= :seq")
    link = text("SELECT prev_hash FROM audit_event WHERE chain_seq = :s")
    end = text("SELECT hash FROM audit_event WHERE chain_seq = :s")
    if (connection.execute(between, {"last": last, "seq": seq}).scalar() == seq - last
            and connection.execute(link, {"s": last + 1}).scalar() == last_hash
            and connection.execute(end, {"s": seq}).scalar() == digest):
        return  # committed while verify read the chain: continues it, checked by the next run
    missing = f"seq {last + 1}" if seq == last + 1 else f"seq {last + 1}–{seq}"
    report.breaks.append(Break("truncated", seq, None, f"the chain ends at seq {last} but the chain head is at seq "
                               f"{seq}: {missing} missing at the end (deleted)"))


def _matches(connection, row: tuple, prev: str, report: Report) -> bool:
    """Whether the row's hash is the hash of ``prev`` and its own content (fast form first; on
    PostgreSQL a miss is re-checked with the canonical form computed in Python)."""
    if sha256((prev + row[2]).encode()).hexdigest() == row[4]:
        return True
    if connection.dialect.name == "postgresql":
        report.rechecked += 1
        return chain_hash(prev, _recheck(connection, row[1]).encode()) == row[4]
    return False


def _check(connection, row: tuple, expected: int, prev: str, report: Report,
           previous_id: int | None = None) -> Break | None:
    """Why a row failed the fast comparison (None if the Python re-check clears it)."""
    seq, event_id = row[0], row[1]
    if seq > expected:
        missing = f"seq {expected}" if seq == expected + 1 else f"seq {expected}–{seq - 1}"
        return Break("gap", seq, event_id, f"{missing} missing before this event: deleted")
    if seq < expected:
        return Break("order", seq, event_id, f"sequence number repeats (expected {expected})")
    if row[3] != prev:
        if previous_id is not None and _matches(connection, row, row[3], report):
            # This event is intact and still links to the hash the event before it had when it was
            # sealed: the event before was changed and given a new hash to match. Name it.
            return Break("edited", seq - 1, previous_id, "content and hash were rewritten: the event after it "
                                                         "still links to its original hash")
        return Break("link", seq, event_id, "does not link to the event before it: events were swapped, "
                                            "or this event's link was changed")
    if _matches(connection, row, prev, report):
        return None
    return Break("edited", seq, event_id, "content does not match its hash: the event was changed")
