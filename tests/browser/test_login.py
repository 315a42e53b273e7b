import pytest

from tests.browser.conftest import axe_serious, sign_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("role, heading_text", [
    ("caseworker", "Hei, Tina Teammedlem"),
    ("team_lead", "Hei, Ivar Investeringsleder"),
    ("manager", "Hei, Lena Lableder"),
    ("admin", "Hei, Astrid Admin"),
])
def test_every_demo_role_signs_in_to_its_start_page(page, role, heading_text):
    sign_in(page, role)
    assert page.get_by_role("heading", level=1).inner_text() == heading_text
    # The start page speaks Norwegian and offers the role's own menu.
    assert page.locator("html").get_attribute("lang") == "nb"
    nav = page.get_by_role("navigation", name="Hovedmeny")
    if role == "admin":
        assert nav.get_by_role("link", name="Brukere").is_visible()
    else:
        assert nav.get_by_role("link", name="Brukere").count() == 0


def test_wrong_password_shows_a_norwegian_message(page):
    page.goto("/logg-inn")
    page.get_by_label("E-post").fill("teammedlem@asker.demo.velferdslab.no")
    page.get_by_label("Passord").fill("feil passord")
    page.get_by_role("button", name="Logg inn").click()
    assert page.get_by_text("Feil e-post eller passord.").first.is_visible()


@pytest.mark.parametrize("path, role", [
    ("/logg-inn", None),
    ("/", "caseworker"),
    ("/", "admin"),
    ("/admin/brukere", "admin"),
    ("/admin/brukere/ny", "admin"),
    ("/admin/etater", "admin"),
    ("/konto/passord", "caseworker"),
    ("/konto/nokler", "caseworker"),
])
def test_pages_have_no_serious_accessibility_violations(page, path, role):
    if role:
        sign_in(page, role)
    page.goto(path)
    assert axe_serious(page) == []
