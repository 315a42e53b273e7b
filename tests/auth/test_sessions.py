"""Sessions: a new one at login, dead after logout / password change / disabling, timeouts."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests import factories
from velferdslab.auth.models import AuthSession
from velferdslab.core.models import utcnow


def _cookie(client):
    cookie = client.get_cookie("velferdslab_session")
    return cookie.value if cookie else None


def _copy_cookie(app, value):
    thief = app.test_client()
    thief.set_cookie("velferdslab_session", value, domain="localhost")
    return thief


def test_cookie_flags(client, lab):
    user = factories.user(lab)
    response = factories.login_client(client, user.email, factories.PASSWORD)
    header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Secure" not in header  # development/testing only; production sets Secure (test_config)


def test_login_starts_a_new_session(client, lab):
    user = factories.user(lab)
    client.get("/logg-inn")
    before = _cookie(client)
    factories.login_client(client, user.email, factories.PASSWORD)
    after = _cookie(client)
    assert after and after != before
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("how", ["logout", "password_change", "disabled", "admin_password_reset"])
def test_copied_cookie_dies(app, lab, login, how):
    user = factories.user(lab)
    admin = factories.user(lab, roles=("admin",))
    victim = login(user)
    stolen = _copy_cookie(app, _cookie(victim.client))
    assert stolen.get("/").status_code == 200

    if how == "logout":
        assert victim.post("/logg-ut").status_code == 302
    elif how == "password_change":
        response = victim.post("/konto/passord", data={
            "current_password": factories.PASSWORD, "new_password": "a brand new passphrase",
            "confirm": "a brand new passphrase"})
        assert response.status_code == 302
        # The person who changed it stays signed in, on a new session.
        assert victim.get("/").status_code == 200
    elif how == "disabled":
        admin_client = login(admin)
        response = admin_client.post(f"/admin/brukere/{user.id}", data={
            "name": user.name, "email": user.email, "agency_id": "0", "roles": ["caseworker"]})
        assert response.status_code == 302  # 'active' unchecked: disabled
    else:
        admin_client = login(admin)
        response = admin_client.post(f"/admin/brukere/{user.id}", data={
            "name": user.name, "email": user.email, "agency_id": "0", "roles": ["caseworker"],
            "active": "y", "password": "reset by the administrator"})
        assert response.status_code == 302

    response = stolen.get("/")
    assert response.status_code == 302
    assert "/logg-inn" in response.headers["Location"]
    assert stolen.get("/api/v1/me").status_code == 401


def test_idle_timeout(client, lab, db_session):
    user = factories.user(lab)
    factories.login_client(client, user.email, factories.PASSWORD)
    assert client.get("/").status_code == 200
    row = db_session.scalar(select(AuthSession).where(AuthSession.user_id == user.id))
    row.last_seen_at = utcnow() - timedelta(minutes=31)
    db_session.flush()
    assert client.get("/").status_code == 302


def test_activity_keeps_the_session_alive(client, lab, db_session):
    user = factories.user(lab)
    factories.login_client(client, user.email, factories.PASSWORD)
    row = db_session.scalar(select(AuthSession).where(AuthSession.user_id == user.id))
    row.last_seen_at = utcnow() - timedelta(minutes=29)
    db_session.flush()
    assert client.get("/").status_code == 200
    db_session.refresh(row)
    assert utcnow() - row.last_seen_at < timedelta(minutes=1)


def test_absolute_timeout(client, lab, db_session):
    user = factories.user(lab)
    factories.login_client(client, user.email, factories.PASSWORD)
    row = db_session.scalar(select(AuthSession).where(AuthSession.user_id == user.id))
    row.created_at = utcnow() - timedelta(hours=12, minutes=1)
    row.last_seen_at = utcnow()
    db_session.flush()
    assert client.get("/").status_code == 302


def test_passwords_are_argon2id(lab):
    user = factories.user(lab, password="another long passphrase")
    assert user.password_hash.startswith("$argon2id$")


def test_disabled_user_cannot_sign_in(client, lab):
    user = factories.user(lab, active=False)
    response = factories.login_client(client, user.email, factories.PASSWORD)
    assert response.status_code == 422
    assert "Feil e-post eller passord." in response.get_data(as_text=True)


def test_the_sign_in_page_states_the_configured_limits(app, client, monkeypatch):
    """Issue 13: the limits on the page are the configured ones, not hard-coded."""
    monkeypatch.setitem(app.config, "SESSION_IDLE_TIMEOUT", timedelta(minutes=45))
    monkeypatch.setitem(app.config, "SESSION_ABSOLUTE_TIMEOUT", timedelta(hours=8))
    page = client.get("/logg-inn").get_data(as_text=True)
    assert "etter 45 minutter uten aktivitet og senest etter 8 timer" in page


def test_the_language_switch_keeps_the_query_string(lab, login):
    client = login(factories.user(lab))
    page = client.get("/familier?q=Berg").get_data(as_text=True)
    assert "next=/familier?q%3DBerg" in page or "next=%2Ffamilier%3Fq%3DBerg" in page
    response = client.get("/sprak/en?next=/familier?q%3DBerg")
    assert response.status_code in (302, 303) and response.headers["Location"].endswith("/familier?q=Berg")
