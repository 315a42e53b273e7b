"""The administrators' page for the report across labs (issue 14): a lab's administrator decides
which county or national users (role ``region``) read the lab's outcome report — the same service
and audit rows as ``velferdslab report-access`` (tests/test_cli.py), form messages for bad input,
and nobody but the lab's administrator sees or changes it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests import factories
from velferdslab.audit.models import AuditEvent
from velferdslab.core.errors import ForbiddenError
from velferdslab.extensions import db
from velferdslab.reports import services
from velferdslab.reports.models import ReportLabAccess

NO_SUCH = "Ingen bruker med rollen «Fylke eller nasjonalt nivå» har denne e-postadressen."
PAGE = "/admin/resultatrapport-tilgang"
REVOKE = "/admin/resultatrapport-tilgang/trekk-tilbake"


@pytest.fixture
def county(lab):
    """The county's own lab with its region user, and a neighbouring lab the user already reads."""
    home, neighbour = factories.lab(), factories.lab()
    region = factories.user(home, roles=("region",), name="Fylkesrådgiver Rita", email="rita@fylke.example")
    db.session.add(ReportLabAccess(user_id=region.id, lab_id=neighbour.id))
    db.session.flush()
    return {"home": home, "neighbour": neighbour, "region": region}


@pytest.fixture
def admin(lab, login):
    return login(factories.user(lab, roles=("admin",), name="Admin Anne"))


def _access(user_id: int) -> set[int]:
    return set(db.session.scalars(select(ReportLabAccess.lab_id).where(ReportLabAccess.user_id == user_id)))


def _readers(client) -> str:
    """The table of the page: who reads the lab's report."""
    page = client.get(PAGE).get_data(as_text=True)
    return page[page.index('id="report-readers"'):page.index("</table>", page.index('id="report-readers"'))]


def _audited(action: str, user_id: int) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action,
                                                            AuditEvent.object_id == str(user_id))))


