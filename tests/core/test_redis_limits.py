"""Several gunicorn workers share failed-login limits through Redis (VELFERDSLAB_REDIS_URL).

With in-memory limits each worker would count on its own and the fourth failure could get
through; with Redis the fourth attempt is refused whichever worker answers it.
"""

import http.cookiejar
import os
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

from tests.factories import csrf_from
from tests.support.gunicorn import cli, serve

REDIS_URL = os.environ.get("VELFERDSLAB_TEST_REDIS_URL")


def _attempt(base: str, email: str, password: str) -> int:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/logg-inn", timeout=10).read().decode()
    body = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": csrf_from(page)}).encode()
    try:
        return opener.open(base + "/logg-inn", data=body, timeout=10).status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.real_commits
@pytest.mark.skipif(not REDIS_URL, reason="VELFERDSLAB_TEST_REDIS_URL is not set")
def test_two_workers_share_login_limits_through_redis(tmp_path):
    import redis

    prefix = f"vl-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "VELFERDSLAB_ENV": "development", "VELFERDSLAB_SECRET_KEY": "x" * 40,
           "VELFERDSLAB_DATABASE_URL": f"sqlite:///{tmp_path / 'limits.sqlite3'}",
           "VELFERDSLAB_REDIS_URL": REDIS_URL, "VELFERDSLAB_LOGIN_LIMITS": "3 per 15 minutes",
           "VELFERDSLAB_LOGIN_ADDRESS_LIMITS": "100 per 15 minutes", "VELFERDSLAB_RATELIMIT_PREFIX": prefix}
    cli(env, ["db", "upgrade"], ["lab", "create", "--slug", "t", "--name", "T", "--municipality", "T"],
        ["user", "create", "--lab", "t", "--email", "kari@test.example", "--name", "Kari", "--role", "caseworker",
         "--password", "a long enough password"])
    try:
        with serve(env) as base:
            statuses = [_attempt(base, "kari@test.example", "wrong password") for _ in range(4)]
            assert statuses == [422, 422, 422, 429]
            assert redis.Redis.from_url(REDIS_URL).keys(f"*{prefix}*"), "no limit counters in Redis"
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)


@pytest.mark.real_commits
@pytest.mark.skipif(not REDIS_URL, reason="VELFERDSLAB_TEST_REDIS_URL is not set")
def test_two_workers_share_the_request_limits_through_redis(tmp_path):
    """Issue 12, item 17: the per-address request limit holds across gunicorn workers."""
    import redis

    prefix = f"vl-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "VELFERDSLAB_ENV": "development", "VELFERDSLAB_SECRET_KEY": "x" * 40,
           "VELFERDSLAB_DATABASE_URL": f"sqlite:///{tmp_path / 'limits.sqlite3'}",
           "VELFERDSLAB_REDIS_URL": REDIS_URL, "VELFERDSLAB_REQUEST_LIMIT_PER_ADDRESS": "10 per minute",
           "VELFERDSLAB_RATELIMIT_PREFIX": prefix}
    cli(env, ["db", "upgrade"])

    def status(base: str, path: str) -> int:
        try:
            return urllib.request.urlopen(base + path, timeout=10).status
        except urllib.error.HTTPError as error:
            return error.code

    try:
        with serve(env) as base:
            statuses = [status(base, "/logg-inn") for _ in range(24)]
            # Counted together: ten pages, then 429 — whichever worker answers (per worker, up to 20).
            assert statuses.count(200) == 10 and statuses[10:] == [429] * 14, statuses
            assert status(base, "/healthz") == 200  # monitoring is never counted
            assert redis.Redis.from_url(REDIS_URL).keys(f"*{prefix}*requests-address*"), "no counters in Redis"
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)
