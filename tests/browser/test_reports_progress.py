"""The team lead downloads a family's progress report from the family page and reads it back."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def _open_family_with_report(page) -> str:
    page.goto("/familier")
    links = page.locator("section.my-families tbody tr a")
    for i in range(links.count()):
        page.goto("/familier")
        link = page.locator("section.my-families tbody tr a").nth(i)
        name = link.inner_text()
        link.click()
        page.wait_for_url(re.compile(r"/familier/\d+$"))
        if page.get_by_role("link", name="Last ned fremdriftsrapport").count():
            return name
    raise AssertionError("the demo lead has no family with a progress report link")


def test_the_lead_downloads_the_progress_report(page):
    sign_in(page, "team_lead")
    name = _open_family_with_report(page)
    with page.expect_download() as info:
        page.get_by_role("link", name="Last ned fremdriftsrapport").click()
    download = info.value
    assert download.suggested_filename.startswith("fremdriftsrapport-familie-")
    reader = PdfReader(io.BytesIO(open(download.path(), "rb").read()))
    text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
    assert "Fremdriftsrapport" in text and name in text
    assert "Investeringsteamet" in text and "Neste steg" in text
    assert reader.metadata.title == f"Fremdriftsrapport for {name}"
    assert reader.trailer["/Root"]["/Lang"] == "nb"


def test_the_lead_chooses_a_period_and_english(page):
    """The *Velg periode* form: dates typed into the date fields and English chosen end up in the PDF."""
    from datetime import date

    from tests.browser.conftest import axe_serious

    sign_in(page, "team_lead")
    name = _open_family_with_report(page)
    assert axe_serious(page) == []
    today = date.today()
    # An empty period brings the family page back with the reason.
    page.get_by_label("Fra", exact=True).fill(today.isoformat())
    page.get_by_label("Til", exact=True).fill(date(today.year - 1, 1, 1).isoformat())
    page.get_by_role("button", name="Last ned for perioden").click()
    assert page.get_by_text("Perioden er tom: fra-datoen er etter til-datoen.").is_visible()
    assert page.get_by_role("heading", level=1).inner_text() == name
    start = date(today.year - 1, 1, 1)
    page.get_by_label("Fra", exact=True).fill(start.isoformat())
    page.get_by_label("Til", exact=True).fill(today.isoformat())
    page.get_by_label("Språk").select_option("en")
    with page.expect_download() as info:
        page.get_by_role("button", name="Last ned for perioden").click()
    reader = PdfReader(io.BytesIO(open(info.value.path(), "rb").read()))
    text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
    assert reader.trailer["/Root"]["/Lang"] == "en"
    assert f"The period {start:%d.%m.%Y}–" in text and name in text
