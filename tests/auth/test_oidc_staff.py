"""Staff sign-in with OpenID Connect (issue 16) against the suite's real provider: the user is
found by the configured e-mail claim, roles are kept in the app or mapped from a claim, and
password sign-in can be switched off."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests import factories
from tests.support.oidc import configured, sign_in_at_provider
from velferdslab import config
from velferdslab.audit.actions import AuditAction
from velferdslab.audit.models import AuditEvent
from velferdslab.extensions import db


def staff_sign_in(app, username: str):
    client = app.test_client()
    page = client.get("/logg-inn")
    assert "Logg inn med kommunens innlogging" in page.get_data(as_text=True)
    started = client.get("/logg-inn/oidc")
    assert started.status_code == 302
    return client, client.get(sign_in_at_provider(started.headers["Location"], username, acr=""))


def test_staff_sign_in_keeps_the_roles_the_app_has(oidc_app, lab):
    user = factories.user(lab, roles=("caseworker",), email="lea.leder@kommune.example")
    client, response = staff_sign_in(oidc_app, "lead")
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
    assert client.get("/konto/passord").status_code == 200
    assert user.roles == {"caseworker"}
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == str(AuditAction.AUTH_LOGIN)))
    assert event.actor_id == user.id and event.summary == {"method": "oidc"}


def test_staff_roles_are_mapped_from_the_configured_claim(app, oidc_provider, lab):
    user = factories.user(lab, roles=("caseworker",), email="lea.leder@kommune.example")
    factories.user(lab, roles=("caseworker",), email="nils@kommune.example")
    with configured(
        app, oidc_provider, OIDC_STAFF_ROLES_CLAIM="roles", OIDC_STAFF_ROLE_MAP={"Velferdslab.Lead": "team_lead"}
    ):
        client, response = staff_sign_in(app, "lead")
        assert response.status_code == 302
        db.session.refresh(user)
        assert user.roles == {"team_lead"}
        assert client.get("/familier/ny").status_code == 200  # teams.manage, from the mapped role
        _client, refused = staff_sign_in(app, "nobody")  # no value that maps to a role
        assert refused.status_code == 400
        refused_action = AuditEvent.action == str(AuditAction.AUTH_OIDC_REFUSED)
        event = db.session.scalars(select(AuditEvent).where(refused_action)).all()
        assert event[-1].summary == {"provider": "staff", "reason": "no_role"}


def test_an_unknown_or_disabled_user_is_refused(oidc_app, lab):
    _client, response = staff_sign_in(oidc_app, "lead")
    assert response.status_code == 400
    factories.user(lab, email="lea.leder@kommune.example", active=False)
    _client, response = staff_sign_in(oidc_app, "lead")
    assert response.status_code == 400
    reasons = [
        e.summary["reason"]
        for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == str(AuditAction.AUTH_OIDC_REFUSED)))
    ]
    assert reasons == ["unknown_user", "user_disabled"]


def test_password_sign_in_switched_off_shows_only_the_oidc_button(app, oidc_provider, lab):
    user = factories.user(lab)
    client = app.test_client()
    token = factories.csrf_from(client.get("/logg-inn").get_data(as_text=True))  # while the form was there
    with configured(app, oidc_provider, PASSWORD_LOGIN=False):
        html = client.get("/logg-inn").get_data(as_text=True)
        assert 'name="password"' not in html and "Logg inn med kommunens innlogging" in html
        response = client.post(
            "/logg-inn", data={"email": user.email, "password": factories.PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 403
        assert client.get("/konto/passord").status_code == 302


@pytest.mark.parametrize(
    "env, message",
    [
        ({"PASSWORD_LOGIN": "off"}, "PASSWORD_LOGIN=off needs staff sign-in"),
        ({"OIDC_STAFF_ISSUER": "https://login.example/v2.0"}, "OIDC_STAFF_CLIENT_ID is not set"),
        ({"OIDC_STAFF_ISSUER": "https://login.example/v2.0", "OIDC_STAFF_CLIENT_ID": "x"}, "OIDC_STAFF_CLIENT_SECRET"),
        ({"OIDC_STAFF_ROLE_MAP": "Lead"}, "OIDC_STAFF_ROLE_MAP must be"),
    ],
)
def test_oidc_settings_are_checked_in_development(monkeypatch, tmp_path, env, message):
    monkeypatch.setenv("VELFERDSLAB_ENV", "development")
    for name, value in env.items():
        monkeypatch.setenv(config.PREFIX + name, value)
    with pytest.raises(SystemExit) as raised:
        config.load(str(tmp_path))
    assert message in str(raised.value)
