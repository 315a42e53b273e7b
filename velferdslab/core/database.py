"""Engine-level settings that every connection needs, whatever opened it; and the request's
database deadline (docs/reliability.md, item 5)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.engine import Engine

from velferdslab.extensions import db

log = logging.getLogger(__name__)


def _insert(model):
    """The dialect's ``INSERT`` (with ``on_conflict_do_nothing``) of the session's database."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    return insert(model)


def insert_new(model, rows: list[dict], key: str, connection=None) -> None:
    """``INSERT … ON CONFLICT (key) DO NOTHING`` of ``rows`` into ``model``'s table, on the
    session's database (PostgreSQL or SQLite): rows whose key is there already, or is being
    inserted by a concurrent transaction, are left as they are. On ``connection`` when given (a
    transaction of its own), else in the session's."""
    (connection or db.session).execute(_insert(model).values(rows).on_conflict_do_nothing(index_elements=[key]))


def insert_one_new(model, values: dict, key: str):
    """As :func:`insert_new` for one row, in one statement (``RETURNING``): the new ORM object, or
    None when a row with that key is there already (or a concurrent transaction inserted one and
    committed; until it ends, this waits on it)."""
    statement = (_insert(model).values(**values).on_conflict_do_nothing(index_elements=[key])
                 .returning(model))
    return db.session.scalars(statement).first()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT and defers BEGIN; take it over (the
    # recipe in SQLAlchemy's SQLite dialect documentation) and turn on foreign keys.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection) -> None:
    connection.exec_driver_sql("BEGIN")


# --- the request's database deadline ------------------------------------------------------------
#
# The server-side limits (statement, lock, idle-in-transaction time-outs) need a server that hears
# the client. A connection that stalls in the network — the statement sent, no answer ever coming
# back, the peer's kernel still acknowledging — leaves the request blocked in a socket read that no
# server-side limit ends, until gunicorn kills the worker. So each request has a deadline: when it
# passes and the request still holds database connections, a watchdog thread shuts their sockets
# down. The blocked call fails at once as a lost connection, SQLAlchemy drops the connection from
# the pool, and the request answers 503 (core.errors) — before gunicorn's time-out.

_current = threading.local()


class Deadline:
    """The database connections one request holds, and when it must be done with them."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.connections: set = set()
        self.expired = False
        self.lock = threading.Lock()

    def hold(self, dbapi_connection) -> None:
        with self.lock:
            if self.expired:
                _shut_down(dbapi_connection)
            self.connections.add(dbapi_connection)

    def release(self, dbapi_connection) -> None:
        with self.lock:
            self.connections.discard(dbapi_connection)

    def expire(self) -> int:
        with self.lock:
            self.expired = True
            held = list(self.connections)
        for dbapi_connection in held:
            _shut_down(dbapi_connection)
        return len(held)


def _socket_of(dbapi_connection) -> int | None:
    pgconn = getattr(dbapi_connection, "pgconn", None)  # psycopg 3; SQLite has no socket
    if pgconn is None:
        return None
    try:
        return pgconn.socket
    except Exception:  # noqa: BLE001 - already closed: nothing to shut down
        return None


def _shut_down(dbapi_connection) -> None:
    fd = _socket_of(dbapi_connection)
    if fd is None:
        return
    try:
        with socket.socket(fileno=os.dup(fd)) as sock:  # a duplicate: the driver's own fd stays its own
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class Watchdog:
    """One thread per process that expires the deadlines of requests still running past them."""

    INTERVAL = 0.25

    def __init__(self) -> None:
        self.deadlines: set[Deadline] = set()
        self.lock = threading.Lock()
        self.pid: int | None = None

    def watch(self, deadline: Deadline) -> None:
        with self.lock:
            if self.pid != os.getpid():  # first request of this process (gunicorn forks workers)
                self.pid = os.getpid()
                self.deadlines = set()
                threading.Thread(target=self._run, name="db-deadline", daemon=True).start()
            self.deadlines.add(deadline)

    def forget(self, deadline: Deadline) -> None:
        with self.lock:
            self.deadlines.discard(deadline)

    def _run(self) -> None:
        pid = os.getpid()
        while self.pid == pid:
            time.sleep(self.INTERVAL)
            now = time.monotonic()
            with self.lock:
                due = [d for d in self.deadlines if d.at <= now]
                self.deadlines.difference_update(due)
            for deadline in due:
                if deadline.expire():
                    log.warning("request passed its database deadline: its connections were cut")


watchdog = Watchdog()


def _start_deadline() -> None:
    seconds = current_app.config.get("DATABASE_REQUEST_DEADLINE", 0)
    if seconds:
        _current.deadline = deadline = Deadline(seconds)
        watchdog.watch(deadline)


def _end_deadline(_error=None) -> None:
    deadline = getattr(_current, "deadline", None)
    if deadline is not None:
        _current.deadline = None
        watchdog.forget(deadline)


def _checked_out(dbapi_connection, _record, _proxy) -> None:
    deadline = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.hold(dbapi_connection)


def _checked_in(dbapi_connection, _record) -> None:
    deadline = getattr(_current, "deadline", None)
    if deadline is not None and dbapi_connection is not None:
        deadline.release(dbapi_connection)


def _watched_ping(ping):
    """The pool's pre-ping runs before the checkout event: watch the connection during it too, or a
    ping on a stalled connection would wait forever."""

    def do_ping(dbapi_connection) -> bool:
        deadline = getattr(_current, "deadline", None)
        if deadline is None:
            return ping(dbapi_connection)
        deadline.hold(dbapi_connection)
        try:
            return ping(dbapi_connection)
        finally:
            deadline.release(dbapi_connection)

    do_ping.watched = True  # type: ignore[attr-defined]
    return do_ping


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _sqlite_pragmas):
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    if engine.dialect.name == "postgresql" and not event.contains(engine.pool, "checkout", _checked_out):
        event.listen(engine.pool, "checkout", _checked_out)
        event.listen(engine.pool, "checkin", _checked_in)
        if not getattr(engine.dialect.do_ping, "watched", False):
            engine.dialect.do_ping = _watched_ping(engine.dialect.do_ping)  # type: ignore[method-assign]


def init_app(app: Flask) -> None:
    with app.app_context():
        configure_engine(db.engine)
        for engine in db.engines.values():
            configure_engine(engine)
    app.before_request(_start_deadline)
    app.teardown_request(_end_deadline)
