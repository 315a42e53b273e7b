"""The suite's OpenID Provider (``velferdslab.dev.oidc_provider``, Authlib's server side) on a free
port, and the app configured to sign in through it — the real flow over HTTP, no mock.

``sign_in_at_provider`` plays the person at the provider's login form; the app side is driven
through the Flask test client (or a browser in tests/browser).
"""

from __future__ import annotations

import secrets
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
import requests

from velferdslab.auth import oidc
from velferdslab.dev.oidc_provider import Client, OidcProvider, serve

APP_ORIGIN = "http://localhost"  # the test app's SERVER_NAME (tests/conftest.py)
FAMILY_CALLBACK = "/min-side/logg-inn/tilbake"
STAFF_CALLBACK = "/logg-inn/oidc/tilbake"
FAMILY_SECRET = secrets.token_urlsafe(24)
STAFF_SECRET = secrets.token_urlsafe(24)

PEOPLE = {
    "kari": {"sub": "person-kari-0001", "name": "Kari Nordmann", "given_name": "Kari"},
    "ola": {"sub": "person-ola-0002", "name": "Ola Nordmann", "given_name": "Ola"},
    "lead": {
        "sub": "staff-lead",
        "name": "Lea Leder",
        "email": "lea.leder@kommune.example",
        "roles": ["Velferdslab.Lead"],
    },
    "nobody": {"sub": "staff-nobody", "name": "Nils Ingen", "email": "nils@kommune.example", "roles": []},
}


def make_provider(issuer: str) -> OidcProvider:
    return OidcProvider(
        issuer,
        people=PEOPLE,
        clients=[
            Client(
                "velferdslab-family",
                FAMILY_SECRET,
                [APP_ORIGIN + FAMILY_CALLBACK],
                post_logout_redirect_uris=[APP_ORIGIN + "/min-side/logg-inn"],
            ),
            Client("velferdslab-staff", STAFF_SECRET, [APP_ORIGIN + STAFF_CALLBACK]),
        ],
    )


@pytest.fixture(scope="session")
def oidc_provider():
    provider, shutdown = serve(make_provider)
    yield provider
    shutdown()


def provider_settings(provider: OidcProvider, *, family_acr: str = "idporten-loa-high") -> dict:
    """The app's ``OIDC_PROVIDERS`` for the suite's provider (as ``config`` builds it from the environment)."""
    return {
        "family": {
            "issuer": provider.issuer,
            "client_id": "velferdslab-family",
            "client_secret": FAMILY_SECRET,
            "scope": "openid profile",
            "acr_values": [family_acr] if family_acr else [],
            "post_logout_redirect_uri": None,
        },
        "staff": {
            "issuer": provider.issuer,
            "client_id": "velferdslab-staff",
            "client_secret": STAFF_SECRET,
            "scope": "openid profile email",
            "acr_values": [],
            "post_logout_redirect_uri": None,
        },
    }


@contextmanager
def configured(app, provider: OidcProvider, only: str | None = None, **settings):
    """The app signs in through ``provider`` for the duration (its settings restored after);
    ``only="family"`` configures that provider alone."""
    saved = {k: app.config.get(k) for k in ("OIDC_PROVIDERS", *settings)}
    chosen = provider_settings(provider)
    app.config["OIDC_PROVIDERS"] = {only: chosen[only]} if only else chosen
    app.config.update(settings)
    oidc.register_providers(app)
    provider.misbehave.clear()
    try:
        yield app
    finally:
        app.config.update(saved)
        oidc.register_providers(app)


@pytest.fixture
def oidc_app(app, oidc_provider):
    with configured(app, oidc_provider):
        yield app


def sign_in_at_provider(authorize_url: str, username: str, acr: str = "idporten-loa-high") -> str:
    """Submit the provider's login form; returns the app's callback path with code and state."""
    form = requests.get(authorize_url, timeout=10)
    assert form.status_code == 200, form.text[:300]
    answer = requests.post(authorize_url, data={"username": username, "acr": acr}, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:300]
    location = answer.headers["Location"]
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}" == APP_ORIGIN, location
    return parts.path + "?" + parts.query
