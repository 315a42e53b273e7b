"""Items 24, 21, 22: the deployment defaults — cookie, HSTS, banner, proxy hops, access log.

Some of these run the README's gunicorn command (with the shipped ``gunicorn.conf.py``) on a free
port, because the banner and the access log are written by gunicorn, not by the app.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests import factories
from velferdslab import config
from velferdslab.auth.models import AuthSession
from velferdslab.core.models import utcnow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _session_cookie(response) -> str:
    cookies = [value for value in response.headers.getlist("Set-Cookie") if value.startswith("velferdslab_session=")]
    assert cookies, response.headers
    return cookies[-1]


# --- item 24: a browser-session cookie, HSTS, no banner ---------------------------------------------

def test_the_session_cookie_ends_with_the_browser(client, lab):
    user = factories.user(lab)
    response = factories.login_client(client, user.email, factories.PASSWORD)
    assert response.status_code == 302
    cookie = _session_cookie(response).lower()
    assert "expires=" not in cookie and "max-age=" not in cookie, cookie
    assert "httponly" in cookie
    # Every later response re-sends it the same way (the session is modified on each touch).
    later = client.get("/")
    for value in later.headers.getlist("Set-Cookie"):
        assert "expires=" not in value.lower()


def test_the_server_still_ends_an_idle_session_with_a_browser_cookie(client, lab, db_session):
    user = factories.user(lab)
    factories.login_client(client, user.email, factories.PASSWORD)
    assert client.get("/").status_code == 200
    row = db_session.scalar(select(AuthSession).where(AuthSession.user_id == user.id))
    row.last_seen_at = utcnow() - timedelta(minutes=31)
    db_session.flush()
    assert client.get("/").status_code == 302


def test_a_persistent_cookie_only_when_configured(app, lab):
    app.config["SESSION_PERSISTENT"] = True
    try:
        client = app.test_client()
        user = factories.user(lab)
        response = factories.login_client(client, user.email, factories.PASSWORD)
        assert "expires=" in _session_cookie(response).lower()
    finally:
        app.config["SESSION_PERSISTENT"] = False


def test_session_persistent_setting(monkeypatch, tmp_path):
    for name in ("ENV", "DATABASE_URL", "SECRET_KEY", "SESSION_PERSISTENT", "HSTS_SECONDS"):
        monkeypatch.delenv(config.PREFIX + name, raising=False)
    assert config.load(str(tmp_path))["SESSION_PERSISTENT"] is False
    monkeypatch.setenv("VELFERDSLAB_SESSION_PERSISTENT", "true")
    assert config.load(str(tmp_path))["SESSION_PERSISTENT"] is True
    monkeypatch.setenv("VELFERDSLAB_SESSION_PERSISTENT", "maybe")
    with pytest.raises(SystemExit, match="SESSION_PERSISTENT must be true or false"):
        config.load(str(tmp_path))


def test_hsts_is_on_in_production_and_off_in_development(monkeypatch, tmp_path):
    for name in ("ENV", "DATABASE_URL", "SECRET_KEY", "HSTS_SECONDS"):
        monkeypatch.delenv(config.PREFIX + name, raising=False)
    assert config.load(str(tmp_path))["HSTS_SECONDS"] == 0
    monkeypatch.setenv("VELFERDSLAB_ENV", "production")
    monkeypatch.setenv("VELFERDSLAB_DATABASE_URL", "postgresql://app@db/velferdslab")
    monkeypatch.setenv("VELFERDSLAB_SECRET_KEY", secrets.token_urlsafe(48))
    assert config.load(str(tmp_path))["HSTS_SECONDS"] == 365 * 24 * 3600
    monkeypatch.setenv("VELFERDSLAB_HSTS_SECONDS", "0")
    assert config.load(str(tmp_path))["HSTS_SECONDS"] == 0


def test_hsts_header_when_configured(app, client):
    assert "Strict-Transport-Security" not in client.get("/logg-inn").headers
    app.config["HSTS_SECONDS"] = 31536000
    try:
        response = client.get("/logg-inn")
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    finally:
        app.config["HSTS_SECONDS"] = 0


# --- item 21: trusted proxy hops ----------------------------------------------------------------------

PROXY = "10.0.0.2"


def _through_proxy(client, email: str, client_address: str, password: str = "wrong password"):  # noqa: S107
    """A sign-in as the README's reverse proxy forwards it: the proxy connects, the client is in XFF."""
    base = {"REMOTE_ADDR": PROXY}
    headers = {"X-Forwarded-For": client_address, "X-Forwarded-Proto": "https"}
    page = client.get("/logg-inn", environ_base=base, headers=headers)
    token = factories.csrf_from(page.get_data(as_text=True))
    return client.post("/logg-inn", data={"email": email, "password": password, "csrf_token": token},
                       environ_base=base, headers=headers)


@pytest.fixture
def proxied_app(app):
    """An app built by the factory with one trusted proxy hop, on the test database."""
    from tests.conftest import build_app

    return build_app(app.config["SQLALCHEMY_DATABASE_URI"], TRUSTED_PROXIES=1,
                     LOGIN_ADDRESS_LIMITS="3 per 15 minutes")


def test_behind_one_trusted_proxy_the_address_limit_is_per_client(proxied_app, lab):
    """Three failures from one client lock that client out, not everyone behind the same proxy."""
    from velferdslab.extensions import limiter

    limiter.reset()
    emails = [factories.user(lab).email for _ in range(5)]
    attacker = proxied_app.test_client()
    statuses = [_through_proxy(attacker, email, "203.0.113.7").status_code for email in emails[:4]]
    assert statuses == [422, 422, 422, 429]
    someone_else = proxied_app.test_client()
    assert _through_proxy(someone_else, emails[4], "198.51.100.20").status_code == 422


