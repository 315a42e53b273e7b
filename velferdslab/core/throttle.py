"""Request limits per user and per address for every page and API call (issue 12, item 17).

A script in a loop, or someone walking ids, must not be able to tie up the workers or grow a
family's access log without limit. Every request counts against its address, and a signed-in
request against its user as well, in the limiter's store (Redis in production, shared by every
worker and host; per process when Redis is down). Over the limit: 429 with ``Retry-After`` (JSON
for the API, a Norwegian page otherwise). ``/healthz`` and static files are not counted. Sign-in
has its own, stricter limits (``auth.views``).

The address is the client's as the app sees it: behind a reverse proxy, configure the trusted
proxy hops so it is not the proxy's (README, deployment).
"""

from __future__ import annotations

import math
import time

from flask import Flask, current_app, request
from flask_babel import gettext as _
from flask_login import current_user
from limits import RateLimitItem, parse

from velferdslab.core.errors import error_response
from velferdslab.extensions import limiter

EXEMPT_ENDPOINTS = frozenset({"static", "core.healthz"})


def _item(setting: str) -> RateLimitItem | None:
    value = current_app.config.get(setting)
    return parse(value) if value else None


def _over(item: RateLimitItem | None, *identity: str) -> float | None:
    """Count one hit; the seconds until the window frees up when over the limit, else None."""
    if item is None:
        return None
    strategy = limiter.limiter
    # The deployment's prefix first, as flask-limiter does for its own keys (one Redis, many labs).
    identity = (current_app.config.get("RATELIMIT_KEY_PREFIX") or "velferdslab", *identity)
    if strategy.hit(item, *identity):
        return None
    reset = strategy.get_window_stats(item, *identity).reset_time
    return max(reset - time.time(), 1.0)


def before_request():
    if request.endpoint in EXEMPT_ENDPOINTS or not current_app.config.get("REQUEST_LIMITS_ENABLED", True):
        return None
    address = request.remote_addr or "?"
    wait = _over(_item("REQUEST_LIMIT_PER_ADDRESS"), "requests-address", address)
    if wait is None and current_user.is_authenticated:
        wait = _over(_item("REQUEST_LIMIT_PER_USER"), "requests-user", str(current_user.id))
    if wait is None:
        return None
    return error_response(429, message=_("For mange forespørsler på kort tid. Vent litt og prøv igjen."),
                          headers={"Retry-After": str(math.ceil(wait))})


def init_app(app: Flask) -> None:
    app.before_request(before_request)
