"""Issue 17 in the browser: a team member files a spend funded by two agencies (split in the
form), the family's investment lead approves it, and each agency's part is reserved from its own
allocation for the family."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import axe_serious, sign_in
from tests.browser.test_budget_flow import approve_from_queue, led_families, sign_out

pytestmark = pytest.mark.browser
PART_ORE = 600_00  # 600 kr from each agency


def _open_form_with_two_funders(page, led: set[str]) -> str:
    """As the caseworker: the form of a family the demo lead leads that two agencies have given
    at least ``PART_ORE`` each (so the form offers a field per agency)."""
    page.goto("/budsjett")
    rows = [
        (row.locator("th").inner_text().strip(), row.get_by_role("link", name=re.compile("Be om utgift")))
        for row in page.locator("tr[data-family-id]").all()
    ]
    urls = [(name, link.get_attribute("href")) for name, link in rows if name in led and link.count()]
    for name, url in urls:
        page.goto(url)
        lefts = [int(x.get_attribute("data-left")) for x in page.locator("input[data-funding-agency]").all()]
        if len([x for x in lefts if x >= PART_ORE]) >= 2:
            return name
    raise AssertionError("no family of the demo lead with money from two agencies")


def test_a_spend_funded_by_two_agencies_is_filed_and_approved_by_the_lead(page):
    sign_in(page, "team_lead")
    led = led_families(page)
    sign_out(page)

    sign_in(page, "caseworker")
    family = _open_form_with_two_funders(page, led)
    assert axe_serious(page) == []
    page.get_by_label("Beløp i kroner").fill("1 200")
    page.get_by_label("Mottaker").fill("Asker Møbelsentral")
    page.get_by_label("Hva pengene skal brukes til").fill("Senger til barna")
    page.get_by_label("Kategori").select_option(value="furniture")
    goal = page.get_by_label("Målet utgiften skal hjelpe familien mot")
    first = goal.locator("option[data-theme]").first
    page.get_by_label("Tema", exact=True).select_option(value=first.get_attribute("data-theme"))
    goal.select_option(value=first.get_attribute("value"))
    page.get_by_label("Forventet effekt", exact=True).fill("Barna sover godt og kommer uthvilt på skolen")
    page.get_by_label("Hvem betaler").select_option(value="split")
    parts = [
        x for x in page.locator("input[data-funding-agency]").all() if int(x.get_attribute("data-left")) >= PART_ORE
    ][:2]
    agencies = [x.get_attribute("data-funding-agency") for x in parts]
    # First a split that does not add up: a clear message, nothing saved.
    parts[0].fill("600")
    parts[1].fill("500")
    page.get_by_role("button", name="Send til godkjenning").click()
    assert page.get_by_text(re.compile("Fordelingen må gå opp")).first.is_visible()
    assert "/budsjett/ny" in page.url
    parts = [page.locator(f"input[data-funding-agency='{a}']") for a in agencies]
    parts[1].fill("600")
    page.get_by_role("button", name="Send til godkjenning").click()
    page.wait_for_url(re.compile(r"/budsjett/utgifter/\d+$"))
    spend_id = int(page.url.rsplit("/", 1)[1])
    shown = {
        x.get_attribute("data-funding-agency"): x.get_attribute("data-ore")
        for x in page.locator(".spend-funding-list [data-funding-agency]").all()
    }
    assert shown == {agencies[0]: str(PART_ORE), agencies[1]: str(PART_ORE)}
    assert page.get_by_text("Venter hos: Investeringsleder").is_visible()
    sign_out(page)

    sign_in(page, "team_lead")
    approve_from_queue(page, "Godkjenning", spend_id)
    page.goto(f"/budsjett/utgifter/{spend_id}")
    assert page.get_by_text("Godkjent", exact=True).first.is_visible()
    assert page.locator(".spend-funding-list [data-funding-agency]").count() == 2
    assert page.get_by_role("cell", name="Reservert", exact=True).count() == 2  # one transfer per agency
    assert family
