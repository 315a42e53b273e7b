"""Security headers, CSRF enforcement and request limits that hold for every response."""

from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

from velferdslab.extensions import csrf

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def protect_csrf() -> None:
    """Every state-changing request needs a CSRF token, except API calls signed with a bearer token.

    A bearer token is not sent by browsers on their own, so it cannot be forged cross-site; a
    cookie can, so cookie-authenticated API calls need the ``X-CSRFToken`` header like forms do.
    """
    if request.method in SAFE_METHODS:
        return
    if request.headers.get("Authorization", "")[:7].lower() == "bearer ":
        return
    csrf.protect()


def set_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    hsts = current_app.config.get("HSTS_SECONDS", 0)
    if hsts > 0:
        headers.setdefault("Strict-Transport-Security", f"max-age={hsts}; includeSubDomains")
    if not request.path.startswith("/static/"):
        # Anything but the app's own assets may carry personal data: never cache it.
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response


def trust_proxies(app: Flask) -> None:
    """Behind ``TRUSTED_PROXIES`` reverse proxies, take the client's address and scheme from the
    X-Forwarded-For / X-Forwarded-Proto values those hops appended (werkzeug's ProxyFix), so the
    sign-in limits and the audit trail see the client, not the proxy. With 0 nothing is believed."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


def init_app(app: Flask) -> None:
    trust_proxies(app)
    csrf.init_app(app)
    app.before_request(protect_csrf)
    app.after_request(set_headers)
