"""A real, small OpenID Provider for tests and development — never for production.

Built on Authlib's server side: the authorization code grant with OpenID Connect (``OpenIDCode``,
nonce required) and PKCE (``CodeChallenge``, S256 only), an RSA key generated at start, its JWKS,
discovery (``/.well-known/openid-configuration``), a login form that picks a test person and the
assurance level (``acr``) they "signed in" with, a token endpoint and ``end_session``.

The test suite starts it in a thread on a free port (:func:`serve`); ``velferdslab dev oidc-provider``
starts it for ``make run``, and refuses when ``VELFERDSLAB_ENV=production``. For tests it can be told
to misbehave on its next ID token (:attr:`OidcProvider.misbehave`): sign with a key that is not in
its JWKS, or put another nonce in the token.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import urlencode

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.models import AuthorizationCodeMixin
from flask import Flask, abort, jsonify, redirect, request
from joserfc.jwk import RSAKey

ACR_LEVELS = ("idporten-loa-high", "idporten-loa-substantial", "")


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str] = field(default_factory=list)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: Collection[str] | str) -> str:
        allowed = {"openid", "profile", "email"}
        asked = scope.split() if isinstance(scope, str) else list(scope or ())
        return " ".join(s for s in asked if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post") if endpoint == "token" else True

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    username: str
    nonce: str | None
    acr: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))
    expires_at: float = field(default_factory=lambda: time.time() + 300)

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str | None:  # type: ignore[override]
        return self.acr or None

    def is_expired(self) -> bool:
        return time.time() > self.expires_at


class CodeGrant(grants.AuthorizationCodeGrant):
    """The authorization code grant, its codes kept in the provider's memory (one use each)."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    @property
    def provider(self) -> OidcProvider:
        return self.server.provider

    def save_authorization_code(self, code, req):
        payload = req.payload.data
        with self.provider.lock:
            self.provider.codes[code] = Code(
                code=code,
                client_id=req.client.client_id,
                redirect_uri=req.payload.redirect_uri,
                scope=req.payload.scope,
                username=req.user["username"],
                nonce=payload.get("nonce"),
                acr=req.user["acr"],
                code_challenge=payload.get("code_challenge"),
                code_challenge_method=payload.get("code_challenge_method"),
            )
            if payload.get("nonce"):
                self.provider.nonces.add((req.client.client_id, payload["nonce"]))

    def query_authorization_code(self, code, client):
        found = self.provider.codes.get(code)
        if found and found.client_id == client.client_id and not found.is_expired():
            return found
        return None

    def delete_authorization_code(self, authorization_code):
        with self.provider.lock:
            self.provider.codes.pop(authorization_code.code, None)  # a code works once

    def authenticate_user(self, authorization_code):
        person = self.provider.people.get(authorization_code.username)
        return None if person is None else {**person, "username": authorization_code.username}


class Connect(OpenIDCode):
    """OpenID Connect on the code grant: the ID token, signed with the provider's RSA key."""

    def __init__(self, provider: OidcProvider, require_nonce: bool = True) -> None:
        super().__init__(require_nonce=require_nonce)
        self.provider = provider

    def resolve_client_private_key(self, client):
        return self.provider.other_key if self.provider.misbehave.pop("forge", False) else self.provider.key

    def get_client_claims(self, client):
        return {"iss": self.provider.issuer, "aud": [client.get_client_id()], "exp": int(time.time()) + 300}

    def get_encode_header(self, client):
        return {"alg": "RS256", "kid": self.provider.key.kid}

    def exists_nonce(self, nonce, req):
        return (req.payload.client_id, nonce) in self.provider.nonces

    def generate_user_info(self, user, scope):
        info = UserInfo({k: v for k, v in user.items() if k not in ("username", "acr")})
        if "nonce" in self.provider.misbehave:
            info["nonce"] = self.provider.misbehave.pop("nonce")
        return info


