"""Budget in the browser: a request from a team member through the lead's approval to payment,
and one above the lead's limit through management; every budget screen is axe-clean."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import axe_serious, screenshot, sign_in

pytestmark = pytest.mark.browser


def sign_out(page) -> None:
    page.get_by_role("button", name="Logg ut").click()
    page.wait_for_url(re.compile(r"/logg-inn"))


def led_families(page) -> set[str]:
    """Names of the families the signed-in user leads, from the budget list's role column."""
    page.goto("/budsjett")
    names = set()
    for row in page.locator("tr[data-family-id]").all():
        if row.locator("td").first.inner_text().strip() == "Investeringsleder":
            names.add(row.locator("th").inner_text().strip())
    return names


def pick_family(page, among: set[str] | None, need_ore: int) -> str:
    """As the caseworker: the first family (optionally among ``among``) that can pay ``need_ore``."""
    page.goto("/budsjett")
    for row in page.locator("tr[data-family-id]").all():
        name = row.locator("th").inner_text().strip()
        available = int(row.locator("td.num").nth(3).get_attribute("data-ore"))
        can_ask = row.get_by_role("link", name=re.compile("Be om utgift")).count()  # not gated by consent
        if (among is None or name in among) and available >= need_ore and can_ask:
            return name
    raise AssertionError("no family for the demo caseworker with enough money")


def request_spend(page, family: str, kroner: str, category: str, payee: str) -> int:
    page.goto("/budsjett")
    page.locator("tr[data-family-id]", has_text=family).get_by_role("link", name=re.compile("Be om utgift")).click()
    assert page.get_by_role("heading", level=1).inner_text() == f"Be om utgift for {family}"
    assert axe_serious(page) == []
    page.get_by_label("Beløp i kroner").fill(kroner)
    page.get_by_label("Mottaker").fill(payee)
    page.get_by_label("Hva pengene skal brukes til").fill("Depositum for leilighet med plass til barna")
    page.get_by_label("Kategori").select_option(label=category)
    # The goal decides the theme (a spend in another theme than its goal is refused).
    goal = page.get_by_label("Målet utgiften skal hjelpe familien mot")
    first = goal.locator("option[data-theme]").first
    page.get_by_label("Tema", exact=True).select_option(value=first.get_attribute("data-theme"))
    goal.select_option(value=first.get_attribute("value"))
    page.get_by_label("Forventet effekt", exact=True).fill("Familien får en stabil bolig i nærheten av skolen")
    page.get_by_label("Nivå i temaet nå").select_option(value="")
    page.get_by_label("Nivå dere håper på").select_option(label="Stabil")
    page.get_by_role("button", name="Send til godkjenning").click()
    page.wait_for_url(re.compile(r"/budsjett/utgifter/\d+$"))
    assert page.get_by_text("Forespørselen er sendt til godkjenning.").is_visible()
    return int(page.url.rsplit("/", 1)[1])


def approve_from_queue(page, queue_link: str, spend_id: int) -> None:
    page.get_by_role("navigation", name="Hovedmeny").get_by_role("link", name=queue_link).click()
    row = page.locator(f"tr[data-spend-id='{spend_id}']")
    row.get_by_role("link", name=re.compile("^Godkjenn")).click()  # first click
    assert axe_serious(page) == []
    page.get_by_role("button", name="Bekreft godkjenning").click()  # second click
    assert page.get_by_text("Forespørselen er godkjent, og pengene er reservert.").is_visible()


def pay_from_queue(page, spend_id: int) -> None:
    page.locator(f"tr[data-spend-id='{spend_id}']").get_by_role("link", name=re.compile("Registrer betaling")).click()
    page.get_by_label("Betalingsreferanse").fill("Bilag 4711")
    page.get_by_role("button", name="Registrer betaling").click()
    assert page.get_by_text("Betalingen er registrert.").is_visible()


def status_on_family_budget(page, family: str, spend_id: int) -> str:
    page.goto("/budsjett")
    page.get_by_role("link", name=family, exact=True).click()
    return page.locator(f"tr[data-spend-id='{spend_id}']").get_attribute("data-status")


