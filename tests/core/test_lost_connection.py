"""Issue 12, item 6: a database connection lost outside a money operation answers 503 with a clean
body (JSON under /api/, a Norwegian page elsewhere), never 500; the next request works again.

The connection is killed from outside (``pg_terminate_backend`` of the request's own backend, from
another connection) in the middle of a request: before its second statement, or at its COMMIT.
"""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import event

from tests import factories
from tests.support.faults import libpq_url, timed
from velferdslab.extensions import db

pytestmark = [pytest.mark.real_commits]


class Killer:
    """Terminates the backend of the connection a request is using, at a chosen moment."""

    def __init__(self, app, at_statement: int | None = None, at_commit: bool = False):
        self.app, self.at_statement, self.at_commit = app, at_statement, at_commit
        self.armed = False
        self.statements = 0
        self.killed: list[int] = []
        with app.app_context():
            self.engine = db.engine
        event.listen(self.engine, "before_cursor_execute", self._before_statement)
        event.listen(self.engine, "commit", self._before_commit)

    def arm(self) -> None:
        self.armed, self.statements = True, 0

    def remove(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before_statement)
        event.remove(self.engine, "commit", self._before_commit)

    def _kill(self, connection) -> None:
        self.armed = False
        pid = connection.connection.dbapi_connection.info.backend_pid
        with psycopg.connect(libpq_url(self.app.config["SQLALCHEMY_DATABASE_URI"]), autocommit=True) as admin:
            # The timeout makes it wait until the backend is gone, so the request meets a dead connection.
            assert admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone()[0]
        self.killed.append(pid)

    def _before_statement(self, connection, cursor, statement, parameters, context, executemany):
        if self.armed and self.at_statement is not None:
            self.statements += 1
            if self.statements == self.at_statement:
                self._kill(connection)

    def _before_commit(self, connection):
        if self.armed and self.at_commit:
            self._kill(connection)


def _user_with_token(app):
    with app.app_context():
        lab = factories.lab()
        user = factories.user(lab)
        from velferdslab.auth import services

        _, plain = services.create_api_token(user, "prøve")
        db.session.commit()
        return user.email, plain


def _assert_503_json(response):
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.headers["Retry-After"] == "5"
    assert response.get_json() == {"status": 503, "message": response.get_json()["message"]}
    assert response.get_json()["message"]


@pytest.mark.postgres
@pytest.mark.parametrize("moment", ["statement", "commit"])
def test_an_api_request_whose_connection_is_killed_answers_503_json(timed_app, moment):
    app = timed_app()
    _email, token = _user_with_token(app)
    killer = Killer(app, at_statement=2 if moment == "statement" else None, at_commit=moment == "commit")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    try:
        killer.arm()
        if moment == "statement":
            response, _ = timed(lambda: client.get("/api/v1/tokens", headers=headers), bound=15)
        else:  # creating a token writes (and audits): the kill comes at its COMMIT
            response, _ = timed(lambda: client.post("/api/v1/tokens", json={"name": "ny"}, headers=headers), bound=15)
        assert killer.killed, "the connection was not killed: the test proves nothing"
        _assert_503_json(response)
    finally:
        killer.remove()
    # The dead connection left the pool: the next request gets a live one.
    assert client.get("/api/v1/tokens", headers=headers).status_code == 200
    if moment == "commit":
        names = [t["name"] for t in client.get("/api/v1/tokens", headers=headers).get_json()]
        assert "ny" not in names  # the write whose commit was cut off did not happen


@pytest.mark.postgres
def test_a_page_whose_connection_is_killed_answers_a_norwegian_503_page(timed_app):
    app = timed_app()
    email, _token = _user_with_token(app)
    client = app.test_client()
    assert factories.login_client(client, email, factories.PASSWORD).status_code == 302
    killer = Killer(app, at_statement=2)
    try:
        killer.arm()
        response, _ = timed(lambda: client.get("/konto/passord"), bound=15)
        assert killer.killed
    finally:
        killer.remove()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Tjenesten er midlertidig utilgjengelig" in page
    assert "Traceback" not in page and "psycopg" not in page and "Internal Server Error" not in page
    assert client.get("/konto/passord").status_code == 200  # still signed in, on a new connection


@pytest.fixture
def unreachable_app(app):
    """The app pointed at a PostgreSQL port where nothing listens (nothing needs a server)."""
    from tests.conftest import build_app
    from velferdslab.extensions import limiter

    dead = build_app("postgresql://velferdslab@127.0.0.1:1/velferdslab", PROPAGATE_EXCEPTIONS=False)
    yield dead
    with dead.app_context():
        db.engine.dispose()
    limiter.init_app(app)


def test_a_database_that_refuses_connections_answers_503(unreachable_app):
    api, _ = timed(lambda: unreachable_app.test_client().get(
        "/api/v1/tokens", headers={"Authorization": "Bearer vlt_nothing"}), bound=15)
    _assert_503_json(api)
    health, _ = timed(lambda: unreachable_app.test_client().get("/healthz"), bound=15)
    assert health.status_code == 503 and health.headers["Retry-After"] == "5"
    page, _ = timed(lambda: unreachable_app.test_client().get("/logg-inn"), bound=15)
    assert page.status_code in (200, 503)  # the sign-in form may need no database
    signin, _ = timed(lambda: factories.login_client(unreachable_app.test_client(), "kari@example.no", "x" * 12),
                      bound=15)
    assert signin.status_code == 503
    assert signin.headers["Retry-After"] == "5"  # not the sign-in limiter's window (900 s)
    assert "Tjenesten er midlertidig utilgjengelig" in signin.get_data(as_text=True)


def test_every_503_says_when_to_come_back(app):
    """A money operation whose retries are spent answers 503 through a ServiceError: it carries
    Retry-After like the database faults' 503 (an API client backs off the same way for both)."""
    from velferdslab.core.errors import ServiceError, handle_service_error

    for path in ("/api/v1/spend-requests/1/approve", "/familier"):
        with app.test_request_context(path):
            response = handle_service_error(ServiceError("Systemet er travelt akkurat nå. Prøv igjen om litt.",
                                                         status=503))
            assert response.status_code == 503
            assert response.headers["Retry-After"] == "5"


def test_a_refusal_whose_audit_row_cannot_be_stored_answers_503(app, ctx):
    """A failed request's after-rollback facts (the audit row of a refusal) meet a lost database:
    the answer is 503 with Retry-After, not a 500 and not a 403 without its record."""
    from flask import make_response
    from sqlalchemy.exc import OperationalError

    from velferdslab.core.transaction import after_rollback, finish_request

    def lost():
        raise OperationalError("INSERT INTO audit_event …", {}, ConnectionError("server closed the connection"))

    with app.test_request_context("/api/v1/families/1"):
        after_rollback(lost)
        response = finish_request(make_response(({"status": 403}, 403)))
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert response.get_json()["status"] == 503
