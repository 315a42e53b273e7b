"""Administrators manage users and agencies in the interface; bad input gets a form message."""

import pytest
from sqlalchemy import select

from tests import factories
from velferdslab.audit.models import AuditEvent
from velferdslab.auth.models import Agency, User


@pytest.fixture
def admin_client(lab, login):
    return login(factories.user(lab, roles=("admin",)))


def test_admin_pages_list_users_and_agencies(admin_client, lab):
    factories.user(lab, name="Synlig Bruker")
    factories.agency(lab, name="Synlig Etat")
    assert "Synlig Bruker" in admin_client.get("/admin/brukere").get_data(as_text=True)
    assert "Synlig Etat" in admin_client.get("/admin/etater").get_data(as_text=True)


def test_other_labs_users_are_not_listed_or_editable(admin_client, ctx):
    stranger = factories.user(factories.lab(), name="Fremmed Bruker")
    assert "Fremmed Bruker" not in admin_client.get("/admin/brukere").get_data(as_text=True)
    assert admin_client.get(f"/admin/brukere/{stranger.id}").status_code == 404


def test_create_user_in_the_interface(admin_client, lab, db_session):
    agency = factories.agency(lab)
    response = admin_client.post("/admin/brukere/ny", data={
        "name": "Ola Nordmann", "email": "ola@test.example", "agency_id": str(agency.id),
        "roles": ["caseworker"], "password": "a long enough password"})
    assert response.status_code == 302
    user = db_session.scalar(select(User).where(User.email == "ola@test.example"))
    assert user.roles == {"caseworker"} and user.agency_id == agency.id
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "user.create",
                                                      AuditEvent.object_id == str(user.id)))


@pytest.mark.parametrize("data, message", [
    ({"name": "", "email": "a@test.example", "roles": ["caseworker"], "password": "long enough password"},
     "Feltet må fylles ut."),
    ({"name": "A", "email": "ikke-epost", "roles": ["caseworker"], "password": "long enough password"},
     "Ugyldig e-postadresse."),
    ({"name": "A", "email": "a@test.example", "roles": [], "password": "long enough password"},
     "Velg minst én rolle."),
    ({"name": "A", "email": "a@test.example", "roles": ["caseworker"], "password": "kort"},
     "Passordet må ha 12–200 tegn."),
    ({"name": "A", "email": "a@test.example", "roles": ["caseworker"]}, "Nye brukere må få et passord."),
    ({"name": "A" * 201, "email": "a@test.example", "roles": ["caseworker"], "password": "long enough password"},
     "200"),
    ({"name": "A", "email": "a@test.example", "roles": ["superuser"], "password": "long enough password"},
     '<a href="#roles">Roller:'),
])
def test_bad_user_input_gets_a_message_and_changes_nothing(admin_client, db_session, data, message):
    before = db_session.scalar(select(User.id).order_by(User.id.desc()).limit(1))
    response = admin_client.post("/admin/brukere/ny", data={"agency_id": "0", **data})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db_session.scalar(select(User.id).order_by(User.id.desc()).limit(1)) == before


def test_duplicate_email_is_a_form_message(admin_client, lab):
    existing = factories.user(lab)
    response = admin_client.post("/admin/brukere/ny", data={
        "name": "X", "email": existing.email.upper(), "agency_id": "0", "roles": ["caseworker"],
        "password": "a long enough password"})
    assert response.status_code == 422
    assert "E-postadressen er allerede i bruk." in response.get_data(as_text=True)


def test_edit_keeps_nothing_half_changed_when_the_password_is_refused(admin_client, lab, db_session):
    user = factories.user(lab, name="Før Endring")
    response = admin_client.post(f"/admin/brukere/{user.id}", data={
        "name": "Etter Endring", "email": user.email, "agency_id": "0", "roles": ["caseworker"],
        "active": "y", "password": "kort"})
    assert response.status_code == 422
    db_session.expire_all()
    assert db_session.get(User, user.id).name == "Før Endring"


def test_admin_cannot_lock_themselves_out(lab, login, db_session):
    admin = factories.user(lab, roles=("admin",))
    client = login(admin)
    response = client.post(f"/admin/brukere/{admin.id}", data={
        "name": admin.name, "email": admin.email, "agency_id": "0", "roles": ["caseworker"], "active": "y"})
    assert response.status_code == 422
    db_session.expire_all()
    assert "admin" in db_session.get(User, admin.id).roles


def test_agency_create_edit_and_bad_input(admin_client, lab, db_session):
    assert admin_client.post("/admin/etater/ny", data={"name": "Bolig Vest", "kind": "bolig"}).status_code == 302
    agency = db_session.scalar(select(Agency).where(Agency.name == "Bolig Vest"))
    response = admin_client.post(f"/admin/etater/{agency.id}", data={"name": "Bolig Øst", "kind": "bolig"})
    assert response.status_code == 302
    db_session.expire_all()
    assert db_session.get(Agency, agency.id).name == "Bolig Øst"
    assert db_session.get(Agency, agency.id).active is False  # unchecked box
    assert admin_client.post("/admin/etater/ny", data={"name": "", "kind": "nav"}).status_code == 422
    assert admin_client.post("/admin/etater/ny", data={"name": "X", "kind": "rakett"}).status_code == 422
    clash = admin_client.post("/admin/etater/ny", data={"name": "Bolig Øst", "kind": "bolig"})
    assert clash.status_code == 422
    assert "Det finnes allerede en etat med dette navnet." in clash.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/admin/brukere", "/admin/brukere/ny", "/admin/etater", "/admin/etater/ny"])
@pytest.mark.parametrize("role", ["caseworker", "team_lead", "manager"])
def test_admin_pages_are_forbidden_to_other_roles(lab, login, path, role):
    client = login(factories.user(lab, roles=(role,)))
    assert client.get(path).status_code == 403


def test_own_password_change_and_token_pages(lab, login):
    user = factories.user(lab)
    client = login(user)
    wrong = client.post("/konto/passord", data={
        "current_password": "wrong", "new_password": "new long password", "confirm": "new long password"})
    assert wrong.status_code == 422
    assert "Nåværende passord er feil." in wrong.get_data(as_text=True)
    mismatch = client.post("/konto/passord", data={
        "current_password": factories.PASSWORD, "new_password": "new long password", "confirm": "other"})
    assert mismatch.status_code == 422
    made = client.post("/konto/nokler", data={"name": "Mitt skript"})
    assert made.status_code == 200
    assert "Kopier nøkkelen nå" in made.get_data(as_text=True)
    assert "vlt_" in made.get_data(as_text=True)
    again = client.get("/konto/nokler").get_data(as_text=True)
    assert "Mitt skript" in again and "Kopier nøkkelen nå" not in again
