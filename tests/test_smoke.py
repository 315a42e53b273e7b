from tests import factories


def test_login_lands_on_start_page(client, lab):
    user = factories.user(lab, roles=("caseworker",), name="Kari Nordmann")
    response = factories.login_client(client, user.email, factories.PASSWORD)
    assert response.status_code == 302
    page = client.get("/")
    assert page.status_code == 200
    assert "Hei, Kari Nordmann" in page.get_data(as_text=True)
