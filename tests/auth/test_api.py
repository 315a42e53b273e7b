"""The API base: JSON errors, tokens, the OpenAPI document, unknown fields, admin endpoints."""

import pytest
from sqlalchemy import select

from tests import factories
from velferdslab.auth.models import Agency, ApiToken, User


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_openapi_document_lists_the_api(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/me" in document["paths"]
    assert "/api/v1/users" in document["paths"]
    assert "bearerAuth" in document["components"]["securitySchemes"]


def test_anonymous_api_gets_json_401(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.get_json()["status"] == 401


def test_token_acts_as_its_user_without_csrf_and_is_revocable(app, lab, login, db_session):
    user = factories.user(lab, roles=("admin",), name="Skript Eier")
    signed_in = login(user)
    created = signed_in.post("/api/v1/tokens", json={"name": "rapportskript"})
    assert created.status_code == 201
    plain = created.get_json()["token"]
    assert plain.startswith("vlt_")
    # Stored hashed: the plain value is nowhere in the database.
    stored = db_session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert plain not in (stored.token_hash, stored.prefix) and len(stored.token_hash) == 64
    # Listing never shows the value again.
    assert all("token" not in t for t in signed_in.get("/api/v1/tokens").get_json())

    script = app.test_client()
    me = script.get("/api/v1/me", headers=_bearer(plain))
    assert me.status_code == 200 and me.get_json()["name"] == "Skript Eier"
    # A write with a token needs no CSRF token (browsers never send bearer tokens by themselves).
    made = script.post("/api/v1/agencies", json={"name": "Via token", "kind": "nav"}, headers=_bearer(plain))
    assert made.status_code == 201

    assert signed_in.delete(f"/api/v1/tokens/{stored.id}").status_code == 204
    assert script.get("/api/v1/me", headers=_bearer(plain)).status_code == 401


def test_token_of_a_disabled_user_stops_working(app, lab, login, ctx):
    from velferdslab.auth import services

    user = factories.user(lab)
    _token, plain = services.create_api_token(user, "x")
    client = app.test_client()
    assert client.get("/api/v1/me", headers=_bearer(plain)).status_code == 200
    services.set_active(user, False)
    assert client.get("/api/v1/me", headers=_bearer(plain)).status_code == 401


def test_a_bad_bearer_token_does_not_fall_back_to_the_cookie(lab, login):
    signed_in = login(factories.user(lab))
    assert signed_in.get("/api/v1/me").status_code == 200
    assert signed_in.get("/api/v1/me", headers=_bearer("vlt_forged")).status_code == 401


def test_validation_errors_are_422_with_field_messages(lab, login):
    signed_in = login(factories.user(lab, roles=("admin",)))
    response = signed_in.post("/api/v1/agencies", json={"name": "", "kind": "ukjent"})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"name", "kind"}
    assert all(isinstance(messages, list) and messages for messages in errors.values())


@pytest.mark.parametrize("extra", [{"role": "admin"}, {"lab_id": 999}, {"id": 5}, {"approved_by": 1}])
def test_unknown_or_forbidden_fields_get_422_and_change_nothing(lab, login, db_session, extra):
    admin = factories.user(lab, roles=("admin",))
    target = factories.user(lab, name="Uendret")
    signed_in = login(admin)
    response = signed_in.patch(f"/api/v1/users/{target.id}", json={"name": "Endret", **extra})
    assert response.status_code == 422
    assert set(extra) <= set(response.get_json()["errors"])
    db_session.expire_all()
    assert db_session.get(User, target.id).name == "Uendret"


@pytest.mark.parametrize("body", ["not json", "[1,2]", '{"name": 5, "kind": "nav"}', '{"name": null}'])
def test_malformed_bodies_never_500(lab, login, body):
    signed_in = login(factories.user(lab, roles=("admin",)))
    response = signed_in.post("/api/v1/agencies", data=body, content_type="application/json")
    assert response.status_code in (400, 422)
    assert response.is_json


def test_role_without_permission_gets_403(lab, login):
    signed_in = login(factories.user(lab, roles=("caseworker",)))
    assert signed_in.get("/api/v1/users").status_code == 403
    assert signed_in.post("/api/v1/agencies", json={"name": "x", "kind": "nav"}).status_code == 403


def test_users_of_another_lab_are_404(lab, login, ctx):
    other_lab = factories.lab()
    stranger = factories.user(other_lab)
    signed_in = login(factories.user(lab, roles=("admin",)))
    assert signed_in.get(f"/api/v1/users/{stranger.id}").status_code == 404
    assert signed_in.patch(f"/api/v1/users/{stranger.id}", json={"name": "x"}).status_code == 404
    assert signed_in.get("/api/v1/users/999999").status_code == 404


def test_admin_creates_and_disables_a_user_through_the_api(app, lab, login, db_session):
    agency = factories.agency(lab)
    signed_in = login(factories.user(lab, roles=("admin",)))
    response = signed_in.post("/api/v1/users", json={
        "name": "Ny Bruker", "email": "Ny.Bruker@Test.example", "password": "a long enough password",
        "roles": ["caseworker", "team_lead"], "agency_id": agency.id})
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["email"] == "ny.bruker@test.example"
    assert created["roles"] == ["caseworker", "team_lead"]
    assert "password" not in created
    duplicate = signed_in.post("/api/v1/users", json={
        "name": "Igjen", "email": "ny.bruker@test.example", "password": "a long enough password",
        "roles": ["caseworker"]})
    assert duplicate.status_code == 409
    assert "email" in duplicate.get_json()["errors"]
    disabled = signed_in.patch(f"/api/v1/users/{created['id']}", json={"active": False})
    assert disabled.status_code == 200 and disabled.get_json()["active"] is False


def test_agency_of_another_lab_cannot_be_assigned(lab, login, ctx):
    foreign = factories.agency(factories.lab())
    signed_in = login(factories.user(lab, roles=("admin",)))
    response = signed_in.post("/api/v1/users", json={
        "name": "X", "email": "x@test.example", "password": "a long enough password",
        "roles": ["caseworker"], "agency_id": foreign.id})
    assert response.status_code == 422
    assert "agency_id" in response.get_json()["errors"]


def test_agency_names_are_unique_per_lab(lab, login, db_session):
    signed_in = login(factories.user(lab, roles=("admin",)))
    assert signed_in.post("/api/v1/agencies", json={"name": "NAV Test", "kind": "nav"}).status_code == 201
    again = signed_in.post("/api/v1/agencies", json={"name": "NAV Test", "kind": "nav"})
    assert again.status_code == 409
    count = len(db_session.scalars(select(Agency).where(Agency.name == "NAV Test")).all())
    assert count == 1


@pytest.mark.parametrize("value", [10**20, -1, 0, 1.5, "3", True])
def test_id_fields_outside_what_a_column_holds_get_422(lab, login, value):
    signed_in = login(factories.user(lab, roles=("admin",)))
    response = signed_in.post("/api/v1/users", json={
        "name": "X", "email": "x@test.example", "password": "a long enough password",
        "roles": ["caseworker"], "agency_id": value})
    assert response.status_code == 422
    assert "agency_id" in response.get_json()["errors"]


def test_path_ids_beyond_32_bits_are_404(lab, login):
    signed_in = login(factories.user(lab, roles=("admin",)))
    assert signed_in.get(f"/api/v1/users/{2**31}").status_code == 404
    assert signed_in.get(f"/api/v1/users/{10**20}").status_code == 404
    assert signed_in.get("/admin/brukere/99999999999999999999").status_code == 404
