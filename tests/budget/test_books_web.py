"""Issue 17, the books through the API and the pages: 422 per field, 409 for a locked period and a
second year-end, downloads that match the ledger, audit rows."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.budget.factories import KR, delegate, funded_family, spend, year
from velferdslab.audit.models import AuditEvent
from velferdslab.budget import books, services, vouchers
from velferdslab.budget.models import VoucherLine
from velferdslab.core.models import today_local
from velferdslab.extensions import db

PERIOD = vouchers.period_of(today_local())


@pytest.fixture
def setup(ctx, lab):
    return funded_family(lab, allocated=100_000 * KR)


def paid(setup, amount):
    request = spend(setup, amount)
    services.approve_spend(request.id, setup.lead)
    services.pay_spend(request.id, setup.lead, paid_on=today_local(), reference="Bilag 3")
    return request


def events(action: str) -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == action))


def test_the_api_sets_codes_exports_locks_and_reverses(setup, login):
    client = login(setup.manager)
    bad = client.put(
        "/api/v1/accounting-codes",
        json={"agency_id": setup.agency.id, "year": year(), "ansvar": "41", "funksjon": "9", "art": "14700"},
    )
    assert bad.status_code == 422 and "funksjon" in bad.get_data(as_text=True)
    ok = client.put(
        "/api/v1/accounting-codes",
        json={"agency_id": setup.agency.id, "year": year(), "ansvar": "41", "funksjon": "242", "art": "14700"},
    )
    assert ok.status_code == 200, ok.get_json()
    assert client.put("/api/v1/category-accounts", json={"categories": {"deposit": "11500"}}).get_json() == {
        "categories": {"deposit": "11500"}
    }
    request = paid(setup, 1_500 * KR)
    query = f"agency_id={setup.agency.id}&period={PERIOD}"
    body = client.get(f"/api/v1/books/vouchers?{query}").get_json()
    assert (body["count"], body["control_sum"], body["lines"][0]["art"]) == (1, 1_500 * KR, "11500")
    csv = client.get(f"/api/v1/books/vouchers?{query}&format=csv")
    assert csv.mimetype == "text/csv" and csv.get_data(as_text=True).lstrip("\ufeff").startswith("linje;bilagsdato")
    assert client.get(f"/api/v1/books/vouchers?{query}&format=xlsx").data[:2] == b"PK"
    report = client.get(f"/api/v1/books/reconciliation?{query}").get_json()
    assert report["paid"] == report["vouchers_sum"] == 1_500 * KR and report["balanced"] is True
    assert events("budget.export") == 4
    assert (
        client.post("/api/v1/books/exports", json={"agency_id": setup.agency.id, "period": "2026-1"}).status_code == 422
    )
    assert (
        client.post("/api/v1/books/exports", json={"agency_id": setup.agency.id, "period": PERIOD}).status_code == 201
    )
    assert (
        client.post("/api/v1/books/exports", json={"agency_id": setup.agency.id, "period": PERIOD}).status_code == 409
    )
    lead = login(setup.lead)
    other = spend(setup, 100 * KR)
    lead.post(f"/api/v1/spend-requests/{other.id}/approve")
    locked = lead.post(
        f"/api/v1/spend-requests/{other.id}/pay", json={"paid_on": today_local().isoformat(), "reference": "x"}
    )
    assert locked.status_code == 409 and "låst" in locked.get_json()["message"]
    reversed_ = lead.post(f"/api/v1/spend-requests/{request.id}/reverse-payment", json={"reason": "Refundert"})
    assert reversed_.status_code == 200 and reversed_.get_json()["status"] == "cancelled"
    line = db.session.scalar(select(VoucherLine).where(VoucherLine.kind == "reversal"))
    assert line.period == vouchers.next_period(PERIOD)
    assert events("spend.payment_reverse") == 1 and events("budget.period_exported") == 1


def test_the_api_closes_a_year_once(setup, login):
    client = login(setup.manager)
    last = year() - 1
    delegate(setup.lab, setup.agency, 1_000 * KR, on_year=last)
    bad = client.post(
        "/api/v1/year-ends",
        json={"year": last, "decisions": {str(setup.agency.id): {"unused": "keep", "unpaid": "carry"}}},
    )
    assert bad.status_code == 422
    decisions = {str(setup.agency.id): {"unused": "return", "unpaid": "release"}}
    first = client.post("/api/v1/year-ends", json={"year": last, "decisions": decisions})
    assert first.status_code == 201, first.get_json()
    second = client.post("/api/v1/year-ends", json={"year": last, "decisions": decisions})
    assert second.status_code == 409 and "allerede avsluttet" in second.get_json()["message"]
    moved = client.post(
        "/api/v1/allocations",
        json={"family_id": setup.family.id, "agency_id": setup.agency.id, "year": last, "amount": 100},
    )
    assert moved.status_code == 409 and "avsluttet" in moved.get_json()["message"]
    assert [c["year"] for c in client.get("/api/v1/year-ends").get_json()] == [last]
    assert login(setup.member).get("/api/v1/year-ends").status_code == 403


def test_the_pages_render_act_and_refuse(setup, login):
    client = login(setup.manager)
    page = client.get("/budsjett/regnskap")
    assert page.status_code == 200 and "Konteringskoder" in page.get_data(as_text=True)
    token = factories.csrf_from(page.get_data(as_text=True))
    form = {
        "csrf_token": token,
        "form": "codes",
        "codes-agency_id": setup.agency.id,
        "codes-ansvar": "41",
        "codes-art": "14700",
    }
    bad = client.post("/budsjett/regnskap", data=form | {"codes-funksjon": "2420"})
    assert bad.status_code == 422 and "KOSTRA" in bad.get_data(as_text=True)
    saved = client.post("/budsjett/regnskap", data=form | {"codes-funksjon": "242"})
    assert saved.status_code == 302
    request = paid(setup, 900 * KR)
    vouchers_page = client.get(f"/budsjett/bilag?etat={setup.agency.id}&periode={PERIOD}")
    text = vouchers_page.get_data(as_text=True)
    assert vouchers_page.status_code == 200 and 'data-ore="90000"' in text and 'data-balanced="true"' in text
    download = client.get(f"/budsjett/bilag?etat={setup.agency.id}&periode={PERIOD}&format=csv")
    rows, control = books.parse_voucher_csv(download.get_data(as_text=True).lstrip("\ufeff"))
    assert control[8] == "90000" and rows[0][9] == str(request.id)
    marked = client.post(
        f"/budsjett/bilag?etat={setup.agency.id}&periode={PERIOD}", data={"csrf_token": factories.csrf_from(text)}
    )
    assert marked.status_code == 302
    again = client.post(
        f"/budsjett/bilag?etat={setup.agency.id}&periode={PERIOD}", data={"csrf_token": factories.csrf_from(text)}
    )
    assert again.status_code == 409
    year_page = client.get("/budsjett/arsavslutning")
    assert year_page.status_code == 200 and "Avslutt budsjettåret" in year_page.get_data(as_text=True)
    lead = login(setup.lead)
    detail = lead.get(f"/budsjett/utgifter/{request.id}").get_data(as_text=True)
    assert "Tilbakefør betalingen" in detail
    assert login(setup.member).get("/budsjett/bilag").status_code == 403


def test_the_year_end_page_closes_a_year_once(setup, login):
    last = year() - 1
    delegate(setup.lab, setup.agency, 1_000 * KR, on_year=last)
    client = login(setup.manager)
    url = f"/budsjett/arsavslutning?ar={last}"
    page = client.get(url).get_data(as_text=True)
    form = {
        "csrf_token": factories.csrf_from(page),
        "agencies-0-agency_id": str(setup.agency.id),
        "agencies-0-unused": "return",
        "agencies-0-unpaid": "release",
        "agencies-0-decision_reference": "V 9",
    }
    unconfirmed = client.post(url, data=form)
    assert unconfirmed.status_code == 422 and "Bekreft" in unconfirmed.get_data(as_text=True)
    assert client.post(url, data=form | {"confirm": "y"}).status_code == 302
    closed = client.get(url).get_data(as_text=True)
    assert "er avsluttet" in closed and "V 9" in closed
    assert client.post(url, data=form | {"confirm": "y"}).status_code == 409
