"""Kvartalsrapporter in a real browser: the start page, its message when no queue is set up, and a
batch's progress page with the zip — each axe clean. (Rendering on the queue itself is tested with
Redis in tests/batch.)"""

from __future__ import annotations

import io
import sqlite3
import zipfile

import pytest

from tests.browser.conftest import axe_serious, sign_in

pytestmark = pytest.mark.browser

FAKE_PDF = b"%PDF-1.7\n% a finished report, as the worker stores it\n%%EOF\n"


def _batch_for_the_lead(tmp_root) -> tuple[int, int]:
    """A batch of the demo lead's with one report done and one failed, as a worker leaves it."""
    with sqlite3.connect(tmp_root / "browser.sqlite3") as db:
        lead_id, lab_id = db.execute("SELECT id, lab_id FROM user_account WHERE email LIKE 'investeringsleder@%'"
                                     ).fetchone()
        families = [row[0] for row in db.execute(
            "SELECT m.family_id FROM team_membership m JOIN family f ON f.id = m.family_id WHERE m.user_id = ? "
            "AND m.end_date IS NULL AND f.restricted_at IS NULL AND f.erased_at IS NULL ORDER BY m.family_id "
            "LIMIT 2", (lead_id,))]
        assert len(families) == 2, "the demo lead needs two families"
        batch_id = db.execute(
            "INSERT INTO report_batch (lab_id, requested_by_id, kind, period_start, period_end, language, total, "
            "created_at, finished_at) VALUES (?, ?, 'quarterly_progress', '2026-07-01', '2026-09-30', 'nb', 2, "
            "'2026-10-02 08:00:00.000000', '2026-10-02 08:01:00.000000')", (lab_id, lead_id)).lastrowid
        db.execute("INSERT INTO report_batch_item (batch_id, family_id, status, attempts, pdf, size, finished_at) "
                   "VALUES (?, ?, 'done', 1, ?, ?, '2026-10-02 08:00:30.000000')",
                   (batch_id, families[0], FAKE_PDF, len(FAKE_PDF)))
        db.execute("INSERT INTO report_batch_item (batch_id, family_id, status, attempts, error, finished_at) "
                   "VALUES (?, ?, 'failed', 3, 'render_error', '2026-10-02 08:01:00.000000')",
                   (batch_id, families[1]))
        return batch_id, families[0]


def test_the_start_page_says_plainly_that_the_queue_is_missing(page):
    sign_in(page, "team_lead")
    page.get_by_role("navigation", name="Hovedmeny").get_by_role("link", name="Kvartalsrapporter").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Kvartalsrapporter"
    assert axe_serious(page) == []
    page.get_by_role("button", name="Lag rapportene").click()
    # The browser tests' server has no Redis: a form message in Norwegian, not an error page.
    assert page.get_by_text("Køen for bakgrunnsjobber er ikke satt opp").first.is_visible()
    assert page.get_by_role("heading", level=1).inner_text() == "Kvartalsrapporter"
    assert axe_serious(page) == []


def test_a_finished_batch_shows_its_counts_and_gives_the_zip(page, tmp_root):
    batch_id, done_family = _batch_for_the_lead(tmp_root)
    sign_in(page, "team_lead")
    page.goto("/rapporter/kvartal")
    page.get_by_role("link", name="2026-K3").first.click()
    page.wait_for_url(f"**/rapporter/kvartal/{batch_id}")
    assert page.get_by_role("heading", level=1).inner_text() == "Kvartalsrapporter 2026-K3"
    counts = page.locator("dl.batch-counts").inner_text()
    assert "1 av 2" in counts and "Feilet\n1" in counts
    assert axe_serious(page) == []
    with page.expect_download() as info:
        page.get_by_role("link", name="Last ned rapportene (zip)").click()
    archive = zipfile.ZipFile(io.BytesIO(open(info.value.path(), "rb").read()))
    names = archive.namelist()
    assert len(names) == 1 and names[0].startswith(f"fremdriftsrapport-2026-K3-{done_family}-")
    assert archive.read(names[0]) == FAKE_PDF
