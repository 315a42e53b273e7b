"""The one-page summary (issue 14): only protected figures, on the report (page and PDF) and on
management's start page, whose reading is audited like the report's."""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests import factories
from tests.reports import factories as rf
from tests.reports.test_outcome_views import pdf_text, query
from velferdslab.audit.models import AuditEvent
from velferdslab.extensions import db
from velferdslab.reports import summary as summary_module


@pytest.fixture
def manager(lab_data):
    return factories.user(lab_data["lab"], roles=("manager",))


def summary_section(html: str) -> str:
    found = re.search(r'<section class="report-summary".*?</section>', html, re.S)
    assert found, "no summary section"
    return re.sub(r"<[^>]+>", " ", found.group(0)).replace("&lt;", "<")


def test_the_summary_shows_only_protected_figures(lab_data, manager, login):
    client = login(manager)
    page = client.get(f"/rapporter/resultater?{query()}").get_data(as_text=True)
    text = summary_section(page)
    # 17 families; 1 referred and 2 closed are below the threshold: "<5", never the count.
    assert "17 familier er med" in text
    assert "<5 henvist" in text and "<5 avsluttet" in text
    assert not re.search(r"\b1 henvist|\b2 avsluttet", text)
    # The levels "now": uholdbar (1) and bærekraftig (2) are "<5", so the share stabil or better is
    # hidden too (either sum would need one of them) and the sentence says so instead of a number.
    assert "er skjult i dette utvalget" in text
    now = re.search(r"Hvor mange som nå er stabile.*?inntaksvurdering ennå\.", text, re.S).group(0)
    assert "10" not in now  # stabil 8 + bærekraftig 2 would be 10
    # No count from 1 to 4 stands anywhere in the summary (money and shares aside).
    for number in re.findall(r"(?<![\d,\u00a0])\b(\d+)\b(?![\d,\u00a0]| %| måneder| år)", text):
        assert number not in {"1", "2", "3", "4"}, (number, text)
    # The summary comes before the first table of the report.
    assert page.index('class="report-summary"') < page.index('id="table-flow"')
    # Spend total 70 000 kr is shown by the report, so the summary shows it too.
    assert "70\u00a0000,00\u00a0kr" in text


def test_the_summary_is_in_the_pdf(lab_data, manager, login):
    client = login(manager)
    text = pdf_text(client.get(f"/rapporter/resultater.pdf?{query()}").data)
    assert "Sammendrag" in text and "17 familier er med" in text
    assert "Utviklingen per kvartal" in text


def test_the_quarterly_trend_hides_small_quarters(lab_data, manager, login):
    client = login(manager)
    page = client.get(f"/rapporter/resultater?{query()}").get_data(as_text=True)
    table = re.search(r'<table class="report-table" id="table-trend">(.*?)</table>', page, re.S).group(1)
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</th>(.*?)</tr>", table, re.S)
    assert len(rows) == summary_module.TREND_QUARTERS
    for _label, cells in rows:
        values = [re.sub(r"<[^>]+>", "", c).strip().replace("&lt;", "<")
                  for c in re.findall(r"<td[^>]*>(.*?)</td>", cells, re.S)]
        for value in values[:3]:
            assert value in {"<5", "×", "0"} or int(value) >= 5, values
    assert 'id="chart-trend"' in page


def test_each_quarter_is_the_report_of_that_quarter(lab_data, manager, login, app):
    """The trend's quarter equals what the report of that quarter alone publishes."""
    client = login(manager)
    quarters = summary_module.last_quarters(rf.day(0))
    start, end = quarters[-2]
    single = client.get(f"/rapporter/resultater?start={start}&end={end}").get_data(as_text=True)
    whole = client.get(f"/rapporter/resultater?{query()}").get_data(as_text=True)
    trend = re.search(r'id="table-trend">(.*?)</table>', whole, re.S).group(1)
    row = re.findall(r"<tr><th scope=\"row\">.*?</th>(.*?)</tr>", trend, re.S)[-2]
    first = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    own = re.search(r'id="table-trend">(.*?)</table>', single, re.S).group(1)
    last = re.findall(r"<tr><th scope=\"row\">.*?</th>(.*?)</tr>", own, re.S)[-1]
    assert first == re.findall(r"<td[^>]*>(.*?)</td>", last, re.S)


def test_last_quarters_cross_the_year():
    quarters = summary_module.last_quarters(date(2026, 2, 10), 4)
    assert quarters == [(date(2025, 4, 1), date(2025, 6, 30)), (date(2025, 7, 1), date(2025, 9, 30)),
                        (date(2025, 10, 1), date(2025, 12, 31)), (date(2026, 1, 1), date(2026, 2, 10))]


def test_the_start_page_panel_for_management_is_audited(lab_data, manager, login):
    client = login(manager)
    before = db.session.query(AuditEvent).filter_by(action="reports.outcome_view").count()
    page = client.get("/").get_data(as_text=True)
    assert 'class="report-summary"' in page
    assert "Se hele resultatrapporten" in page and 'href="/rapporter/resultater"' in page
    text = summary_section(page)
    assert "familier er med" in text
    events = db.session.query(AuditEvent).filter_by(action="reports.outcome_view").all()
    assert len(events) == before + 1
    event = events[-1]
    assert event.actor_id == manager.id and event.family_id is None
    assert event.summary["format"] == "start_page" and event.summary["summary"] is True
    assert event.summary["start"] == date(rf.day(0).year, 1, 1).isoformat()


@pytest.mark.parametrize("role", ["caseworker", "team_lead", "admin"])
def test_no_summary_panel_for_others(lab_data, login, role):
    user = factories.user(lab_data["lab"], roles=(role,))
    client = login(user)
    page = client.get("/").get_data(as_text=True)
    assert "report-summary" not in page and "Se hele resultatrapporten" not in page
    assert db.session.query(AuditEvent).filter_by(action="reports.outcome_view").count() == 0


def test_money_left_only_for_those_who_manage_the_budget(lab_data, manager, login):
    client = login(manager)
    text = summary_section(client.get(f"/rapporter/resultater?{query()}").get_data(as_text=True))
    assert "Igjen av budsjettet" in text
