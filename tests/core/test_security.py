"""CSRF, security headers, body limit, failed-login limits, safe redirects (items 20–23)."""

import pytest
from sqlalchemy import select

from tests import factories
from velferdslab.auth.models import Agency
from velferdslab.core.routing import is_safe_redirect
from velferdslab.core.security import CSP


def test_state_change_without_csrf_token_is_refused_and_changes_nothing(app, lab, login, db_session):
    admin = factories.user(lab, roles=("admin",))
    signed_in = login(admin)
    response = signed_in.client.post("/admin/etater/ny", data={"name": "Uten token", "kind": "nav"})
    assert response.status_code == 400
    assert "sikkerhetsnøkkel" in response.get_data(as_text=True)
    assert db_session.scalar(select(Agency).where(Agency.name == "Uten token")) is None
    # The same request with the token works, so the refusal above was the token's doing.
    assert signed_in.post("/admin/etater/ny", data={"name": "Med token", "kind": "nav"}).status_code == 302
    assert db_session.scalar(select(Agency).where(Agency.name == "Med token")) is not None


def test_api_write_with_session_cookie_needs_csrf_header(app, lab, login):
    admin = factories.user(lab, roles=("admin",))
    signed_in = login(admin)
    response = signed_in.client.post("/api/v1/agencies", json={"name": "Uten token", "kind": "nav"})
    assert response.status_code == 400
    assert response.is_json


def test_login_form_without_csrf_is_refused(client, lab):
    user = factories.user(lab)
    response = client.post("/logg-inn", data={"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 400


@pytest.mark.parametrize("path, personal", [("/logg-inn", False), ("/", True), ("/api/v1/me", True)])
def test_security_headers(lab, login, path, personal):
    signed_in = login(factories.user(lab))
    response = signed_in.get(path)
    headers = response.headers
    assert headers["Content-Security-Policy"] == CSP
    assert "unsafe-inline" not in CSP and "frame-ancestors 'none'" in CSP
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cache-Control"] == "no-store"


def test_static_files_may_be_cached(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert response.headers.get("Cache-Control") != "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_body_over_the_limit_gets_413(app, lab, login):
    signed_in = login(factories.user(lab, roles=("admin",)))
    too_big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = signed_in.post("/admin/etater/ny", data={"name": too_big, "kind": "nav"})
    assert response.status_code == 413
    api = signed_in.post("/api/v1/agencies", data=too_big, content_type="application/json")
    assert api.status_code == 413
    assert api.is_json and api.get_json()["status"] == 413


def test_failed_logins_per_account_get_429(app, client, lab):
    user = factories.user(lab)
    app.config["LOGIN_LIMITS"] = "3 per 15 minutes"
    try:
        statuses = [factories.login_client(client, user.email, "wrong password").status_code for _ in range(4)]
        assert statuses == [422, 422, 422, 429]
        # Even the right password is refused while the account is limited, and the page says how
        # long the lock-out can last (the limit's window).
        refused = factories.login_client(client, user.email, factories.PASSWORD)
        assert refused.status_code == 429
        assert "Vent høyst 15 minutter" in refused.get_data(as_text=True)
        # Another account from the same address is not locked by this account's failures.
        other = factories.user(lab)
        assert factories.login_client(client, other.email, factories.PASSWORD).status_code == 302
    finally:
        app.config["LOGIN_LIMITS"] = "10 per 15 minutes"


def test_failed_logins_per_address_get_429(app, client, lab):
    app.config["LOGIN_ADDRESS_LIMITS"] = "3 per 15 minutes"
    try:
        emails = [factories.user(lab).email for _ in range(4)]
        statuses = [factories.login_client(client, email, "wrong password").status_code for email in emails]
        assert statuses == [422, 422, 422, 429]
        response = factories.login_client(client, emails[0], "wrong password")
        assert response.status_code == 429
        assert "For mange forsøk" in response.get_data(as_text=True)
    finally:
        app.config["LOGIN_ADDRESS_LIMITS"] = "30 per 15 minutes"


def test_successful_logins_do_not_count(app, client, lab):
    user = factories.user(lab)
    app.config["LOGIN_LIMITS"] = "2 per 15 minutes"
    try:
        for _ in range(4):
            assert factories.login_client(client, user.email, factories.PASSWORD).status_code == 302
            token = factories.csrf_from(client.get("/").get_data(as_text=True))
            client.post("/logg-ut", headers={"X-CSRFToken": token})
    finally:
        app.config["LOGIN_LIMITS"] = "10 per 15 minutes"


@pytest.mark.parametrize("target, safe", [
    ("/familier/1", True), ("/?a=b", True), ("", False), ("//evil.example/", False),
    ("https://evil.example/", False), ("/\\evil.example", False), ("javascript:alert(1)", False),
    ("/x\r\nLocation: http://evil", False), ("evil.example", False),
])
def test_next_parameter_is_validated(target, safe):
    assert is_safe_redirect(target) is safe


def test_login_honours_only_safe_next(client, lab):
    user = factories.user(lab)
    page = client.get("/logg-inn?next=https://evil.example/")
    token = factories.csrf_from(page.get_data(as_text=True))
    response = client.post("/logg-inn?next=https://evil.example/",
                           data={"email": user.email, "password": factories.PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/"
    client.post("/logg-ut", headers={"X-CSRFToken": factories.csrf_from(client.get("/").get_data(as_text=True))})
    page = client.get("/logg-inn?next=/konto/passord")
    token = factories.csrf_from(page.get_data(as_text=True))
    response = client.post("/logg-inn?next=/konto/passord",
                           data={"email": user.email, "password": factories.PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/konto/passord"


def test_anonymous_page_redirects_to_login_with_next(client):
    response = client.get("/konto/passord")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/logg-inn?next=/konto/passord")
