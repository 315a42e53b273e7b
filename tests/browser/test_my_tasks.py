"""*Mine oppgaver*, *Mine familier* sorted and filtered, and the family search in the header, in
Chromium as the caseworker and the team lead do it: clicks and keys only (issue 13)."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import axe_serious, screenshot, sign_in

pytestmark = pytest.mark.browser

WIDTHS = (320, 768, 1024, 1366)


def _no_sideways_scroll(page, path: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, (path, width, overflow)
    page.set_viewport_size({"width": 1366, "height": 900})


def _search_adds_no_row(page) -> None:
    """At 1366 px the header search takes no line of its own: the header is as tall with it as
    without it, and the search sits on the menu's line. (The header's account links already go to
    a second line at 1366 px for these roles, before the search was added.)"""
    height = "document.querySelector('.site-header').getBoundingClientRect().height"
    with_search = page.evaluate(height)
    search_box = page.locator(".site-header .header-search").bounding_box()
    menu_box = page.locator(".site-header .main-nav").bounding_box()
    assert search_box is not None and menu_box is not None
    assert search_box["y"] < menu_box["y"] + menu_box["height"]
    assert menu_box["y"] < search_box["y"] + search_box["height"]
    page.evaluate("document.querySelector('.header-search').style.display = 'none'")
    without = page.evaluate(height)
    page.evaluate("document.querySelector('.header-search').style.display = ''")
    assert with_search == without, (with_search, without)


def _column(page, table: str, index: int) -> list[str]:
    return [c.strip() for c in page.locator(f"{table} tbody tr > :nth-child({index})").all_inner_texts()]


def test_a_caseworker_sorts_and_filters_mine_oppgaver(page):
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, "caseworker")
    page.get_by_role("navigation", name="Hovedmeny").get_by_role("link", name="Mine oppgaver").click()
    page.wait_for_url(re.compile(r"/oppgaver$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Mine oppgaver"
    assert page.locator('nav.main-nav a[aria-current="page"]').inner_text() == "Mine oppgaver"
    _search_adds_no_row(page)
    rows = page.locator("table.task-list tbody tr")
    assert rows.count() >= 3
    kinds = set(_column(page, "table.task-list", 1))
    assert "Tiltak" in kinds and "Møte" in kinds
    assert page.locator("table.task-list .tag.overdue", has_text="Forfalt").count() >= 1
    assert axe_serious(page) == []

    # Sort by family with a click on the column header, then the other way with a second click.
    header = page.locator("table.task-list thead th", has_text="Familie")
    header.get_by_role("link").click()
    page.wait_for_url(re.compile(r"sorter=familie"))
    assert header.get_attribute("aria-sort") == "ascending"
    families = _column(page, "table.task-list", 3)
    assert families == sorted(families, key=str.lower)
    header.get_by_role("link").click()
    page.wait_for_url(re.compile(r"rekkefolge=synkende"))
    assert page.locator("table.task-list thead th", has_text="Familie").get_attribute("aria-sort") == "descending"
    families = _column(page, "table.task-list", 3)
    assert families == sorted(families, key=str.lower, reverse=True)

    # Filter to actions: the sort is kept.
    page.get_by_label("Type").select_option(label="Tiltak")
    page.get_by_role("button", name="Vis", exact=True).click()
    page.wait_for_url(re.compile(r"type=tiltak"))
    assert "sorter=familie" in page.url and "rekkefolge=synkende" in page.url
    assert set(_column(page, "table.task-list", 1)) == {"Tiltak"}
    # Only the overdue ones, from the keyboard.
    page.get_by_label("Bare forfalte").focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Vis", exact=True).click()
    page.wait_for_url(re.compile(r"forfalt=1"))
    assert page.locator("table.task-list tbody tr").count() == page.locator("table.task-list .tag.overdue").count()
    assert axe_serious(page) == []
    page.get_by_role("link", name="Fjern filtrene").click()
    page.wait_for_url(lambda url: "type=" not in url and "forfalt" not in url)
    assert "sorter=familie" in page.url
    page.goto("/oppgaver")
    screenshot(page, "my-tasks")
    _no_sideways_scroll(page, "/oppgaver")


def test_a_caseworker_sorts_mine_familier_and_searches_from_the_header(page):
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, "caseworker")
    page.goto("/familier")
    level = page.locator("section.my-families").first.locator("thead th", has_text="Samlet nivå")
    level.get_by_role("link").click()
    page.wait_for_url(re.compile(r"sorter=niva"))
    level = page.locator("section.my-families").first.locator("thead th", has_text="Samlet nivå")
    assert level.get_attribute("aria-sort") == "ascending"
    assert page.locator('section.my-families th[aria-sort]').count() == page.locator("section.my-families").count()
    # Filter on status with the native select; the sort stays.
    page.get_by_label("Status", exact=True).select_option(label="Aktiv")
    page.get_by_role("button", name="Vis", exact=True).click()
    page.wait_for_url(re.compile(r"status=aktiv"))
    assert "sorter=niva" in page.url
    statuses = set(_column(page, "section.my-families table.family-list", 2))
    assert statuses == {"Aktiv"}
    assert page.locator("#closed-families-h").count() == 0
    assert axe_serious(page) == []
    screenshot(page, "my-families-sorted")

    # The header's search: type part of a family's name and press Enter.
    first = page.locator("section.my-families tbody th a").first.inner_text()
    needle = first.split()[-1][:4]
    search = page.get_by_role("search", name="Familiesøk").get_by_label("Søk etter familie på navn")
    search.fill(needle)
    search.press("Enter")
    page.wait_for_url(re.compile(r"/familier\?q="))
    assert page.get_by_role("heading", name=re.compile("treff for")).is_visible()
    assert first in page.locator("section.my-families").first.inner_text()
    # Sorting the hits keeps the search.
    page.locator("section.my-families").first.locator("thead th", has_text="Familie").get_by_role("link").click()
    page.wait_for_url(re.compile(r"sorter=familie"))
    assert f"q={needle}" in page.url
    assert axe_serious(page) == []
    _no_sideways_scroll(page, "/familier")


def test_a_team_lead_sees_the_caseload_and_opens_the_queue(page):
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, "team_lead")
    page.get_by_role("navigation", name="Hovedmeny").get_by_role("link", name="Mine oppgaver").click()
    page.wait_for_url(re.compile(r"/oppgaver$"))
    _search_adds_no_row(page)
    assert page.get_by_role("heading", name="Familiene du leder").is_visible()
    assert page.locator("table.caseload tbody tr").count() >= 1
    assert axe_serious(page) == []
    _no_sideways_scroll(page, "/oppgaver")
    page.get_by_role("link", name=re.compile(r"venter på din godkjenning")).click()
    page.wait_for_url(re.compile(r"/budsjett/godkjenning"))
