"""OpenID Connect sign-in (the relying party), with Authlib: no home-made crypto.

Two providers may be configured (``config.OIDC_PROVIDERS``): ``family`` (ID-porten in production)
and ``staff`` (the municipality's Entra ID or another). Each is found through its discovery
document; the flow is the authorization code flow with PKCE (S256), ``state`` and ``nonce`` kept in
the (signed) Flask session until the callback. Authlib checks the ID token's signature against the
provider's JWKS and its ``iss``, ``aud``, ``exp``, ``iat`` and ``nonce``; the required assurance
level (``acr``) is checked here too, as an essential claim with the configured values.

The person's identifier (``sub``; for ID-porten also ``pid``, the national id number) is never
stored: :func:`identity_hash` turns the issuer and ``sub`` into an HMAC with the server's
``IDENTITY_KEY``, and that is what the app keeps.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from typing import Any

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app
from joserfc.errors import JoseError

from velferdslab.config import ConfigError
from velferdslab.core.permissions import ROLES

log = logging.getLogger(__name__)
EXTENSION = "velferdslab_oidc"


class SignInRefused(Exception):
    """The provider's answer is not a valid sign-in; ``reason`` is a code for the audit trail."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def init_app(app: Flask) -> None:
    for value, role in app.config.get("OIDC_STAFF_ROLE_MAP", {}).items():
        if role not in ROLES:
            raise ConfigError(
                f"VELFERDSLAB_OIDC_STAFF_ROLE_MAP maps {value!r} to {role!r}, which is not a role ({', '.join(ROLES)})"
            )
    register_providers(app)


def register_providers(app: Flask) -> None:
    """(Re)build the clients from ``app.config["OIDC_PROVIDERS"]``; discovery happens at first use."""
    oauth = OAuth(app)
    for name, provider in app.config.get("OIDC_PROVIDERS", {}).items():
        oauth.register(
            name,
            client_id=provider["client_id"],
            client_secret=provider["client_secret"],
            server_metadata_url=provider["issuer"] + "/.well-known/openid-configuration",
            client_kwargs={
                "scope": provider["scope"],
                "code_challenge_method": "S256",
                "token_endpoint_auth_method": "client_secret_basic",
                "timeout": 10,
            },
        )
    app.extensions[EXTENSION] = oauth


def enabled(name: str) -> bool:
    return name in current_app.config.get("OIDC_PROVIDERS", {})


def _client(name: str) -> Any:
    if not enabled(name):
        raise SignInRefused("provider_not_configured")
    return current_app.extensions[EXTENSION].create_client(name)


def _settings(name: str) -> dict:
    return current_app.config["OIDC_PROVIDERS"][name]


def begin(name: str, redirect_uri: str):
    """The redirect to the provider's authorization endpoint (state, nonce and PKCE kept in the session)."""
    client = _client(name)
    extra = {}
    if _settings(name)["acr_values"]:
        extra["acr_values"] = " ".join(_settings(name)["acr_values"])
    try:
        return client.authorize_redirect(redirect_uri, nonce=secrets.token_urlsafe(24), **extra)
    except (AuthlibBaseError, JoseError, OSError, ValueError) as error:
        log.warning("OpenID Connect (%s): the provider cannot be reached: %s", name, type(error).__name__)
        raise SignInRefused("provider_unreachable") from error


def finish(name: str) -> tuple[dict[str, Any], str]:
    """The validated ID token's claims and the raw ID token, from the provider's callback request.

    Refuses (``SignInRefused``) a wrong or reused ``state``, a code the provider will not exchange
    (replayed, expired, wrong PKCE verifier), a token signed with a key outside the provider's JWKS,
    a wrong ``nonce``, issuer or audience, an expired token, and a missing or too low ``acr``.
    """
    client = _client(name)
    settings = _settings(name)
    metadata = client.load_server_metadata()
    options: dict[str, Any] = {"iss": {"essential": True, "values": [metadata.get("issuer", settings["issuer"])]}}
    if settings["acr_values"]:
        options["acr"] = {"essential": True, "values": settings["acr_values"]}
    try:
        token = client.authorize_access_token(claims_options=options)
    except (AuthlibBaseError, JoseError) as error:
        reason = getattr(error, "error", None) or type(error).__name__
        log.info("OpenID Connect (%s) sign-in refused: %s", name, reason)
        raise SignInRefused(_reason_code(str(reason), error)) from error
    except (OSError, ValueError) as error:
        log.warning("OpenID Connect (%s): token exchange failed: %s", name, type(error).__name__)
        raise SignInRefused("provider_unreachable") from error
    claims = token.get("userinfo")
    if not claims or not token.get("id_token"):
        raise SignInRefused("no_id_token")
    return dict(claims), token["id_token"]


def _reason_code(reason: str, error: Exception) -> str:
    """A short code (letters, ``_``) for the audit trail: never the token or a claim's value."""
    claim = getattr(error, "claim_name", None) or getattr(error, "claim", None)
    if claim is None and reason == "missing_claim":
        found = re.search(r"'(\w+)'", str(getattr(error, "description", "")))
        claim = found.group(1) if found else None
    if claim:
        return f"{reason}_{claim}"[:40]
    code = "".join(c if c.isalnum() else "_" for c in reason.lower())[:40]
    return code or "refused"


def logout_url(name: str, id_token: str | None, post_logout_redirect_uri: str) -> str | None:
    """The provider's end_session address for this sign-out, or None when it has none."""
    if not enabled(name):
        return None
    client = _client(name)
    try:
        endpoint = client.load_server_metadata().get("end_session_endpoint")
    except (AuthlibBaseError, OSError, ValueError):
        return None
    if not endpoint:
        return None
    from urllib.parse import urlencode

    params = {
        "client_id": _settings(name)["client_id"],
        "post_logout_redirect_uri": _settings(name)["post_logout_redirect_uri"] or post_logout_redirect_uri,
    }
    if id_token:
        params["id_token_hint"] = id_token
    return endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)


def identity_hash(issuer: str, subject: str) -> str:
    """HMAC-SHA256 of the issuer and the person's identifier with the server's ``IDENTITY_KEY``: the
    app can recognise the person again but cannot tell who they are from what it stores."""
    key = current_app.config["IDENTITY_KEY"]
    if not key:
        raise SignInRefused("no_identity_key")
    message = f"{issuer}\n{subject}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def issuer(name: str) -> str:
    return str(_settings(name)["issuer"])
