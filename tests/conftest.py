"""Test fixtures: one app per database backend, one rolled-back transaction per test.

The whole suite runs on SQLite; when ``VELFERDSLAB_TEST_DATABASE_URL`` names a PostgreSQL server it
runs again there, in a fresh database created for this run and dropped after it. Tests marked
``postgres`` run only on PostgreSQL; tests marked ``browser`` only once (against their own server).
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests import factories
from tests.support.oidc import oidc_app, oidc_provider  # noqa: F401 - the OpenID Provider fixtures (issue 16)

PG_BASE_URL = os.environ.get("VELFERDSLAB_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_BASE_URL else [])


def pytest_collection_modifyitems(config, items):
    keep, drop = [], []
    for item in items:
        backend = getattr(item, "callspec", None) and item.callspec.params.get("backend")
        if item.get_closest_marker("postgres") and backend != "postgresql":
            if backend is None and not PG_BASE_URL:
                item.add_marker(pytest.mark.skip(reason="VELFERDSLAB_TEST_DATABASE_URL is not set"))
                keep.append(item)
                continue
            drop.append(item) if backend == "sqlite" else keep.append(item)
            continue
        if item.get_closest_marker("browser") and backend == "postgresql":
            drop.append(item)
            continue
        keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pg_url(database: str | None = None) -> str:
    url = make_url(PG_BASE_URL).set(drivername="postgresql+psycopg")
    return url.set(database=database).render_as_string(hide_password=False) if database else \
        url.render_as_string(hide_password=False)


def create_pg_database() -> str:
    name = f"velferdslab_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name


def drop_pg_database(name: str) -> None:
    assert re.fullmatch(r"velferdslab_test_[0-9a-f]+", name)
    admin = create_engine(pg_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    return request.param


def make_database_url(backend: str, tmp_dir: Path) -> tuple[str, callable]:
    """A fresh, empty database for ``backend`` and a function that removes it."""
    if backend == "postgresql":
        name = create_pg_database()
        return pg_url(name), lambda: drop_pg_database(name)
    path = tmp_dir / f"test-{uuid.uuid4().hex[:8]}.sqlite3"
    return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)


def build_app(database_url: str, **overrides):
    from flask.testing import FlaskClient

    from velferdslab import create_app

    class FreshContextClient(FlaskClient):
        """Each request gets its own app context (and so its own ``g`` and db session), as in production.

        Flask reuses an app context that is already pushed, and the tests hold one open; without this,
        ``g`` (CSRF token cache, request id, …) would leak from one test request into the next.
        """

        def open(self, *args, **kwargs):
            with self.application.app_context():
                return super().open(*args, **kwargs)

    config = {"ENV": "testing", "SQLALCHEMY_DATABASE_URI": database_url,
              "RATELIMIT_STORAGE_URI": "memory://", "SERVER_NAME": "localhost",
              # The suite's clients are one address and a few users making thousands of calls; the
              # request limits have their own tests (tests/cases/test_throttle.py).
              "REQUEST_LIMIT_PER_USER": "100000 per minute", "REQUEST_LIMIT_PER_ADDRESS": "100000 per minute",
              **overrides}
    app = create_app(config)
    app.test_client_class = FreshContextClient
    return app


def migrate_to_head(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


@pytest.fixture(scope="session")
def tmp_root():
    with tempfile.TemporaryDirectory(prefix="velferdslab-test-") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="session")
def app(backend, tmp_root):
    """The app on a database built by the migrations (which proves them on every run)."""
    database_url, remove = make_database_url(backend, tmp_root)
    app = build_app(database_url)
    migrate_to_head(app)
    yield app
    from velferdslab.extensions import db

    with app.app_context():
        db.engine.dispose()
    remove()


@pytest.fixture(autouse=True)
def db_session(request, app):
    """Each test runs inside one outer transaction that is rolled back at the end.

    Requests commit as usual; with ``join_transaction_mode="create_savepoint"`` those commits only
    release savepoints inside the outer transaction (SQLAlchemy's "join a session into an external
    transaction" recipe).
    """
    from flask_sqlalchemy.session import Session as FlaskSession

    from velferdslab.extensions import db, limiter

    class ConnectionBoundSession(FlaskSession):
        # Flask-SQLAlchemy's session picks an engine per model and would ignore ``bind``.
        def get_bind(self, *args, **kwargs):
            return self.bind

    # Browser tests talk to a live server on its own database; swapping ``db.session`` here would
    # point that server at the test database instead.
    if request.node.get_closest_marker("real_commits") or request.node.get_closest_marker("browser"):
        yield None
        return
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = db._make_scoped_session({"bind": connection, "class_": ConnectionBoundSession,
                                              "join_transaction_mode": "create_savepoint"})
        limiter.reset()
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def ctx(db_session):
    """Services can be called directly: ``db_session`` already holds an app context open."""
    return db_session


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def lab(db_session, ctx):
    return factories.lab()


@pytest.fixture
def login(app):
    """``login(user)`` -> a test client signed in as ``user`` that sends the CSRF token on writes."""

    def sign_in(user, password: str = factories.PASSWORD):
        return factories.signed_in_client(app, user, password)

    return sign_in


@pytest.fixture(scope="session")
def compiled(tmp_path_factory) -> Path:
    """The English catalogue compiled from the ``.po`` in the tree, in a directory of its own."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    source = Path(__file__).resolve().parent.parent / "velferdslab/translations/en/LC_MESSAGES/messages.po"
    directory = tmp_path_factory.mktemp("translations")
    target = directory / "en" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with source.open("rb") as po, (target / "messages.mo").open("wb") as mo:
        write_mo(mo, read_po(po, locale="en"))
    return directory


@pytest.fixture
def in_catalogue(app, compiled, monkeypatch):
    """The app reads the catalogue compiled from the ``.po`` in the tree (not a stale ``.mo``)."""
    from velferdslab.extensions import babel

    with app.app_context():
        domain = babel.domain_instance
    monkeypatch.setattr(app.extensions["babel"], "translation_directories", [str(compiled)])
    domain.cache.clear()
    yield
    domain.cache.clear()


@pytest.fixture
def count_queries(app):
    """``with count_queries() as counter: ...`` then ``counter.count`` = SQL statements executed."""
    from contextlib import contextmanager

    from sqlalchemy import event

    from velferdslab.extensions import db

    class Counter:
        count = 0
        statements: list[str] = []

    @contextmanager
    def counting():
        counter = Counter()
        counter.statements = []

        def before(conn, cursor, statement, parameters, context, executemany):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
                counter.count += 1
                counter.statements.append(statement)

        engine = db.engine
        event.listen(engine, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", before)

    return counting
