"""Items 5 and 7 between processes: gunicorn with two workers, driven over HTTP.

- 5: another client holds the audit chain head; signing in (audited) answers the Norwegian 503
  page with Retry-After within the lock time-out on every worker — never gunicorn's "Internal
  Server Error" — and works again once the lock is released.
- 7: Redis is down (a closed port); signing in works on every worker, failures are still refused
  after the limit (counted per worker meanwhile), and /healthz says Redis is degraded.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import psycopg
import pytest

from tests.factories import csrf_from
from tests.support.faults import libpq_url
from tests.support.gunicorn import ROOT, cli, serve

EMAIL, PASSWORD = "kari@test.example", "a long enough password"

pytestmark = [pytest.mark.real_commits, pytest.mark.slow]


@contextmanager
def gunicorn(env: dict, *options: str):
    cli(env, ["db", "upgrade"], ["lab", "create", "--slug", "t", "--name", "T", "--municipality", "T"],
        ["user", "create", "--lab", "t", "--email", EMAIL, "--name", "Kari", "--role", "caseworker",
         "--password", PASSWORD])
    with serve(env, *options) as base:
        yield base


def _sign_in(base: str, password: str, before_post=None) -> tuple[int, dict, str, float]:
    """Sign in through the form: (status, headers, body, seconds the POST took)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                         _NoRedirect())
    page = opener.open(base + "/logg-inn", timeout=30).read().decode()
    body = urllib.parse.urlencode({"email": EMAIL, "password": password, "csrf_token": csrf_from(page)}).encode()
    if before_post:
        before_post()
    started = time.perf_counter()
    try:
        response = opener.open(base + "/logg-inn", data=body, timeout=30)
        status, headers, text = response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        status, headers, text = error.code, dict(error.headers), error.read().decode()
    return status, headers, text, time.perf_counter() - started


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 302 after sign-in is the answer we want to see


def _env(**settings) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VELFERDSLAB_")}
    env.update({"VELFERDSLAB_ENV": "development", "VELFERDSLAB_SECRET_KEY": "x" * 40, "PYTHONPATH": str(ROOT)})
    env.update({f"VELFERDSLAB_{name}": str(value) for name, value in settings.items()})
    return env


@pytest.mark.postgres
def test_two_workers_answer_503_behind_a_held_chain_head_and_recover(backend, tmp_root):
    from tests.conftest import make_database_url

    url, remove = make_database_url(backend, tmp_root)
    try:
        with gunicorn(_env(DATABASE_URL=url, DB_LOCK_TIMEOUT_MS=500)) as base:
            holder = psycopg.connect(libpq_url(url))
            holder.execute("SELECT seq FROM audit_chain_head WHERE id = 1 FOR UPDATE").fetchone()
            try:
                with ThreadPoolExecutor(max_workers=6) as pool:
                    answers = list(pool.map(lambda _: _sign_in(base, PASSWORD), range(6)))
            finally:
                holder.rollback()
                holder.close()
            for status, headers, text, seconds in answers:
                assert status == 503, (status, text[:200])
                assert headers.get("Retry-After") == "5"
                assert "Tjenesten er midlertidig utilgjengelig" in text and "Internal Server Error" not in text
                assert seconds < 10, seconds  # 6 sign-ins on 2 sync workers, each waits ≤ 0.5 s for the lock
            assert _sign_in(base, PASSWORD)[0] == 302
    finally:
        remove()


def test_two_workers_sign_in_and_limit_while_redis_is_down(tmp_path):
    env = _env(DATABASE_URL=f"sqlite:///{tmp_path / 'faults.sqlite3'}", REDIS_URL="redis://127.0.0.1:1/0",
               LOGIN_LIMITS="3 per 15 minutes", LOGIN_ADDRESS_LIMITS="100 per 15 minutes")
    with gunicorn(env) as base:
        health = json.loads(urllib.request.urlopen(base + "/healthz", timeout=10).read())
        assert health == {"status": "ok", "database": "ok", "redis": "degraded"}
        assert [_sign_in(base, PASSWORD)[0] for _ in range(4)] == [302] * 4  # both workers sign in
        # Each worker counts alone meanwhile: refused at the latest after 2 × 3 failures.
        statuses = [_sign_in(base, "wrong password")[0] for _ in range(7)]
        assert set(statuses) <= {422, 429}, statuses
        assert statuses[:3] == [422] * 3 and 429 in statuses, statuses
        assert statuses.count(422) <= 6, statuses


@pytest.mark.postgres
def test_a_worker_whose_database_connection_stalls_answers_503_before_gunicorns_timeout(backend, tmp_root):
    """gunicorn's time-out at 10 s, the request deadline at 3 s; the database behind the stall proxy.
    After the workers hold pooled connections the proxy stalls: a sign-in answers the Norwegian 503
    page (the deadline cut its stalled connection, the new one hit the connect time-out) in well
    under 10 s — not gunicorn killing the worker. Once the network flows again, sign-in works."""
    from urllib.parse import urlsplit

    from tests.conftest import make_database_url
    from tests.support.stall_proxy import StallProxy

    url, remove = make_database_url(backend, tmp_root)
    parts = urlsplit(url)
    proxy = StallProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    try:
        env = _env(DATABASE_URL=url.replace(f":{parts.port}/", f":{proxy.port}/"), DB_REQUEST_DEADLINE_SECONDS=3,
                   DB_CONNECT_TIMEOUT=2)
        with gunicorn(env, "--timeout", "10") as base:
            assert [_sign_in(base, PASSWORD)[0] for _ in range(4)] == [302] * 4  # pooled connections
            status, headers, text, seconds = _sign_in(base, PASSWORD, before_post=proxy.stall)
            assert status == 503, (status, text[:200])
            assert headers.get("Retry-After") == "5"
            assert "Tjenesten er midlertidig utilgjengelig" in text and "Internal Server Error" not in text
            assert seconds < 8, seconds
            proxy.resume()
            deadline = time.monotonic() + 20
            while (status := _sign_in(base, PASSWORD)[0]) != 302 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert status == 302
    finally:
        proxy.close()
        remove()
