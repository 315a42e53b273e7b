"""Rate-limit counters that survive Redis going away (docs/reliability.md, item 7).

The limits (failed sign-ins per account and per address) are counted in Redis, so that every
worker on every host shares them. When Redis does not answer, sign-in must keep working: this
storage then counts in the process's own memory — the same limits, per process — and logs one
warning per interval (not one per request). It tries Redis again every ``RECHECK_SECONDS`` and goes
back to it as soon as it answers. It never raises a storage error into a request.

``VELFERDSLAB_REDIS_URL=redis://…`` becomes the limiter storage ``velferdslab+redis://…``
(``config.ratelimit_storage_uri``); the ``limits`` library finds this class by that scheme.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from limits.storage import MemoryStorage, MovingWindowSupport, RedisStorage, SlidingWindowCounterSupport, Storage

log = logging.getLogger(__name__)

SCHEME_PREFIX = "velferdslab+"
RECHECK_SECONDS = 15.0  # while Redis is down, try it again this often (one request pays the attempt)
WARN_INTERVAL_SECONDS = 300.0  # while Redis stays down, say so again this often
REDIS_TIMEOUT_SECONDS = 0.5  # connect and socket time-out: a request never waits long on Redis


class FallbackRedisStorage(Storage, MovingWindowSupport, SlidingWindowCounterSupport):
    """Redis, or the process's memory while Redis does not answer."""

    STORAGE_SCHEME = [SCHEME_PREFIX + "redis", SCHEME_PREFIX + "rediss", SCHEME_PREFIX + "redis+unix"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        options.setdefault("socket_connect_timeout", REDIS_TIMEOUT_SECONDS)
        options.setdefault("socket_timeout", REDIS_TIMEOUT_SECONDS)
        self.primary = RedisStorage(uri.removeprefix(SCHEME_PREFIX), **options)
        self.fallback = MemoryStorage()
        # What Redis raises when it cannot be reached (the driver's errors, and the socket's).
        self._faults: tuple[type[BaseException], ...] = (*_as_tuple(self.primary.base_exceptions), OSError)
        self._lock = threading.Lock()
        self._down_until = 0.0  # monotonic time before which Redis is not tried again
        self._warned_at: float | None = None
        self.degraded = False

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        return ()  # nothing to wrap: failures of Redis are handled here, never raised

    # --- the switch ------------------------------------------------------------------------------
    def _failed(self, error: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            self._down_until = now + RECHECK_SECONDS
            self.degraded = True
            warn = self._warned_at is None or now - self._warned_at >= WARN_INTERVAL_SECONDS
            if warn:
                self._warned_at = now
        if warn:
            # The class only: the message could carry the address, the URL a password.
            log.warning("rate-limit storage (Redis) is not answering (%s): sign-in limits are counted per "
                        "process until it answers again", type(error).__name__)

    def _recovered(self) -> None:
        # The warning clock is not reset: a Redis that flaps still gets one warning per interval.
        with self._lock:
            was_degraded, self.degraded = self.degraded, False
        if was_degraded:
            log.warning("rate-limit storage (Redis) answers again: sign-in limits are shared again")

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if time.monotonic() >= self._down_until:
            try:
                result = getattr(self.primary, method)(*args, **kwargs)
            except self._faults as error:
                self._failed(error)
            else:
                if self.degraded:
                    self._recovered()
                return result
        return getattr(self.fallback, method)(*args, **kwargs)

    def status(self) -> str:
        """"ok" when Redis answers (asked now, unless it failed moments ago), else "degraded"."""
        if time.monotonic() < self._down_until:
            return "degraded"
        if self.primary.check():
            if self.degraded:
                self._recovered()
            return "ok"
        self._failed(ConnectionError("ping failed"))
        return "degraded"

    # --- Storage ---------------------------------------------------------------------------------
    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return self._call("incr", key, expiry, amount=amount)

    def get(self, key: str) -> int:
        return self._call("get", key)

    def get_expiry(self, key: str) -> float:
        return self._call("get_expiry", key)

    def check(self) -> bool:
        return self.status() == "ok"

    def reset(self) -> int | None:
        self.fallback.reset()
        return self._call("reset")

    def clear(self, key: str) -> None:
        self.fallback.clear(key)
        self._call("clear", key)

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        return self._call("acquire_entry", key, limit, expiry, amount=amount)

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        return self._call("get_moving_window", key, limit, expiry)

    def acquire_sliding_window_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        return self._call("acquire_sliding_window_entry", key, limit, expiry, amount=amount)

    def get_sliding_window(self, key: str, expiry: int) -> tuple[int, float, int, float]:
        return self._call("get_sliding_window", key, expiry)

    def clear_sliding_window(self, key: str, expiry: int) -> None:
        self.fallback.clear_sliding_window(key, expiry)
        self._call("clear_sliding_window", key, expiry)


def _as_tuple(exceptions: Any) -> tuple[type[BaseException], ...]:
    return exceptions if isinstance(exceptions, tuple) else (exceptions,)


def redis_status(storage: Storage | None) -> str:
    """For /healthz: "ok", "degraded" (configured, not answering: limits per process) or
    "not_configured" (no VELFERDSLAB_REDIS_URL: limits per process by design)."""
    if isinstance(storage, FallbackRedisStorage):
        return storage.status()
    return "not_configured"
