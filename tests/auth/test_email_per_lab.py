"""Issue 12, item 16: an administrator learns nothing about another lab's addresses."""

from __future__ import annotations

from click.testing import CliRunner

from tests import factories
from velferdslab.auth import services
from velferdslab.auth.models import User
from velferdslab.extensions import db

PASSWORD = "Fjellrev-Lavvo-Kanel-91"


def test_creating_a_user_with_an_address_of_another_lab_works_like_any_new_address(lab, login):
    other_lab = factories.lab()
    factories.user(other_lab, email="kari@kommune.example")
    admin = login(factories.user(lab, roles=("admin",)))
    response = admin.post("/api/v1/users", json={"name": "Kari", "email": "Kari@Kommune.example",
                                                 "password": PASSWORD, "roles": ["caseworker"]})
    assert response.status_code == 201, response.get_json()
    # Within the lab an address is still unique.
    again = admin.post("/api/v1/users", json={"name": "Kari 2", "email": "kari@kommune.example",
                                              "password": PASSWORD, "roles": ["caseworker"]})
    assert again.status_code == 409 and "email" in again.get_json()["errors"]


def test_sign_in_finds_the_user_whose_password_matches(app, lab, ctx):
    other_lab = factories.lab()
    here = factories.user(lab, email="ola@kommune.example", password=PASSWORD)
    there = factories.user(other_lab, email="ola@kommune.example", password=PASSWORD + "-annet")
    assert services.authenticate("ola@kommune.example", PASSWORD) is here
    assert services.authenticate("OLA@kommune.example", PASSWORD + "-annet") is there
    assert services.authenticate("ola@kommune.example", "feil-passord-123") is None


def test_the_same_password_in_two_labs_signs_nobody_in(lab, ctx):
    other_lab = factories.lab()
    factories.user(lab, email="per@kommune.example", password=PASSWORD)
    factories.user(other_lab, email="per@kommune.example", password=PASSWORD)
    assert services.authenticate("per@kommune.example", PASSWORD) is None


def test_the_cli_asks_which_lab_when_an_address_is_in_several(app, lab, ctx):
    from velferdslab.cli import user as user_group

    other_lab = factories.lab()
    factories.user(lab, email="liv@kommune.example")
    target = factories.user(other_lab, email="liv@kommune.example")
    db.session.flush()
    runner = CliRunner()
    ambiguous = runner.invoke(user_group, ["disable", "liv@kommune.example"], standalone_mode=False)
    assert ambiguous.exception is not None and "--lab" in str(ambiguous.exception) + ambiguous.output
    done = runner.invoke(user_group, ["disable", "liv@kommune.example", "--lab", other_lab.slug],
                         standalone_mode=False, catch_exceptions=False)
    assert done.exception is None, done.output
    assert db.session.get(User, target.id).active is False
