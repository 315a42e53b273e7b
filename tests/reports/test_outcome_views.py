"""The outcome report through the browser routes and the API: the same suppressed figures in HTML,
PDF, CSV and JSON; management only; no family name anywhere; every bad input a clear 422."""

from __future__ import annotations

import csv
import io
import re

import pytest
from pypdf import PdfReader

from tests import factories
from tests.reports import factories as rf
from velferdslab.audit.models import AuditEvent
from velferdslab.extensions import db

KR = 100


@pytest.fixture
def manager(lab_data):
    return factories.user(lab_data["lab"], roles=("manager",))


def query(**extra) -> str:
    params = {"start": rf.day(-700).isoformat(), "end": rf.day(0).isoformat(), **extra}
    return "&".join(f"{k}={v}" for k, v in params.items())


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def csv_rows(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def html_cell(html: str, table_id: str, row_label: str) -> list[str]:
    table = re.search(rf'<table class="report-table" id="table-{table_id}">(.*?)</table>', html, re.S).group(1)
    row = re.search(rf"<th scope=\"row\">{re.escape(row_label)}</th>(.*?)</tr>", table, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_small_counts_are_less_than_five_in_html_pdf_csv_and_json_alike(lab_data, manager, login):
    client = login(manager)
    html = client.get(f"/rapporter/resultater?{query()}")
    assert html.status_code == 200
    page = html.get_data(as_text=True)
    # The transition matrix: 2 families from utsatt to bærekraftig, 1 from stabil to uholdbar.
    assert html_cell(page, "transitions", "Utsatt")[3] == "&lt;5"
    assert html_cell(page, "transitions", "Stabil")[0] == "&lt;5"
    assert html_cell(page, "flow", "Henvist, ikke startet") == ["&lt;5"]
    assert html_cell(page, "flow", "Familier i utvalget") == ["17"]

    rows = csv_rows(client.get(f"/rapporter/resultater.csv?{query()}").get_data(as_text=True))
    by_key = {(r[0], r[2], r[3]): r[4] for r in rows[1:]}
    assert by_key[("transitions", "Utsatt", "Bærekraftig")] == "<5"
    assert by_key[("transitions", "Stabil", "Uholdbar")] == "<5"
    assert by_key[("flow", "Henvist, ikke startet", "Familier")] == "<5"
    assert by_key[("flow", "Familier i utvalget", "Familier")] == "17"
    # No CSV value is a small number: every count 1–4 is "<5".
    for value in by_key.values():
        assert value not in {"1", "2", "3", "4"}

    pdf = client.get(f"/rapporter/resultater.pdf?{query()}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data)
    assert "Resultatrapport" in text and "<5" in text
    assert re.search(r"Henvist, ikke startet\s*<5", text)
    assert re.search(r"Familier i utvalget\s*17", text)

    api = client.get(f"/api/v1/reports/outcome?{query()}").get_json()
    transitions = {row["label"]: row["values"] for row in api["sections"]["transitions"]["rows"]}
    assert transitions["Utsatt"][3] == "<5" and transitions["Stabil"][0] == "<5"
    assert api["families"] == 17 and api["threshold"] == 5


def test_the_same_hidden_cells_everywhere(lab_data, manager, login):
    client = login(manager)
    rows = csv_rows(client.get(f"/rapporter/resultater.csv?{query()}").get_data(as_text=True))
    api = client.get(f"/api/v1/reports/outcome?{query()}").get_json()
    from_api = {}
    for table_id, section in api["sections"].items():
        for row in section["rows"]:
            for column, value in zip(section["columns"], row["values"], strict=True):
                from_api[(table_id, row["label"], column)] = str(value)
    assert rows[0] == ["tabell", "tittel", "rad", "kolonne", "verdi", "enhet"]
    from_csv = {(r[0], r[2], r[3]): r[4] for r in rows[1:]}
    units = {(r[0], r[2], r[3]): r[5] for r in rows[1:]}
    assert from_csv.keys() == from_api.keys()
    marks = {"<5", "×"}
    assert {k for k, v in from_csv.items() if v in marks} == {k for k, v in from_api.items() if v in marks}
    for key, value in from_api.items():
        if value in marks:
            assert from_csv[key] == value
        elif key[0].startswith(("spend", "movement")) and key[2] == "Utbetalt":
            # Money: øre in the API, kroner as a number (decimal comma, no spaces, no unit) in the CSV.
            assert re.fullmatch(r"-?[0-9]+,[0-9]{2}", from_csv[key]), from_csv[key]
            assert int(from_csv[key].replace(",", "")) == int(value), key
            assert units[key] == "kr"
        elif isinstance(value, str) and value.endswith(" %"):
            # A share: "30 %" in the API, the number 30 with the unit "%" in the CSV.
            assert from_csv[key] == value.removesuffix(" %") and units[key] == "%", key
        else:
            assert from_csv[key] == value, key


def test_secondary_suppression_holds_in_every_format(lab_data, manager, login):
    """økonomi spend rests on 2 families; bolig is hidden with it so the total cannot give it away."""
    client = login(manager)
    page = client.get(f"/rapporter/resultater?{query()}").get_data(as_text=True)
    assert html_cell(page, "spend_theme", "Økonomi") == ["×"]
    assert html_cell(page, "spend_theme", "Bolig") == ["×"]
    assert html_cell(page, "spend_theme", "I alt") == ["70\u00a0000,00\u00a0kr"]
    rows = csv_rows(client.get(f"/rapporter/resultater.csv?{query()}").get_data(as_text=True))
    spend = {r[2]: r[4] for r in rows if r[0] == "spend_theme"}
    assert spend["Økonomi"] == "×" and spend["Bolig"] == "×"
    text = pdf_text(client.get(f"/rapporter/resultater.pdf?{query()}").data)
    assert "50\u00a0000" not in text and "60\u00a0000,00" not in text and "10\u00a0000,00" not in text


def test_no_family_name_reaches_the_report(lab_data, manager, login):
    names = [fam.household_name for group in lab_data["groups"].values() for fam in group]
    client = login(manager)
    outputs = [client.get(f"/rapporter/resultater?{query()}").get_data(as_text=True),
               client.get(f"/rapporter/resultater.csv?{query()}").get_data(as_text=True),
               client.get(f"/api/v1/reports/outcome?{query()}").get_data(as_text=True),
               pdf_text(client.get(f"/rapporter/resultater.pdf?{query()}").data)]
    for output in outputs:
        for name in names:
            assert name not in output


@pytest.mark.parametrize("role, status", [("caseworker", 403), ("team_lead", 403), ("admin", 403), ("manager", 200)])
def test_only_management_reads_the_outcome_report(lab, login, role, status):
    user = factories.user(lab, roles=(role,))
    client = login(user)
    for path in ("/rapporter/resultater", "/rapporter/resultater.csv", "/api/v1/reports/outcome"):
        assert client.get(path).status_code == status, path


def test_anonymous_is_sent_to_login(client):
    assert client.get("/rapporter/resultater").status_code == 302
    assert client.get("/api/v1/reports/outcome").status_code == 401


@pytest.mark.parametrize("params, field", [
    ("start=2026-05-01&end=2026-01-01", "end"),
    ("start=ikke-en-dato", "start"),
    ("cohort=abc", "cohort"),
    ("theme=ukjent", "theme"),
    ("agency_id=999999", "agency_id"),
    ("success_rate=150", "success_rate"),
    ("success_rate=-5", "success_rate"),
])
def test_bad_filters_answer_422_with_a_message(lab, login, params, field):
    client = login(factories.user(lab, roles=("manager",)))
    for path in ("/rapporter/resultater", "/rapporter/resultater.pdf", "/rapporter/resultater.csv"):
        response = client.get(f"{path}?{params}")
        assert response.status_code == 422, (path, params)
        assert 'class="error"' in response.get_data(as_text=True)


@pytest.mark.parametrize("params, field", [
    ("start=2026-05-01&end=2026-01-01", "end"),
    ("start=ikke-en-dato", "start"),
    ("theme=ukjent", "theme"),
    ("agency_id=999999", "agency_id"),
    ("success_rate=1.5", "success_rate"),
    ("assumption_set_id=999999", "assumption_set_id"),
])
def test_bad_filters_answer_422_in_the_api(lab, login, params, field):
    client = login(factories.user(lab, roles=("manager",)))
    response = client.get(f"/api/v1/reports/outcome?{params}")
    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in response.get_json()["errors"]


def test_a_filter_that_leaves_no_families_says_so(lab_data, manager, login):
    client = login(manager)
    far = "start=2001-01-01&end=2001-12-31"
    page = client.get(f"/rapporter/resultater?{far}")
    assert page.status_code == 200
    assert "Ingen familier i utvalget" in page.get_data(as_text=True)
    assert "Ingen familier i utvalget" in pdf_text(client.get(f"/rapporter/resultater.pdf?{far}").data)
    api = client.get(f"/api/v1/reports/outcome?{far}").get_json()
    assert api["families"] == 0 and api["benefit"]["shown"] is False


def test_the_benefit_model_is_on_the_report_with_its_assumptions(lab, login):
    from tests.reports.test_outcome import five_of_each

    agency = factories.agency(lab, name="Etat X", kind="nav")
    families = five_of_each(lab)
    for fam in families[:7]:
        rf.paid_spend(lab, fam, agency, 10_000 * KR)
    rf.assumption_set(lab, agency, name="Asker 2026")
    client = login(factories.user(lab, roles=("manager",)))
    page = client.get(f"/rapporter/resultater?{query()}").get_data(as_text=True)
    assert "Beregnet med forutsetningene «Asker 2026», versjon 1." in page
    assert 'id="table-sensitivity-discount_rate"' in page and 'id="table-benefit-agencies"' in page
    api = client.get(f"/api/v1/reports/outcome?{query()}").get_json()
    assert api["benefit"]["shown"] is True
    assert api["benefit"]["assumption_set"]["name"] == "Asker 2026"
    assert api["benefit"]["spend_paid"] == 70_000 * KR and api["benefit"]["saving_unit"] == 1_000 * KR
    text = pdf_text(client.get(f"/rapporter/resultater.pdf?{query()}").data)
    assert "Asker 2026" in text and "Gevinstmodellen" in text


def test_reading_the_report_is_audited_without_family_ids(lab_data, manager, login):
    client = login(manager)
    client.get(f"/rapporter/resultater.csv?{query(theme='bolig')}")
    event = db.session.query(AuditEvent).filter_by(action="reports.outcome_csv").one()
    assert event.family_id is None and event.actor_id == manager.id
    assert event.summary["theme"] == "bolig" and event.summary["format"] == "csv"
