"""Issue 12, item 5: a database that cannot be had in time answers 503 with Retry-After, fast.

Every test here builds its own app on a database of its own (real commits), with small time
limits set through the environment as an operator would. A request runs in a thread with a bound,
so that a regression shows as a failed assertion, not a hung suite.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import psycopg
import pytest
from sqlalchemy import text

from tests import factories
from tests.support.faults import libpq_url, timed
from tests.support.stall_proxy import StallProxy
from velferdslab import config
from velferdslab.extensions import db

pytestmark = [pytest.mark.real_commits]


def _token(app) -> str:
    with app.app_context():
        lab = factories.lab()
        user = factories.user(lab)
        from velferdslab.auth import services

        _, plain = services.create_api_token(user, "prøve")
        db.session.commit()
        return plain


def _create_token(app, token: str):
    return app.test_client().post("/api/v1/tokens", json={"name": "ny"}, headers={"Authorization": f"Bearer {token}"})


def _hold_chain_head(url: str, app=None) -> psycopg.Connection:
    """Another client, in an open transaction, holding the audit chain head's row lock; with
    ``app``, connected as that app's engine connects (another instance of it)."""
    settings = config.postgresql_connect_args(app.config["DATABASE_TIMEOUTS"]) if app else {}
    holder = psycopg.connect(libpq_url(url), **settings)
    holder.execute("SELECT seq FROM audit_chain_head WHERE id = 1 FOR UPDATE").fetchone()
    return holder


def _assert_503_json(response):
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.headers["Retry-After"] == "5"
    assert response.is_json
    body = response.get_json()
    assert body["status"] == 503 and body["message"]  # the API's error shape (core.api.ErrorSchema)


def test_default_time_limits_are_well_below_gunicorns_worker_timeout(monkeypatch, tmp_path):
    """The README runs gunicorn with its default worker time-out; every default limit that one
    request can meet (connect, pool, lock, statement) ends before it, and so does their sum; the
    request deadline comes after each of them and at least 5 s before gunicorn's."""
    from gunicorn.config import Config

    for _, (name, _default) in config.DATABASE_TIMEOUT_DEFAULTS.items():
        monkeypatch.delenv(config.PREFIX + name, raising=False)
    monkeypatch.delenv(config.PREFIX + "DB_REQUEST_DEADLINE_SECONDS", raising=False)
    worker_timeout = Config().timeout
    loaded = config.load(str(tmp_path), {"SQLALCHEMY_DATABASE_URI": "postgresql://db/x"})
    timeouts = loaded["DATABASE_TIMEOUTS"]
    waits = [timeouts["connect_timeout"], timeouts["pool_timeout"], timeouts["lock_timeout_ms"] / 1000,
             timeouts["statement_timeout_ms"] / 1000]
    assert all(0 < wait for wait in waits)
    assert sum(waits) < worker_timeout * 0.9, (waits, worker_timeout)
    assert 0 < timeouts["idle_in_transaction_timeout_ms"] / 1000 < worker_timeout
    # The backstop for a connection that stalls in the network: after every single limit, before gunicorn.
    assert max(waits) < loaded["DATABASE_REQUEST_DEADLINE"] <= worker_timeout - 5