def test_the_admin_grants_and_revokes_their_lab_and_each_change_is_audited(admin, lab, county, db_session):
    region = county["region"]
    table = _readers(admin)
    assert "Ingen leser resultatrapporten" in table and "Fylkesrådgiver Rita" not in table

    response = admin.post(PAGE, data={"email": " RITA@fylke.example ", "user_lab_id": "0"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert _access(region.id) == {lab.id, county["neighbour"].id}
    granted = _audited("reports.lab_access_grant", region.id)
    assert len(granted) == 1 and granted[0].lab_id == lab.id and granted[0].actor_id is not None
    assert granted[0].summary == {"lab_id": lab.id, "user_lab_id": county["home"].id}

    table = _readers(admin)
    assert "Fylkesrådgiver Rita" in table and county["home"].name in table
    assert county["neighbour"].name in table and lab.name in table  # the labs of the user's report

    response = admin.post(REVOKE, data={"user_id": str(region.id)})
    assert response.status_code == 302
    assert _access(region.id) == {county["neighbour"].id}  # the other lab's grant stays
    revoked = _audited("reports.lab_access_revoke", region.id)
    assert len(revoked) == 1 and revoked[0].lab_id == lab.id
    assert "Fylkesrådgiver Rita" not in _readers(admin)


@pytest.mark.parametrize("data, message", [
    ({"email": ""}, "Feltet må fylles ut."),
    ({"email": "ingen@fylke.example"}, NO_SUCH),
    ({"email": "leder@lab.example"}, NO_SUCH),  # a manager's address: the same answer as nobody's
    ({"email": "rita@fylke.example", "user_lab_id": "nope"}, None),  # an unknown lab: looked for everywhere
    ({"email": "rita@fylke.example", "user_lab_id": "99999999999999999999"}, None),
    ({"email": "x" * 300}, "Feltet kan ikke være lenger enn 254 tegn."),
])
def test_bad_grant_input_gets_a_norwegian_message_and_changes_nothing(admin, lab, county, data, message):
    factories.user(lab, roles=("manager",), email="leder@lab.example")
    before = _access(county["region"].id)
    response = admin.post(PAGE, data=data)
    if message is None:  # not a lab's number: the user is found by the address alone
        assert response.status_code == 302
        return
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Skjemaet har feil" in text and message in text
    assert _access(county["region"].id) == before


def test_a_grant_twice_a_disabled_user_and_several_labs_with_the_address_are_form_messages(admin, lab, county):
    region = county["region"]
    db.session.add(ReportLabAccess(user_id=region.id, lab_id=lab.id))
    db.session.flush()
    again = admin.post(PAGE, data={"email": region.email})
    assert again.status_code == 422 and "Brukeren leser allerede rapporten for denne laben." in again.get_data(
        as_text=True)

    twin = factories.user(factories.lab(), roles=("region",), email=region.email)
    several = admin.post(PAGE, data={"email": region.email})
    assert several.status_code == 422 and "velg brukerens lab" in several.get_data(as_text=True)
    twin.active = False
    db.session.flush()
    disabled = admin.post(PAGE, data={"email": twin.email, "user_lab_id": str(twin.lab_id)})
    assert disabled.status_code == 422 and "Brukeren er deaktivert." in disabled.get_data(as_text=True)
    assert _access(twin.id) == set()


@pytest.mark.parametrize("user_id", ["", "abc", "-1", "99999999999999999999", "0"])
def test_a_bad_revoke_is_a_form_message(admin, county, user_id):
    response = admin.post(REVOKE, data={"user_id": user_id})
    assert response.status_code == 422
    assert "Brukeren leser ikke rapporten for denne laben." in response.get_data(as_text=True)


def test_an_admin_cannot_take_another_labs_grant_away(admin, county):
    """The admin's page acts on their own lab only: the neighbour's grant is not theirs to revoke."""
    response = admin.post(REVOKE, data={"user_id": str(county["region"].id)})
    assert response.status_code == 422
    assert _access(county["region"].id) == {county["neighbour"].id}
    assert _audited("reports.lab_access_revoke", county["region"].id) == []


def test_the_writes_need_the_csrf_token(app, lab, county):
    from tests.factories import login_client

    client = app.test_client()
    user = factories.user(lab, roles=("admin",))
    assert login_client(client, user.email, factories.PASSWORD).status_code == 302
    assert client.post(PAGE, data={"email": county["region"].email}).status_code == 400
    assert client.post(REVOKE, data={"user_id": str(county["region"].id)}).status_code == 400
    assert _access(county["region"].id) == {county["neighbour"].id}


@pytest.mark.parametrize("roles", [("manager",), ("region",), ("caseworker",), ("team_lead",)])
def test_only_administrators_see_or_change_it(lab, county, login, roles):
    client = login(factories.user(lab, roles=roles))
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, data={"email": county["region"].email}).status_code == 403
    assert client.post(REVOKE, data={"user_id": str(county["region"].id)}).status_code == 403
    assert _access(county["region"].id) == {county["neighbour"].id}
    assert "Rapporttilgang for fylke" not in client.get("/").get_data(as_text=True)


def test_signed_out_it_asks_for_a_sign_in(client):
    assert client.get(PAGE).status_code in (302, 401)


def test_the_service_refuses_an_actor_who_is_not_the_labs_administrator(lab, county):
    """The policy rule (``reports.policy``: manage_report_access) holds in the service, whoever calls it."""
    other_admin = factories.user(factories.lab(), roles=("admin",))
    manager = factories.user(lab, roles=("manager",))
    for actor in (other_admin, manager):
        with pytest.raises(ForbiddenError):
            services.grant_lab_access(county["region"], lab, actor=actor)
    with pytest.raises(ForbiddenError):
        services.revoke_lab_access(county["region"], county["neighbour"], actor=other_admin)
    assert _access(county["region"].id) == {county["neighbour"].id}


def test_the_admin_finds_the_page_in_the_menu(admin):
    assert "Rapporttilgang for fylke" in admin.get("/").get_data(as_text=True)
