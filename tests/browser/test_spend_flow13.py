"""Issue 13 in the browser: a caseworker asks for money from the family page in at most 10 clicks,
edits a draft, the lead approves in at most 3 clicks, a rejected request is revised and sent again
with both versions in its history; axe-clean, no sideways scroll, approve buttons in view at 768 px.

Clicks are counted by :class:`Clicks`: every click, check and key press is one; choosing in a
native list box is two (open it, pick); typing into a field is none, but the click that puts the
cursor there counts.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import axe_serious, screenshot, sign_in
from tests.browser.test_budget_flow import led_families, pick_family, sign_out

pytestmark = pytest.mark.browser

WIDTHS = (320, 768, 1024, 1366)


class Clicks:
    """Acts as the user does and counts what it costs."""

    def __init__(self, page) -> None:
        self.page = page
        self.count = 0

    def click(self, locator) -> None:
        locator.click()
        self.count += 1

    def check(self, locator) -> None:
        locator.check()
        self.count += 1

    def press(self, locator, key: str) -> None:
        locator.press(key)
        self.count += 1

    def choose(self, locator, **option) -> None:
        """A native select: one click opens it, one picks the option."""
        locator.select_option(**option)
        self.count += 2

    def type_into(self, locator, text: str) -> None:
        """Click into the field (one) and type (none)."""
        self.click(locator)
        locator.fill(text)


def family_id_of(page, name: str) -> int:
    page.goto("/budsjett")
    return int(page.locator("tr[data-family-id]", has_text=name).first.get_attribute("data-family-id"))


def no_sideways_scroll(page) -> list[int]:
    """The widths (of :data:`WIDTHS`) at which the page scrolls sideways."""
    bad = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        if page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"):
            bad.append(width)
    page.set_viewport_size({"width": 1280, "height": 720})
    return bad


def ask_from_family_page(page, family_id: int, kroner: str, payee: str, *, send: bool = True) -> tuple[int, int]:
    """From the family page to a request sent (or saved as a draft): (spend id, clicks it took)."""
    page.goto(f"/familier/{family_id}")
    clicks = Clicks(page)
    clicks.click(page.locator("section.budget-panel").get_by_role("link", name="Be om utgift"))
    page.wait_for_url(re.compile(r"/budsjett/ny"))
    clicks.type_into(page.get_by_label("Beløp i kroner"), kroner)
    clicks.type_into(page.get_by_label("Mottaker"), payee)
    clicks.type_into(page.get_by_label("Hva pengene skal brukes til"), "Utstyr familien trenger for å nå målet")
    clicks.choose(page.get_by_label("Kategori"), label="Utstyr")
    goal = page.get_by_label("Målet utgiften skal hjelpe familien mot")
    if goal.input_value() == "0":  # the theme has more than one open goal: pick the first of them
        theme = page.get_by_label("Tema", exact=True).input_value()
        clicks.choose(goal, value=goal.locator(f"option[data-theme='{theme}']").first.get_attribute("value"))
    clicks.type_into(page.get_by_label("Forventet effekt", exact=True), "Familien kommer et steg nærmere målet")
    page.set_viewport_size({"width": 1280, "height": 1500})
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "spend-form13")
    page.set_viewport_size({"width": 1280, "height": 720})
    clicks.click(page.get_by_role("button", name="Send til godkjenning" if send else "Lagre som utkast"))
    page.wait_for_url(re.compile(r"/budsjett/utgifter/\d+$"))
    return int(page.url.rsplit("/", 1)[1]), clicks.count


def approve_in_queue(page, spend_id: int) -> int:
    """As the lead, from wherever the lead is: the clicks an approval takes."""
    clicks = Clicks(page)
    clicks.click(page.get_by_role("navigation", name="Hovedmeny").get_by_role("link", name="Godkjenning"))
    clicks.click(page.locator(f"tr[data-spend-id='{spend_id}']").get_by_role("link", name=re.compile("^Godkjenn")))
    assert axe_serious(page) == []
    clicks.click(page.get_by_role("button", name="Bekreft godkjenning"))
    assert page.get_by_text("Forespørselen er godkjent, og pengene er reservert.").is_visible()
    return clicks.count


@pytest.fixture
def led_family(page) -> tuple[str, int]:
    """A family the demo lead leads and the demo caseworker can ask for money for."""
    sign_in(page, "team_lead")
    led = led_families(page)
    sign_out(page)
    sign_in(page, "caseworker")
    name = pick_family(page, led, 30_000_00)
    return name, family_id_of(page, name)


def test_ask_in_at_most_10_clicks_and_approve_in_at_most_3(page, led_family):
    _name, family_id = led_family
    spend_id, clicks = ask_from_family_page(page, family_id, "2 400", "Utleier Lien")
    assert page.get_by_text("Forespørselen er sendt til godkjenning.").is_visible()
    print(f"asking from the family page took {clicks} clicks")
    assert clicks <= 10, f"asking took {clicks} clicks"
    assert axe_serious(page) == []
    sign_out(page)

    sign_in(page, "team_lead")
    page.goto("/budsjett/godkjenning")
    assert axe_serious(page) == []
    assert no_sideways_scroll(page) == []
    # At 768 px the queue scrolls in its own region and the approve button stays on the screen.
    page.set_viewport_size({"width": 768, "height": 900})
    region = page.get_by_role("region", name=re.compile("Venter på din beslutning"))
    assert region.get_attribute("tabindex") == "0"
    button = page.locator(f"tr[data-spend-id='{spend_id}']").get_by_role("link", name=re.compile("^Godkjenn"))
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 768, box
    assert box["width"] >= 24 and box["height"] >= 24
    region.evaluate("r => r.scrollLeft = 0")
    box = button.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 768, "the sticky column left the screen"
    screenshot(page, "approve-queue")
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto("/")
    clicks = approve_in_queue(page, spend_id)
    print(f"approving from the start page took {clicks} clicks")
    assert clicks <= 3, f"approving took {clicks} clicks"
    page.goto(f"/budsjett/utgifter/{spend_id}")
    assert page.locator("dd[data-ore]").first.get_attribute("data-ore") == "240000"
    assert page.get_by_text("Godkjent", exact=True).first.is_visible()


def test_a_draft_is_edited_and_sent(page, led_family):
    _name, family_id = led_family
    spend_id, _clicks = ask_from_family_page(page, family_id, "1 100", "Møbelhuset", send=False)
    assert page.get_by_text("Utkastet er lagret.").is_visible()
    page.get_by_role("link", name="Endre utkastet").click()
    page.wait_for_url(re.compile(rf"/budsjett/utgifter/{spend_id}/endre$"))
    assert page.get_by_role("heading", level=1).inner_text().startswith("Endre utkast for")
    assert page.get_by_label("Mottaker").input_value() == "Møbelhuset"
    assert axe_serious(page) == []
    assert no_sideways_scroll(page) == []
    page.get_by_label("Beløp i kroner").fill("1 250,-")
    page.get_by_label("Mottaker").fill("Møbelhuset Asker")
    page.get_by_role("button", name="Lagre som utkast").click()
    page.wait_for_url(re.compile(rf"/budsjett/utgifter/{spend_id}$"))
    assert page.get_by_text("Møbelhuset Asker").is_visible()
    assert page.locator("dd[data-ore]").first.get_attribute("data-ore") == "125000"
    page.get_by_role("link", name="Endre utkastet").click()
    page.get_by_role("button", name="Send til godkjenning").click()
    page.wait_for_url(re.compile(rf"/budsjett/utgifter/{spend_id}$"))
    assert page.get_by_text("Venter hos: Investeringsleder").is_visible()
    assert page.get_by_role("link", name="Endre utkastet").count() == 0


def test_rejected_then_revised_and_sent_again_with_both_in_the_history(page, led_family):
    _name, family_id = led_family
    first_id, _clicks = ask_from_family_page(page, family_id, "3 300", "Flyttebyrået")
    sign_out(page)

    sign_in(page, "team_lead")
    page.goto("/budsjett/godkjenning")
    page.locator(f"tr[data-spend-id='{first_id}']").get_by_role("link", name=re.compile("^Avslå")).click()
    page.get_by_role("button", name="Avslå").click()  # no reason: refused by the field
    assert page.locator(".error").first.is_visible()
    page.get_by_label("Begrunnelse").fill("Innhent et tilbud til først")
    page.get_by_role("button", name="Avslå").click()
    assert page.get_by_text("Forespørselen er avslått.").is_visible()
    sign_out(page)

    sign_in(page, "caseworker")
    page.goto(f"/budsjett/utgifter/{first_id}")
    page.get_by_role("link", name="Revider og send på nytt").click()
    page.wait_for_url(re.compile(rf"/budsjett/utgifter/{first_id}/revider$"))
    assert page.get_by_text("Innhent et tilbud til først").is_visible()
    assert page.get_by_label("Mottaker").input_value() == "Flyttebyrået"
    assert axe_serious(page) == []
    assert no_sideways_scroll(page) == []
    page.get_by_label("Beløp i kroner").fill("2 900")
    page.get_by_role("button", name="Send til godkjenning").click()
    page.wait_for_url(re.compile(r"/budsjett/utgifter/\d+$"))
    second_id = int(page.url.rsplit("/", 1)[1])
    assert second_id != first_id
    note = page.locator(".version-note")
    assert re.fullmatch(r"Versjon 2 — revidert etter avslag \d{1,2}\. \w+\.?: Innhent et tilbud til først",
                        note.inner_text().strip()), note.inner_text()
    history = page.get_by_role("region", name="Historikk")
    assert history.locator("[data-spend-version='1']").get_by_role("link", name="Versjon 1").is_visible()
    assert "avslått" in history.locator("[data-spend-version='1']").inner_text()
    assert "Til godkjenning" in history.locator("[data-spend-version='2']").inner_text()
    assert axe_serious(page) == []
    assert no_sideways_scroll(page) == []
    page.set_viewport_size({"width": 1280, "height": 1200})
    screenshot(page, "spend-revised")
    page.set_viewport_size({"width": 1280, "height": 720})
    # The rejected version offers no second revision.
    history.get_by_role("link", name="Versjon 1").click()
    assert page.get_by_role("link", name="Revider og send på nytt").count() == 0
    assert page.get_by_role("region", name="Historikk").locator("[data-spend-version='2']").count() == 1