class S256Only(CodeChallenge):
    """PKCE as ID-porten requires it: S256, never ``plain``."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]


class OidcProvider:
    """The provider's state (clients, people, codes, keys) and its Flask app."""

    def __init__(self, issuer: str, *, clients: list[Client], people: dict[str, dict[str, Any]]) -> None:
        self.issuer = issuer.rstrip("/")
        self.clients = {c.client_id: c for c in clients}
        self.people = people  # username -> claims (``sub`` and whatever else the person has)
        self.key = RSAKey.generate_key(
            2048, parameters={"kid": "dev-" + secrets.token_hex(4), "use": "sig"}, private=True
        )
        # Another key under the same kid: a token it signs looks right and must fail the JWKS check.
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": self.key.kid or "", "use": "sig"}, private=True)
        self.codes: dict[str, Code] = {}
        self.nonces: set[tuple[str, str]] = set()
        self.logouts: list[dict[str, str]] = []
        # For tests: {"forge": True} signs the next ID token with a key outside the JWKS; {"nonce": "x"}
        # puts another nonce in it. Used once, then cleared.
        self.misbehave: dict[str, Any] = {}
        self.lock = threading.Lock()
        self.app = self._build_app()

    # --- the grant --------------------------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask(__name__)
        app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"authorization_code": 600}
        server = AuthorizationServer(app, query_client=self.clients.get, save_token=lambda token, req: None)
        server.provider = self  # type: ignore[attr-defined]  # read by CodeGrant
        server.register_grant(CodeGrant, [Connect(self, require_nonce=True), S256Only(required=True)])
        self._routes(app, server)
        return app

    def _routes(self, app: Flask, server: AuthorizationServer) -> None:  # noqa: C901 - one route each
        provider = self

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify(
                {
                    "issuer": provider.issuer,
                    "authorization_endpoint": provider.issuer + "/authorize",
                    "token_endpoint": provider.issuer + "/token",
                    "jwks_uri": provider.issuer + "/jwks",
                    "end_session_endpoint": provider.issuer + "/logout",
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "code_challenge_methods_supported": ["S256"],
                    "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                    "acr_values_supported": [a for a in ACR_LEVELS if a],
                    "scopes_supported": ["openid", "profile", "email"],
                }
            )

        @app.get("/jwks")
        def jwks():
            return jsonify({"keys": [provider.key.as_dict(private=False)]})

        @app.route("/authorize", methods=["GET", "POST"])
        def authorize():
            if request.method == "GET":
                try:
                    server.get_consent_grant(end_user=None)
                except Exception as error:  # noqa: BLE001 - shown to the developer as the provider's refusal
                    return f"<p>Refused: {escape(str(error))}</p>", 400
                return provider._login_form(request.args.get("acr_values", ""))
            username = request.form.get("username", "")
            person = provider.people.get(username)
            acr = request.form.get("acr", "")
            user = None if person is None else {**person, "username": username, "acr": acr}
            grant = server.get_consent_grant(end_user=user)
            return server.create_authorization_response(grant=grant, grant_user=user)

        @app.post("/token")
        def token():
            return server.create_token_response()

        @app.get("/logout")
        def end_session():
            target = request.args.get("post_logout_redirect_uri", "")
            client = provider.clients.get(request.args.get("client_id", ""))
            allowed = [
                u for c in ([client] if client else provider.clients.values()) for u in c.post_logout_redirect_uris
            ]
            provider.logouts.append({"id_token_hint": request.args.get("id_token_hint", ""), "target": target})
            if target:
                if target not in allowed:
                    abort(400)
                state = request.args.get("state")
                return redirect(target + ("?" + urlencode({"state": state}) if state else ""))
            return "<p>Logget ut.</p>"

    def _login_form(self, requested_acr: str) -> str:
        people = "".join(
            f'<option value="{escape(u)}">{escape(p.get("name") or u)}</option>' for u, p in self.people.items()
        )
        wanted = (requested_acr.split() or ["idporten-loa-high"])[0]
        levels = "".join(
            f'<option value="{escape(a)}"{" selected" if a == wanted else ""}>{escape(a or "(none)")}</option>'
            for a in ACR_LEVELS
        )
        return (
            "<!doctype html><html lang='en'><title>Development OpenID Provider</title>"
            "<h1>Development OpenID Provider</h1><p>Not for production: pick a test person.</p>"
            "<form method='post'><label>Person <select name='username'>" + people + "</select></label> "
            "<label>Assurance level <select name='acr'>" + levels + "</select></label> "
            "<button type='submit'>Sign in</button></form></html>"
        )


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(provider_factory, port: int | None = None):
    """Start a provider in a daemon thread on 127.0.0.1; returns (provider, shutdown)."""
    from werkzeug.serving import make_server

    port = port or free_port()
    provider = provider_factory(f"http://127.0.0.1:{port}")
    server = make_server("127.0.0.1", port, provider.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="dev-oidc-provider")
    thread.start()

    def shutdown() -> None:
        server.shutdown()
        thread.join(5)

    return provider, shutdown
