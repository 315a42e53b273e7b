"""Issue 12, item 17: request limits per user and per address; repeated refusals are counted, not
written again and again; the access log's documents stay bounded."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests import factories
from velferdslab.audit.models import AuditEvent
from velferdslab.extensions import db


@pytest.fixture
def limits(app, monkeypatch):
    def set_limits(user: str, address: str = "100000 per minute"):
        monkeypatch.setitem(app.config, "REQUEST_LIMIT_PER_USER", user)
        monkeypatch.setitem(app.config, "REQUEST_LIMIT_PER_ADDRESS", address)
    return set_limits


def test_a_user_over_the_limit_gets_429_with_retry_after_and_others_go_on(lab, login, limits):
    limits("5 per minute")
    busy, other = login(factories.user(lab)), login(factories.user(lab))
    statuses = [busy.get("/api/v1/me").status_code for _ in range(8)]
    assert statuses[:4] == [200] * 4 and statuses[-1] == 429  # sign-in used one of the five
    refused = busy.get("/api/v1/me")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert refused.get_json()["status"] == 429 and "For mange" in refused.get_json()["message"]
    page = busy.get("/")
    assert page.status_code == 429 and "For mange forespørsler" in page.get_data(as_text=True)
    assert other.get("/api/v1/me").status_code == 200  # per user: the other one is not held up


def test_an_address_over_the_limit_gets_429_even_without_signing_in(client, limits):
    limits("100000 per minute", address="3 per minute")
    statuses = [client.get("/logg-inn").status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429]
    assert client.get("/healthz").status_code in (200, 503)  # never counted: monitoring keeps working


def test_repeated_refusals_are_counted_in_few_rows(world, login):
    """A stranger hammering one family: 40 refused reads leave 6 rows (1st, 2nd, 4th … 32nd), the
    last saying how many there were; the family's access log shows one line with the count."""
    client = login(world.other_lead)
    for _ in range(40):
        assert client.get(f"/familier/{world.family.id}/plan").status_code == 404
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.family_id == world.family.id,
                                                       AuditEvent.actor_id == world.other_lead.id)
                              .order_by(AuditEvent.id)).all()
    assert len(rows) == 6
    assert [(r.summary or {}).get("repeated") for r in rows] == [None, 2, 4, 8, 16, 32]
    # Another family is another count.
    assert client.get(f"/familier/{world.other_family.id}/plan").status_code in (200, 404)
    lead = login(world.lead)
    page = lead.get(f"/familier/{world.family.id}/innsynslogg").get_data(as_text=True)
    assert "(32 ganger)" in page


def test_the_access_log_is_read_by_period_and_its_documents_are_bounded(world, login, monkeypatch):
    from velferdslab.audit import access_log

    lead = login(world.lead)
    for _ in range(5):
        lead.get(f"/familier/{world.family.id}")  # five reads in a row: one line with a count
    page = lead.get(f"/familier/{world.family.id}/innsynslogg").get_data(as_text=True)
    assert "(5 ganger)" in page
    monkeypatch.setattr(access_log, "MAX_DOCUMENT_LINES", 1)
    page = lead.get(f"/familier/{world.family.id}/innsynslogg").get_data(as_text=True)
    assert "Velg en periode for å se resten" in page and page.count("<tr><td>") == 1
    pdf = lead.get(f"/familier/{world.family.id}/innsynslogg.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    future = lead.get(f"/familier/{world.family.id}/innsynslogg?fra=2099-01-01")
    assert future.status_code == 200 and "Ingen oppføringer." in future.get_data(as_text=True)
    for bad in ("fra=01.02.2026", "til=0001-01-01", "fra=2026-05-01&til=2026-04-01"):
        response = lead.get(f"/familier/{world.family.id}/innsynslogg?{bad}")
        assert response.status_code == 422, bad
    counted = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                .where(AuditEvent.action == "family.access_log"))
    assert counted >= 4