def test_behind_a_trusted_proxy_the_audit_trail_records_the_client(proxied_app, lab, db_session):
    from velferdslab.audit.models import AuditEvent

    user = factories.user(lab)
    client = proxied_app.test_client()
    assert _through_proxy(client, user.email, "203.0.113.7", factories.PASSWORD).status_code == 302
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.actor_id == user.id)
                               .order_by(AuditEvent.id.desc())).first()
    assert event.address == "203.0.113.7"


def test_without_trusted_proxies_a_forwarded_address_is_not_believed(app, lab):
    """The default, 0: a client cannot pick its own address by sending X-Forwarded-For."""
    from velferdslab.extensions import limiter

    limiter.reset()
    app.config["LOGIN_ADDRESS_LIMITS"] = "3 per 15 minutes"
    try:
        emails = [factories.user(lab).email for _ in range(4)]
        client = app.test_client()
        statuses = [_through_proxy(client, email, f"203.0.113.{i}").status_code for i, email in enumerate(emails)]
        assert statuses == [422, 422, 422, 429]
    finally:
        app.config["LOGIN_ADDRESS_LIMITS"] = "30 per 15 minutes"


def test_trusted_proxies_setting(monkeypatch, tmp_path):
    for name in ("ENV", "DATABASE_URL", "SECRET_KEY", "TRUSTED_PROXIES"):
        monkeypatch.delenv(config.PREFIX + name, raising=False)
    assert config.load(str(tmp_path))["TRUSTED_PROXIES"] == 0
    monkeypatch.setenv("VELFERDSLAB_TRUSTED_PROXIES", "2")
    assert config.load(str(tmp_path))["TRUSTED_PROXIES"] == 2
    monkeypatch.setenv("VELFERDSLAB_TRUSTED_PROXIES", "-1")
    with pytest.raises(SystemExit, match="TRUSTED_PROXIES"):
        config.load(str(tmp_path))


# --- gunicorn, as the README runs it ---------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """The README's command on a free port with a throw-away SQLite database."""

    def __init__(self, tmp_path: Path, *extra: str, env: dict | None = None) -> None:
        self.log = tmp_path / "access.log"
        self.env = {**os.environ, "VELFERDSLAB_ENV": "development", "VELFERDSLAB_SECRET_KEY": secrets.token_urlsafe(48),
                    "VELFERDSLAB_DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}", **(env or {})}
        subprocess.run([str(BIN / "velferdslab"), "db", "upgrade"], env=self.env, cwd=ROOT, check=True,
                       capture_output=True)
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.command = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--workers", "2",
                        "--bind", f"127.0.0.1:{self.port}", "--access-logfile", str(self.log), *extra, "wsgi:app"]

    def __enter__(self):
        self.process = subprocess.Popen(self.command, env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        for _ in range(150):
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=1)
                return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError("gunicorn did not start")

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=10)

    def get(self, path: str, headers: dict | None = None):
        request = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            return urllib.request.urlopen(request, timeout=10)
        except urllib.error.HTTPError as error:
            return error

    def access_log(self) -> str:
        for _ in range(50):
            text = self.log.read_text() if self.log.exists() else ""
            if text:
                return text
            time.sleep(0.1)
        return ""


@pytest.mark.real_commits
@pytest.mark.slow
def test_gunicorn_sends_no_server_banner(tmp_path):
    with Gunicorn(tmp_path) as server:
        for path in ("/healthz", "/logg-inn", "/finnes-ikke"):
            response = server.get(path)
            assert response.headers.get("Server") is None, (path, response.headers.items())


# --- item 22: the access log carries method, path and status only -------------------------------------

def test_the_shipped_access_log_format_has_no_query_string_referrer_or_agent():
    namespace: dict = {}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)  # noqa: S102
    log_format = namespace["access_log_format"]
    for part in ("%(m)s", "%(U)s", "%(s)s"):
        assert part in log_format
    for leak in ("%(r)s", "%(q)s", "%(f)s", "%(a)s", "%(h)s", "%(u)s", "{"):
        assert leak not in log_format, leak


def test_readme_serves_with_the_shipped_config():
    readme = (ROOT / "README.md").read_text()
    commands = [line for line in readme.splitlines() if "gunicorn --" in line or "gunicorn -c" in line]
    assert commands and all("-c gunicorn.conf.py" in line and "--access-logfile -" in line
                            for line in commands), commands


@pytest.mark.real_commits
@pytest.mark.slow
def test_gunicorn_access_log_has_no_query_string(tmp_path):
    secret = "12345678901"  # the shape of a national id number
    with Gunicorn(tmp_path) as server:
        assert server.get(f"/healthz?q={secret}").status == 200
        # Redirected to /logg-inn?next=/familier?q=…: the secret is in the second query string too.
        server.get(f"/familier?q={secret}&side=2", headers={"Referer": f"http://x/?fnr={secret}",
                                                              "User-Agent": f"agent-{secret}"})
        assert server.get(f"/finnes-ikke?fnr={secret}").status == 404
        time.sleep(0.5)
        log = server.access_log()
    assert secret not in log, log
    assert "?" not in log, log
    assert any(line.endswith("GET /healthz 200") for line in log.splitlines()), log
    assert any(line.endswith("GET /logg-inn 200") for line in log.splitlines()), log
    assert any(line.endswith("GET /familier 302") for line in log.splitlines()), log
    assert any(line.endswith("GET /finnes-ikke 404") for line in log.splitlines()), log