@pytest.mark.postgres
def test_connections_carry_the_configured_limits_and_keepalives(timed_app):
    app = timed_app(DB_STATEMENT_TIMEOUT_MS=7000, DB_LOCK_TIMEOUT_MS=1500,
                    DB_IDLE_IN_TRANSACTION_TIMEOUT_MS=9000, DB_CONNECT_TIMEOUT=4, DB_KEEPALIVES_IDLE=20)
    with app.app_context():
        shown = {name: db.session.execute(text(f"SHOW {name}")).scalar()
                 for name in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")}
        parameters = db.session.connection().connection.dbapi_connection.info.get_parameters()
        db.session.rollback()
    assert shown == {"statement_timeout": "7s", "lock_timeout": "1500ms", "idle_in_transaction_session_timeout": "9s"}
    assert parameters["connect_timeout"] == "4"
    assert parameters["keepalives"] == "1" and parameters["keepalives_idle"] == "20"
    assert parameters["tcp_user_timeout"] == "20000"


@pytest.mark.postgres
def test_an_audited_request_behind_a_held_chain_head_answers_503_within_the_lock_timeout(timed_app):
    """The incident: another connection holds the chain head (idle in transaction). An audited
    request (creating an API token is audited) waits at most the lock time-out, then answers
    JSON 503 with Retry-After — and nothing of it was stored."""
    app = timed_app(DB_LOCK_TIMEOUT_MS=500)
    token = _token(app)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    holder = _hold_chain_head(url)
    try:
        response, elapsed = timed(lambda: _create_token(app, token), bound=10)
        _assert_503_json(response)
        assert elapsed < 3, elapsed
    finally:
        holder.rollback()
        holder.close()
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM api_token")).scalar() == 1  # the first only
    assert _create_token(app, token).status_code == 201


@pytest.mark.postgres
def test_a_page_request_behind_a_held_chain_head_answers_a_norwegian_503_page(timed_app):
    app = timed_app(DB_LOCK_TIMEOUT_MS=300)
    with app.app_context():
        lab = factories.lab()
        user = factories.user(lab)
        db.session.commit()
        email = user.email
    holder = _hold_chain_head(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        client = app.test_client()
        # Signing in is audited (auth.login): its commit needs the chain head.
        response, elapsed = timed(lambda: factories.login_client(client, email, factories.PASSWORD), bound=10)
    finally:
        holder.rollback()
        holder.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Tjenesten er midlertidig utilgjengelig" in page and "Internal Server Error" not in page
    assert elapsed < 3, elapsed


@pytest.mark.postgres
def test_a_stalled_holder_of_the_chain_head_loses_it_and_others_answer_503_meanwhile(timed_app):
    """A client takes the chain head through a connection that then stalls (the stall proxy: a
    network partition). Others answer 503 within the lock time-out instead of waiting; the server
    ends the stalled session after the idle-in-transaction time-out, and audited requests work again."""
    app = timed_app(DB_LOCK_TIMEOUT_MS=300, DB_IDLE_IN_TRANSACTION_TIMEOUT_MS=1500)
    token = _token(app)
    url = urlsplit(app.config["SQLALCHEMY_DATABASE_URI"])
    with StallProxy(url.hostname or "127.0.0.1", url.port or 5432) as proxy:
        stalled_url = app.config["SQLALCHEMY_DATABASE_URI"].replace(f":{url.port}/", f":{proxy.port}/")
        holder = _hold_chain_head(stalled_url, app)
        proxy.stall()
        response, elapsed = timed(lambda: _create_token(app, token), bound=10)
        _assert_503_json(response)
        assert elapsed < 3, elapsed
        deadline = time.monotonic() + 10
        while (status := _create_token(app, token).status_code) == 503 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert status == 201, "the stalled session kept the chain head"
        holder.pgconn.finish()  # its socket goes with the proxy; do not wait for a goodbye


@pytest.mark.postgres
def test_a_database_behind_a_stalled_network_answers_503_within_the_connect_timeout(timed_app):
    """New connections into a stalled network: the API answers 503 after the connect time-out
    (libpq's minimum is 2 s) instead of hanging until gunicorn kills the worker."""
    proxies: list[StallProxy] = []
    app = timed_app(url=_through_stall_proxy(proxies), DB_CONNECT_TIMEOUT=2)
    try:
        token = _token(app)
        with app.app_context():
            db.engine.dispose()  # the next request opens a new connection, into the stall
        proxies[0].stall()
        response, elapsed = timed(lambda: _create_token(app, token), bound=15)
        _assert_503_json(response)
        assert elapsed < 6, elapsed
        proxies[0].resume()
        assert _create_token(app, token).status_code == 201
    finally:
        for proxy in proxies:
            proxy.close()


@pytest.mark.parametrize("argv, limited", [(["audit", "verify"], False), (["run"], True)])
def test_commands_run_without_statement_and_idle_limits_unless_set(monkeypatch, tmp_path, argv, limited):
    """`velferdslab audit verify` on a long trail may take minutes: commands lift the statement and
    idle limits (lock and connect time-outs stay); `velferdslab run` serves requests and keeps them."""
    import os
    import sys

    from flask.cli import FlaskGroup

    from velferdslab import cli

    monkeypatch.setattr(os, "environ", {k: v for k, v in os.environ.items() if not k.startswith(config.PREFIX + "DB_")})
    monkeypatch.setattr(sys, "argv", ["velferdslab", *argv])
    monkeypatch.setattr(FlaskGroup, "__call__", lambda self, *a, **k: None)
    cli.main()
    timeouts = config.load(str(tmp_path), {"SQLALCHEMY_DATABASE_URI": "postgresql://db/x"})["DATABASE_TIMEOUTS"]
    assert (timeouts["statement_timeout_ms"] > 0) is limited
    assert (timeouts["idle_in_transaction_timeout_ms"] > 0) is limited
    assert timeouts["lock_timeout_ms"] > 0 and timeouts["connect_timeout"] > 0
    monkeypatch.setenv(config.PREFIX + "DB_STATEMENT_TIMEOUT_MS", "60000")
    cli.main()
    assert config.load(str(tmp_path), {"SQLALCHEMY_DATABASE_URI": "postgresql://db/x"})[
        "DATABASE_TIMEOUTS"]["statement_timeout_ms"] == 60000


def _through_stall_proxy(proxies: list):
    def through_proxy(database_url: str) -> str:
        parts = urlsplit(database_url)
        proxy = StallProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
        proxies.append(proxy)
        return database_url.replace(f":{parts.port}/", f":{proxy.port}/")

    return through_proxy


@pytest.mark.postgres
@pytest.mark.parametrize("moment", ["ping", "statement"])
def test_a_pooled_connection_that_stalls_is_cut_at_the_request_deadline(timed_app, moment):
    """The request's own pooled connection stalls in the network — at the pool's ping, or in the
    middle of the request (its second statement is sent and never answered). No server-side limit
    can end that; the request deadline does: 503 JSON with Retry-After after ≈ 3 s, not a hang
    until gunicorn's worker time-out. The dead connection leaves the pool."""
    from sqlalchemy import event

    proxies: list[StallProxy] = []
    app = timed_app(url=_through_stall_proxy(proxies), DB_REQUEST_DEADLINE_SECONDS=3, DB_CONNECT_TIMEOUT=2)
    try:
        token = _token(app)
        assert _create_token(app, token).status_code == 201  # the pool holds a live connection now
        statements = []

        def stall_at_second_statement(*_args):
            statements.append(1)
            if len(statements) == 2:
                proxies[0].stall()

        with app.app_context():
            engine = db.engine
        if moment == "ping":
            proxies[0].stall()
        else:
            event.listen(engine, "before_cursor_execute", stall_at_second_statement)
        try:
            response, elapsed = timed(lambda: _create_token(app, token), bound=20)
        finally:
            if moment == "statement":
                event.remove(engine, "before_cursor_execute", stall_at_second_statement)
        _assert_503_json(response)
        assert 2.5 < elapsed < 8, elapsed
        proxies[0].resume()
        assert _create_token(app, token).status_code == 201
    finally:
        for proxy in proxies:
            proxy.close()
