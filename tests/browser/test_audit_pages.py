"""The audit and privacy pages in a real browser: emergency access from request to banner, the
review with its flags and the family's rights pages — each axe clean."""

from __future__ import annotations

import sqlite3

import pytest

from tests.browser.conftest import axe_serious, sign_in

pytestmark = pytest.mark.browser


def _query(tmp_root, sql: str):
    with sqlite3.connect(tmp_root / "browser.sqlite3") as connection:
        return connection.execute(sql).fetchone()


def _led_family(tmp_root) -> int:
    """A family the demo team lead leads today."""
    row = _query(tmp_root, "SELECT m.family_id FROM team_membership m JOIN user_account u ON u.id = m.user_id "
                           "JOIN family f ON f.id = m.family_id WHERE u.email LIKE 'investeringsleder@%' "
                           "AND m.role = 'lead' AND m.end_date IS NULL AND f.restricted_at IS NULL "
                           "ORDER BY m.family_id LIMIT 1")
    assert row, "the demo lead leads no family"
    return row[0]


def _outside_family(tmp_root) -> int:
    """A family the demo manager is not on the team of."""
    return _query(tmp_root, "SELECT id FROM family WHERE erased_at IS NULL ORDER BY id LIMIT 1")[0]


def test_a_manager_breaks_the_glass_and_sees_the_banner(page, tmp_root):
    family_id = _outside_family(tmp_root)
    sign_in(page, "manager")
    page.get_by_role("navigation", name="Hovedmeny").get_by_role("link", name="Nødtilgang").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Nødtilgang"
    assert axe_serious(page) == []
    page.get_by_label("Familienummer").fill(str(family_id))
    page.get_by_label("Begrunnelse").fill("kort")
    page.get_by_role("button", name="Gi meg nødtilgang").click()
    assert page.get_by_text("Begrunnelsen må ha mellom 20 og 1000 tegn.").first.is_visible()
    page.get_by_label("Begrunnelse").fill("Akutt bekymringsmelding; teamet kan ikke nås før mandag.")
    page.get_by_label("Varighet").select_option("2")
    page.get_by_role("button", name="Gi meg nødtilgang").click()
    page.wait_for_url(f"**/familier/{family_id}")
    banner = page.get_by_role("region", name="Nødtilgang til denne familien")
    assert "teamet kan ikke nås før mandag" in banner.inner_text()
    assert axe_serious(page) == []


def test_the_review_flags_and_filters(page):
    sign_in(page, "admin")
    page.get_by_role("navigation", name="Hovedmeny").get_by_role("link", name="Revisjon").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Revisjon av tilgang"
    assert axe_serious(page) == []
    # The demo's unreviewed emergency access is listed, and its reads are flagged.
    grants = page.get_by_role("table", name="Nødtilganger i perioden; de som ikke er gjennomgått står først")
    assert "Barnevernet meldte akutt bekymring" in grants.inner_text()
    page.get_by_label("Flagg").select_option("night")
    page.get_by_role("button", name="Vis").click()
    events = page.locator("table.audit-events tbody tr")
    assert events.count() >= 3
    assert all("Natt (22–06)" in events.nth(i).inner_text() for i in range(events.count()))
    grants = page.get_by_role("table", name="Nødtilganger i perioden; de som ikke er gjennomgått står først")
    grants.get_by_role("button", name="Merk som gjennomgått").first.click()
    assert page.get_by_text("Nødtilgangen er merket som gjennomgått.").is_visible()
    assert axe_serious(page) == []


def test_the_lead_prints_the_access_log_and_export(page, tmp_root):
    family_id = _led_family(tmp_root)
    sign_in(page, "team_lead")
    page.goto(f"/familier/{family_id}")
    page.get_by_role("link", name="Personvern: innsynslogg, eksport, sperring og sletting").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Personvern for")
    assert axe_serious(page) == []
    page.get_by_role("link", name="Vis innsynslogg").click()
    log = page.locator("table.access-log")
    assert "Åpnet familiesiden" in log.inner_text()
    assert "Ivar Investeringsleder" not in log.inner_text()
    assert axe_serious(page) == []
    with page.expect_download() as download:
        page.get_by_role("link", name="Last ned som PDF").click()
    assert download.value.suggested_filename == f"innsynslogg-familie-{family_id}.pdf"
