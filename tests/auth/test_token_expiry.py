"""Issue 12, item 12: API tokens end with a new password (own or reset), after their lifetime and
after an idle time unused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner

from tests import factories
from velferdslab.auth import services
from velferdslab.core.models import utcnow
from velferdslab.extensions import db

NEW_PASSWORD = "Fjellrev-Lavvo-Kanel-91"


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def _works(app, plain) -> bool:
    status = app.test_client().get("/api/v1/me", headers=_bearer(plain)).status_code
    assert status in (200, 401)
    return status == 200


def test_changing_the_own_password_ends_every_token(app, lab, login):
    user = factories.user(lab)
    client = login(user)
    plains = [client.post("/api/v1/tokens", json={"name": f"skript {n}"}).get_json()["token"] for n in range(2)]
    assert all(_works(app, p) for p in plains)
    services.change_own_password(user, factories.PASSWORD, NEW_PASSWORD)
    assert not any(_works(app, p) for p in plains)


def test_an_administrators_reset_ends_every_token(app, lab, login):
    admin = factories.user(lab, roles=("admin",))
    user = factories.user(lab)
    _token, plain = services.create_api_token(user, "skript")
    assert _works(app, plain)
    services.set_password(user, NEW_PASSWORD, actor=admin)
    assert not _works(app, plain)


def test_the_cli_reset_ends_every_token(app, lab, ctx):
    from velferdslab.cli import user as user_group

    user = factories.user(lab)
    _token, plain = services.create_api_token(user, "skript")
    db.session.flush()
    result = CliRunner().invoke(user_group, ["reset-password", user.email], input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
                                obj=None, catch_exceptions=False, standalone_mode=False)
    assert result.exception is None, result.output
    assert not _works(app, plain)


def test_a_token_shows_when_it_ends_and_stops_working_then(app, lab, login):
    user = factories.user(lab)
    client = login(user)
    created = client.post("/api/v1/tokens", json={"name": "kort", "expires_in_days": 7}).get_json()
    token = db.session.get(services.ApiToken, created["id"])
    assert abs(token.expires_at - (token.created_at + timedelta(days=7))) < timedelta(seconds=1)
    assert created["expires_at"].startswith(token.expires_at.date().isoformat())
    default = client.post("/api/v1/tokens", json={"name": "vanlig"}).get_json()
    assert db.session.get(services.ApiToken, default["id"]).expires_at.date() == \
        (utcnow() + app.config["API_TOKEN_LIFETIME"]).date()
    assert app.config["API_TOKEN_LIFETIME"] == timedelta(days=90)
    assert _works(app, created["token"])
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.flush()
    assert not _works(app, created["token"])
    assert _works(app, default["token"])


def test_an_unused_token_ends_after_the_idle_time(app, lab, ctx):
    user = factories.user(lab)
    token, plain = services.create_api_token(user, "glemt")
    idle = app.config["API_TOKEN_IDLE_TIMEOUT"]
    token.created_at = utcnow() - idle + timedelta(minutes=5)
    db.session.flush()
    assert _works(app, plain)  # used now: the idle time starts again
    db.session.refresh(token)
    token.last_used_at = utcnow() - idle - timedelta(minutes=1)
    db.session.flush()
    assert not _works(app, plain)


@pytest.mark.parametrize("days", [0, 366, -1, "mange"])
def test_a_lifetime_out_of_range_is_a_422(lab, login, days):
    response = login(factories.user(lab)).post("/api/v1/tokens", json={"name": "x", "expires_in_days": days})
    assert response.status_code == 422 and "expires_in_days" in response.get_json()["errors"]


def test_the_page_shows_the_end_of_a_new_token(lab, login):
    client = login(factories.user(lab))
    page = client.get("/konto/nokler").get_data(as_text=True)
    response = client.post("/konto/nokler", data={"csrf_token": factories.csrf_from(page), "name": "rapport"})
    html = response.get_data(as_text=True)
    assert "Nøkkelen virker til" in html and "Utløper" in html
