"""The one-page summary (issue 14): management sees it on the start page, follows the link and
finds it on top of the outcome report; axe clean, no sideways scroll."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import axe_serious, screenshot, sign_in

pytestmark = pytest.mark.browser

WIDTHS = (320, 768, 1024, 1366)


def _fits(page, where: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(50)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{where} scrolls sideways at {width} px ({scroll})"
        if width in (768, 1366):
            assert axe_serious(page) == [], f"{where} at {width} px"


def test_management_reads_the_summary_on_the_start_page_and_on_the_report(page):
    sign_in(page, "leder@asker.demo.velferdslab.no")
    page.goto("/")
    panel = page.locator(".start-summary")
    heading = panel.get_by_role("heading", level=2)
    assert heading.inner_text().startswith("Resultater")
    summary = panel.locator(".report-summary")
    assert "familier er med" in summary.inner_text()
    assert summary.get_by_text("Slik leser du tallene").is_visible()
    start_text = summary.locator(".summary-text").inner_text()
    # Every count below five is a mark, never the number.
    assert not re.search(r"(?<![\d\u00a0 ])\b[1-4] (av|aktive|henvist|avsluttet|familier)\b", start_text)
    _fits(page, "start page")
    page.set_viewport_size({"width": 1366, "height": 900})

    panel.get_by_role("link", name="Se hele resultatrapporten").click()
    page.wait_for_url(re.compile(r"/rapporter/resultater"))
    report_summary = page.locator("section.report-summary")
    assert report_summary.get_by_role("heading", name="Sammendrag").is_visible()
    # The same default report: the same sentences on the start page and on top of the report.
    assert report_summary.locator(".summary-text").inner_text() == start_text
    first_table = page.locator("#table-flow")
    assert report_summary.bounding_box()["y"] < first_table.bounding_box()["y"]
    assert page.locator("#chart-trend").is_visible()
    trend_rows = page.locator("#table-trend tbody tr")
    assert trend_rows.count() == 6
    for index in range(trend_rows.count()):
        for cell in trend_rows.nth(index).locator("td").all_inner_texts()[:3]:
            assert cell in ("<5", "×", "0") or int(cell) >= 5, cell
    page.set_viewport_size({"width": 1366, "height": 1500})
    report_summary.scroll_into_view_if_needed()
    screenshot(page, "report-summary")
    _fits(page, "outcome report")
