"""A caseworker does a whole meeting's work in the browser, and the new pages pass axe."""

import re

import pytest

from tests.browser.conftest import axe_serious, sign_in

pytestmark = pytest.mark.browser

THEMES = ["bolig", "arbeid", "skole", "nettverk", "okonomi", "helse", "oppvekst"]


def _open_family(page) -> str:
    """From *Mine familier*, open an active family whose consent covers the caseworker's agency."""
    page.goto("/familier")
    rows = page.locator("section.my-families tbody tr")
    for i in range(rows.count()):
        row = rows.nth(i)
        text = row.inner_text()
        if "Aktiv" in text and "Ikke samtykke" not in text:
            link = row.get_by_role("link").first
            name = link.inner_text()
            link.click()
            page.wait_for_url(re.compile(r"/familier/\d+$"))
            return name
    raise AssertionError("the demo caseworker has no active family with consent")


def test_a_caseworker_records_a_whole_meeting(page):
    sign_in(page, "caseworker")
    assert page.get_by_role("heading", name="Mine familier").is_visible()
    name = _open_family(page)
    assert page.get_by_role("heading", level=1).inner_text() == name
    page.get_by_role("link", name="Registrer møte og vurdering").click()
    page.wait_for_url(re.compile(r"/moter/ny$"))

    # Who came: the caseworker herself and someone from the family.
    staff = page.locator("#attendee_user_ids input[type=checkbox]")
    page.get_by_label("Tina Teammedlem").check()
    assert staff.count() >= 2
    page.locator("#attendee_member_ids input[type=checkbox]").first.check()
    page.get_by_label("Beslutninger").fill("Teamet søker om fritidskort for barna (nettleser).")
    page.get_by_label("Notater").fill("Gjennomgang av duken.")

    # Every applicable theme, from the team's and the family's perspective (a radio group each).
    themes = [t for t in THEMES if page.locator(f"fieldset#team_{t}").count()]
    assert len(themes) >= 5
    for index, theme in enumerate(themes):
        page.locator(f"fieldset#team_{theme} input[value='3']").check()
        page.locator(f"fieldset#family_{theme} input[value='{2 if index == 0 else 3}']").check()
    page.locator(f"#team_{themes[0]}_note").fill("Bedre enn sist")
    expect_suggestion = page.locator("output.suggestion")
    assert "Stabil" in expect_suggestion.inner_text()

    page.locator("#new_0_title").fill("Søke fritidskort (nettleser)")
    owner = page.locator("#new_0_owner option", has_text="Tina Teammedlem").get_attribute("value")
    page.locator("#new_0_owner").select_option(owner)
    page.locator("#new_0_due_on").fill("2099-01-31")
    page.get_by_role("button", name="Lagre møtet").click()
    page.wait_for_url(re.compile(r"/moter/\d+$"))
    assert page.get_by_text("Møtet er registrert.").is_visible()
    assert page.get_by_text("Teamet søker om fritidskort for barna (nettleser).").is_visible()

    page.get_by_role("link", name=name).first.click()
    page.wait_for_url(re.compile(r"/familier/\d+$"))
    assert page.get_by_role("cell", name=re.compile("Teamet søker om fritidskort")).first.is_visible()
    assert page.get_by_role("link", name="Søke fritidskort (nettleser)").is_visible()
    perspectives = page.locator("table.perspectives")
    assert "Ulik vurdering" in perspectives.inner_text()  # the family rated the first theme differently
    assert "Bedre enn sist" in perspectives.inner_text()
    assert axe_serious(page) == []


def test_a_gated_family_shows_name_team_and_meetings_only(page):
    sign_in(page, "caseworker")
    page.goto("/familier")
    row = page.locator("section.my-families tbody tr", has_text="Ikke samtykke for din etat").first
    row.get_by_role("link").first.click()
    assert page.get_by_text("Familien har ikke gitt gyldig samtykke til din etat.").is_visible()
    assert page.get_by_role("heading", name="Investeringsteamet").is_visible()
    assert page.get_by_role("heading", name="Investeringsferden").count() == 0
    assert page.get_by_role("link", name="Registrer møte og vurdering").count() == 0


def _family_links(page) -> dict[str, str]:
    page.goto("/familier")
    href = page.locator("section.my-families tbody tr", has_text="Aktiv").filter(
        has_not_text="Ikke samtykke").first.get_by_role("link").first.get_attribute("href")
    page.goto(href)
    links = {"family": href}
    for name, key in (("Alle møter", "meetings"),):
        if page.get_by_role("link", name=name).count():
            links[key] = page.get_by_role("link", name=name).get_attribute("href")
    meeting = page.locator("section[aria-labelledby=meetings-h] tbody a").first.get_attribute("href")
    links["meeting"] = meeting
    return links


@pytest.mark.parametrize("role", ["caseworker", "team_lead"])
def test_the_new_pages_have_no_serious_accessibility_violations(page, role):
    sign_in(page, role)
    assert axe_serious(page) == [], "start page (Mine familier)"
    links = _family_links(page)
    family = links["family"]
    paths = [family, f"{family}/moter/ny", f"{family}/plan", f"{family}/team", f"{family}/samtykke",
             f"{family}/vurderinger", f"{family}/deltakelse", f"{family}/tema", f"{family}/medlemmer/ny",
             f"{family}/endre", f"{family}/vurderinger/ny", links["meeting"], "/familier", "/familier?q=a"]
    if role == "team_lead":
        paths.append("/familier/ny")
    for path in paths:
        page.goto(path)
        assert page.locator("h1").count() == 1, path
        assert axe_serious(page) == [], path
    page.goto(f"{family}/vurderinger")
    page.locator("tbody a").first.click()
    assert axe_serious(page) == [], "assessment detail"
    page.get_by_role("link", name="Rett vurderingen").first.click()
    assert axe_serious(page) == [], "correction form"


def test_a_rejected_meeting_form_shows_norwegian_messages_and_passes_axe(page):
    sign_in(page, "caseworker")
    _open_family(page)
    page.get_by_role("link", name="Registrer møte og vurdering").click()
    page.get_by_role("group", name="Bolig").get_by_role("group", name="Teamet", exact=True).get_by_label(
        "Ikke vurdert").check()  # one theme left unrated by the team: it must rate them all
    with page.expect_navigation():  # the page saves its draft first, then sends the form
        page.get_by_role("button", name="Lagre møtet").click()
    assert page.locator(".error-summary[role=alert]").is_visible()
    assert page.get_by_text(re.compile("Teamet må vurdere alle temaene")).first.is_visible()
    assert axe_serious(page) == []
