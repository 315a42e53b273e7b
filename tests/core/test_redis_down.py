"""Issue 12, item 7: sign-in keeps working while Redis is down.

The limiter is pointed at a Redis port where nothing listens. Sign-in through the form still works,
still refuses the (N+1)th failure (the limits are counted in the process meanwhile), the warning is
logged once, not per request, and /healthz says Redis is degraded while answering 200.
"""

from __future__ import annotations

import logging

import pytest

from tests import factories
from velferdslab import config
from velferdslab.extensions import limiter

DOWN = "redis://127.0.0.1:1/0"


@pytest.fixture
def redis_down(app, monkeypatch, tmp_path):
    """The suite's app with its limiter storage as VELFERDSLAB_REDIS_URL=<a closed port> makes it."""
    saved = {key: app.config.get(key) for key in ("REDIS_URL", "RATELIMIT_STORAGE_URI", "LOGIN_LIMITS")}
    monkeypatch.setenv("VELFERDSLAB_REDIS_URL", DOWN)
    loaded = config.load(str(tmp_path))
    app.config.update({key: loaded[key] for key in ("REDIS_URL", "RATELIMIT_STORAGE_URI")})
    app.config["LOGIN_LIMITS"] = "3 per 15 minutes"
    limiter.init_app(app)
    yield
    app.config.update(saved)
    limiter.init_app(app)


def _sign_in(app, email: str, password: str):
    return factories.login_client(app.test_client(), email, password)


def test_sign_in_works_and_still_limits_while_redis_is_down(redis_down, app, ctx, lab, caplog):
    kari = factories.user(lab)
    ola = factories.user(lab)
    with caplog.at_level(logging.WARNING, logger="velferdslab.core.ratelimit"):
        assert _sign_in(app, kari.email, factories.PASSWORD).status_code == 302  # signed in
        statuses = [_sign_in(app, ola.email, "wrong password").status_code for _ in range(4)]
        assert statuses == [422, 422, 422, 429]  # LOGIN_LIMITS, counted in this process
        assert _sign_in(app, ola.email, factories.PASSWORD).status_code == 429  # still limited
        assert _sign_in(app, kari.email, factories.PASSWORD).status_code == 302  # others are not
    warnings = [r for r in caplog.records if r.name == "velferdslab.core.ratelimit"]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]  # once, not per request
    assert "127.0.0.1" not in warnings[0].getMessage() and "redis://" not in warnings[0].getMessage()


def test_healthz_reports_redis_degraded_and_stays_200(redis_down, app, ctx):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "degraded"}


def test_healthz_reports_redis_unset_as_not_configured(app, ctx):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "not_configured"}


def test_redis_url_becomes_the_fallback_storage(monkeypatch, tmp_path):
    monkeypatch.setenv("VELFERDSLAB_REDIS_URL", "redis://cache.internal:6379/0")
    loaded = config.load(str(tmp_path))
    assert loaded["RATELIMIT_STORAGE_URI"] == "velferdslab+redis://cache.internal:6379/0"
    assert config.ratelimit_storage_uri("unix:///run/redis.sock") == "velferdslab+redis+unix:///run/redis.sock"
    assert config.ratelimit_storage_uri(None) == "memory://"
    with pytest.raises(SystemExit):
        config.ratelimit_storage_uri("http://cache.internal")


def test_the_storage_goes_back_to_redis_when_it_answers(monkeypatch):
    """While down: memory, no Redis attempt per call; after the re-check interval Redis is tried
    again, and counting moves back to it."""
    from limits.storage import storage_from_string

    from velferdslab.core import ratelimit

    storage = storage_from_string(config.ratelimit_storage_uri(DOWN))
    assert isinstance(storage, ratelimit.FallbackRedisStorage)
    attempts = []
    real_incr = storage.primary.incr

    def counting_incr(*args, **kwargs):
        attempts.append(1)
        return real_incr(*args, **kwargs)

    monkeypatch.setattr(storage.primary, "incr", counting_incr)
    assert [storage.incr("k", 60) for _ in range(5)] == [1, 2, 3, 4, 5]
    assert len(attempts) == 1 and storage.degraded
    clock = [ratelimit.time.monotonic() + ratelimit.RECHECK_SECONDS + 1]
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(storage.primary, "incr", lambda *a, **k: 41)  # Redis answers again
    assert storage.incr("k", 60) == 41
    assert not storage.degraded


@pytest.mark.real_commits
@pytest.mark.skipif(not __import__("os").environ.get("VELFERDSLAB_TEST_REDIS_URL"),
                    reason="VELFERDSLAB_TEST_REDIS_URL is not set")
def test_with_redis_up_the_counters_live_in_redis():
    """The control: with a live Redis the storage counts there, and /healthz would say ok."""
    import os
    import uuid

    import redis
    from limits.storage import storage_from_string

    url = os.environ["VELFERDSLAB_TEST_REDIS_URL"]
    prefix = f"vl-test-{uuid.uuid4().hex[:8]}"
    storage = storage_from_string(config.ratelimit_storage_uri(url), key_prefix=prefix)
    try:
        assert storage.incr("k", 60) == 1 and storage.incr("k", 60) == 2
        assert storage.status() == "ok" and not storage.degraded
        assert redis.Redis.from_url(url).get(f"{prefix}:k") == b"2"
    finally:
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