def test_a_request_goes_from_team_member_through_the_lead_to_payment(page):
    sign_in(page, "team_lead")
    led = led_families(page)
    assert led, "the demo lead leads no family"
    sign_out(page)

    sign_in(page, "caseworker")
    family = pick_family(page, led, 18_500_00)
    spend_id = request_spend(page, family, "18 500", "Depositum", "Utleier Hansen")
    assert page.get_by_role("heading", level=1).inner_text() == "Depositum: 18\u00a0500,00\u00a0kr"
    assert page.get_by_text("Venter hos: Investeringsleder").is_visible()
    assert axe_serious(page) == []
    sign_out(page)

    sign_in(page, "team_lead")
    approve_from_queue(page, "Godkjenning", spend_id)
    assert axe_serious(page) == []
    pay_from_queue(page, spend_id)
    assert status_on_family_budget(page, family, spend_id) == "paid"


def test_a_request_above_the_leads_limit_goes_through_management(page):
    sign_in(page, "caseworker")
    family = pick_family(page, None, 60_000_00)
    spend_id = request_spend(page, family, "60 000", "Depositum", "Asker Boligbyggelag")
    assert page.get_by_text("Venter hos: Ledelsen").is_visible()
    sign_out(page)

    sign_in(page, "team_lead")  # not in the lead's queue: it is above the lead's authority
    page.goto("/budsjett/godkjenning")
    assert page.locator(f"tr[data-spend-id='{spend_id}']").count() == 0
    sign_out(page)

    sign_in(page, "manager")
    approve_from_queue(page, "Ledelsens kø", spend_id)
    assert family not in page.content()  # management sees no household names
    pay_from_queue(page, spend_id)
    page.goto(f"/budsjett/utgifter/{spend_id}")
    assert page.get_by_text("Betalt", exact=True).first.is_visible()
    assert page.get_by_role("cell", name="Regelversjon 2").is_visible()  # the rule that allowed it


@pytest.mark.parametrize("path, role", [
    ("/budsjett", "caseworker"),
    ("/budsjett/godkjenning", "team_lead"),
    ("/budsjett/ledelse", "manager"),
    ("/budsjett/oversikt", "manager"),
    ("/budsjett/tildeling", "manager"),
    ("/budsjett/delegeringer", "manager"),
    ("/admin/fullmakter", "admin"),
])
def test_budget_screens_have_no_serious_accessibility_violations(page, path, role):
    sign_in(page, role)
    page.goto(path)
    assert page.get_by_role("heading", level=1).count() == 1
    assert axe_serious(page) == []


def test_the_family_budget_page_and_panel_are_accessible(page):
    sign_in(page, "caseworker")
    page.goto("/budsjett")
    page.locator("tr[data-family-id] th a").first.click()
    assert page.locator("table.budget-summary").is_visible()
    assert axe_serious(page) == []


def test_management_sees_the_pool_not_the_spend(page):
    """Issue 14: the overview shows per agency delegated = allocated + unallocated, no table of
    spend by theme; the allocation list shows allocated and unused per family, nothing more."""
    sign_in(page, "manager")
    page.get_by_role("link", name="Budsjettoversikt").first.click()
    page.wait_for_url(re.compile(r"/budsjett/oversikt"))
    assert page.get_by_role("table", name="Per etat").is_visible()
    assert page.get_by_role("table", name="Per tema").count() == 0
    rows = page.locator("#per-agency tbody tr[data-agency-id], #per-agency tfoot tr").all()
    assert len(rows) >= 2
    for row in rows:
        delegated, allocated, unallocated = (int(v) for v in row.locator("td.num").evaluate_all(
            "cells => cells.map(c => c.dataset.ore)"))
        assert delegated == allocated + unallocated
    screenshot(page, "budget-overview-management")
    page.get_by_role("link", name="Tildeling", exact=True).first.click()
    page.wait_for_url(re.compile(r"/budsjett/tildeling"))
    families = page.get_by_role("table", name="Familiene (uten navn)")
    assert [(h.text_content() or "").strip() for h in families.locator("thead th").all()] == [
        "Familie", "Investeringsleder", "Tildelt", "Ubrukt"]
    assert axe_serious(page) == []
