"""Item 23: passwords are refused when common or built from the user's own context.

zxcvbn (a maintained estimator on PyPI) judges how guessable a password is, with the user's name,
e-mail, the demo password and a few Norwegian words it would not know; a password built from the
name or e-mail, or the demo password, is refused outright. Every way a password is set goes through
``auth.services.check_password_strength``: the admin form and API, the own-password form, the CLI.
"""

from __future__ import annotations

import pytest

from tests import factories
from velferdslab.auth.passwords import password_problem

NAME, EMAIL = "Kari Nordmann", "kari.nordmann@asker.kommune.no"
COMMON = ["passord123456", "Sommer2024!!", "qwertyuiop123", "123456789012345", "Passord123!Passord",
          "Velferdslab2026!", "iloveyou12345"]
CONTEXT = ["Kari Nordmann 1985", "kari.nordmann2024", "nordmannkari99", "KariKariKari2024"]
DEMO = ["velferdslab-demo", "Velferdslab-Demo!", "velferdslab-demo-2026"]
GOOD = ["correct horse battery staple", "et langt og godt passord 42", "Tre blå sykler under brua"]


@pytest.mark.parametrize("password", COMMON)
def test_common_passwords_are_refused(app, password):
    with app.test_request_context():
        assert "for lett å gjette" in password_problem(password, name=NAME, email=EMAIL)


@pytest.mark.parametrize("password", CONTEXT)
def test_passwords_built_from_name_or_email_are_refused(app, password):
    with app.test_request_context():
        assert "navn eller e-postadresse" in password_problem(password, name=NAME, email=EMAIL)


@pytest.mark.parametrize("password", DEMO)
def test_the_demo_password_is_refused(app, password):
    with app.test_request_context():
        assert "Demopassordet" in password_problem(password, name=NAME, email=EMAIL)


@pytest.mark.parametrize("password", GOOD)
def test_good_passphrases_pass(app, password):
    with app.test_request_context():
        assert password_problem(password, name=NAME, email=EMAIL) is None


def test_api_refuses_a_common_and_a_context_password_with_422(lab, login):
    client = login(factories.user(lab, roles=("admin",)))
    body = {"name": NAME, "email": EMAIL, "roles": ["caseworker"]}
    for password in ("Sommer2024!!", "Kari Nordmann 1985", "velferdslab-demo"):
        response = client.post("/api/v1/users", json={**body, "password": password})
        assert response.status_code == 422, (password, response.get_data(as_text=True))
        assert "password" in response.get_json()["errors"]
    assert client.post("/api/v1/users", json={**body, "password": GOOD[0]}).status_code == 201


def test_admin_reset_form_refuses_the_users_own_name(lab, login):
    admin = login(factories.user(lab, roles=("admin",)))
    user = factories.user(lab, name=NAME)
    url = f"/admin/brukere/{user.id}"
    token = factories.csrf_from(admin.get(url).get_data(as_text=True))
    response = admin.post(url, data={"csrf_token": token, "name": NAME, "email": user.email,
                                     "roles": ["caseworker"], "agency_id": "0", "active": "y",
                                     "password": "KariNordmann2026"})
    assert response.status_code == 422
    assert "Passordet kan ikke bygge på brukerens navn eller e-postadresse." in response.get_data(as_text=True)


def test_own_password_change_refuses_the_demo_password(lab, login):
    client = login(factories.user(lab))
    response = client.post("/konto/passord", data={"current_password": factories.PASSWORD,
                                                   "new_password": "velferdslab-demo",
                                                   "confirm": "velferdslab-demo"})
    assert response.status_code == 422
    assert "Demopassordet kan ikke brukes som passord." in response.get_data(as_text=True)
