"""The outcome report as data (issue 14): every cell typed once — a count of families, an amount in
kroner, a share, months, or the suppression mark in its place — for the CSV, the xlsx workbook and
the API alike, so the three cannot drift apart.

Money is integer øre in the report; kroner are written as ``Decimal`` (øre / 100, exact: no float
ever holds an amount). A share is the whole percentage the page shows, as a fraction (30 % → 0.3).
Every text cell goes through ``core.spreadsheet`` (formula-safe: agency names are typed by people).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from velferdslab.cases.themes import THEME_BY_CODE
from velferdslab.core import spreadsheet
from velferdslab.reports import figures

COUNT, MONEY, SHARE, MONTHS, TEXT = "count", "money", "share", "months", "text"

_PERCENT = re.compile(r"(−|-)?([0-9]+)(?:,([0-9]+))? %")
_MONTHS = re.compile(r"([0-9]+),([0-9])")

# Columns whose every cell may be a mark (all shares hidden): their kind all the same.
_TEXT_COLUMNS = {("milestones", 4): SHARE, ("follow_ups", 4): SHARE}

# The unit of each kind in the API (``numbers``): money stays øre there, as everywhere in the API.
API_UNITS = {COUNT: "families", MONEY: "ore", SHARE: "share", MONTHS: "months", TEXT: None}

NUMBER_FORMATS = {COUNT: "0", MONEY: '#,##0.00 "kr"', SHARE: "0%", MONTHS: "0.0"}


@dataclass(frozen=True)
class Value:
    """One report cell: ``number`` (int families, Decimal kroner, Decimal share 0–1, Decimal months),
    or ``mark`` (``<5``, ``×``, ``–``) when the figure is suppressed."""

    kind: str
    number: int | Decimal | None = None
    mark: str | None = None

    @property
    def json(self) -> int | float | str | None:
        """The API's number: øre for money (as ever), a float share (0.3), months as a float."""
        if self.number is None:
            return self.mark
        if self.kind == MONEY:
            return int(self.number * 100)
        if isinstance(self.number, Decimal):
            return float(self.number)
        return self.number


def value(key: object, cell: object) -> Value:
    """The typed value of one cell of a ``figures.ReportTable`` row ``key``."""
    if isinstance(cell, figures.Figure):
        kind = MONEY if cell.money else COUNT
        if cell.hidden or cell.value is None:
            return Value(kind, mark=cell.text)
        if cell.money:
            return Value(kind, Decimal(cell.value).scaleb(-2).quantize(Decimal("0.01")))
        return Value(kind, int(cell.value))
    text = str(cell)
    if key == "median_months":
        match = _MONTHS.fullmatch(text)
        return Value(MONTHS, Decimal(f"{match[1]}.{match[2]}")) if match else Value(MONTHS, mark=text)
    match = _PERCENT.fullmatch(text)
    if match:
        percent = Decimal(f"{match[2]}.{match[3] or 0}") * (-1 if match[1] else 1)
        return Value(SHARE, percent / 100)
    if text.endswith("%") or text in ("×", "–") or text.startswith("<"):
        return Value(SHARE if text.endswith("%") else TEXT, mark=text)
    return Value(TEXT, mark=text)


def unit_labels() -> dict[str, str]:
    """The unit of each kind as it stands in a column header (Norwegian msgids)."""
    return {COUNT: _("antall familier"), MONEY: _("beløp (kr)"), SHARE: _("andel (%)"), MONTHS: _("måneder"),
            TEXT: ""}


@dataclass
class TypedTable:
    """A report table with typed cells; ``kinds`` per column when every row agrees, else ``None``."""

    table: figures.ReportTable
    rows: list[tuple[object, str, list[Value]]]
    kinds: list[str | None]


def typed_tables(report: figures.OutcomeReport) -> list[TypedTable]:
    result = []
    for table in figures.tables(report):
        rows = [(key, label, [value(key, cell) for cell in cells]) for key, label, cells in table.rows]
        kinds: list[str | None] = []
        for index in range(len(table.columns)):
            seen = {row[2][index].kind for row in rows if row[2][index].kind != TEXT}
            kinds.append(seen.pop() if len(seen) == 1 else _TEXT_COLUMNS.get((table.id, index)))
        result.append(TypedTable(table, rows, kinds))
    return result


def csv_number(v: Value) -> str:
    """A number as Excel in Norway reads it: decimal comma, no thousands separator, no unit."""
    if v.number is None:
        return v.mark or ""
    if isinstance(v.number, int):
        return str(v.number)
    number = v.number * 100 if v.kind == SHARE else v.number
    if v.kind == SHARE and number == number.to_integral():
        return str(int(number))
    return format(number, "f").replace(".", ",")


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def marks_note(threshold: int) -> str:
    return _("«<%(threshold)s»: 1–%(max)s familier (skjult av personvernhensyn). «×»: skjult for at et lite tall "
             "ikke skal kunne regnes ut av de andre. «–»: hele tabellen er holdt tilbake.",
             threshold=threshold, max=threshold - 1)


def scope_lines(f, assumption_set, lab_name: str, agency_name: str, threshold: int,
                noise_note: str | None = None) -> list[tuple[str, str]]:
    """What the export covers, as (label, text) lines above the tables."""
    lines = [(_("Lab"), lab_name), (_("Periode"), f"{f.start.isoformat()} – {f.end.isoformat()}")]
    if f.cohort:
        lines.append((_("Startår"), str(f.cohort)))
    if f.agency_id:
        lines.append((_("Etat i teamet"), agency_name))
    if f.theme:
        lines.append((_("Tema"), str(THEME_BY_CODE[f.theme].name)))
    if assumption_set is not None:
        lines.append((_("Forutsetninger"), _("%(name)s, versjon %(version)s", name=assumption_set.name,
                                             version=assumption_set.version)))
    lines.append((_("Tegn"), marks_note(threshold)))
    if noise_note:
        lines.append((_("Støy"), noise_note))
    return lines


class _Sheet:
    """Writes rows down one openpyxl sheet: text always as text (formula-safe), numbers with a format."""

    def __init__(self, sheet) -> None:
        self.sheet = sheet
        self.row = 1

    def text(self, column: int, content: str, *, font: Font | None = None, align: Alignment | None = None) -> None:
        cell = self.sheet.cell(row=self.row, column=column)
        spreadsheet.set_xlsx_text(cell, content)
        if font is not None:
            cell.font = font
        if align is not None:
            cell.alignment = align

    def value(self, column: int, v: Value, *, font: Font | None = None) -> None:
        if v.number is None:
            self.text(column, v.mark or "", font=font, align=Alignment(horizontal="right"))
            return
        cell = self.sheet.cell(row=self.row, column=column)
        cell.value = v.number
        cell.number_format = NUMBER_FORMATS[v.kind]
        if font is not None:
            cell.font = font


def _write_table(out: _Sheet, typed: TypedTable) -> None:
    bold = Font(bold=True)
    labels = unit_labels()
    table = typed.table
    out.text(1, table.title, font=bold)
    out.row += 1
    out.text(1, table.row_header or _("Rad"), font=bold)
    for index, (column, kind) in enumerate(zip(table.columns, typed.kinds, strict=True), start=2):
        header = f"{column}, {labels[kind]}" if kind and labels[kind] else column
        out.text(index, header, font=bold, align=Alignment(horizontal="right", wrap_text=True))
    out.row += 1
    for key, label, values in typed.rows:
        # A column of mixed units (time to stable: families and months): the unit goes by the row.
        mixed = [v.kind for index, v in enumerate(values) if typed.kinds[index] is None and v.kind != TEXT]
        row_label = f"{label}, {labels[mixed[0]]}" if mixed and labels[mixed[0]] else label
        font = bold if key == "total" else None
        out.text(1, row_label, font=font)
        for index, v in enumerate(values, start=2):
            out.value(index, v, font=font)
        out.row += 1
    out.row += 1


def outcome_xlsx(report: figures.OutcomeReport, *, title: str, scope: list[tuple[str, str]]) -> bytes:
    """The report as one xlsx sheet with a section per table: numbers as numbers (families as
    integers, kroner exact with a ``kr`` format, shares with a percent format), the unit in each
    column header, the marks as text, every text cell formula-safe."""
    book = Workbook()
    sheet = book.active
    sheet.title = _("Resultatrapport")[:31]
    out = _Sheet(sheet)
    out.text(1, title, font=Font(bold=True, size=14))
    out.row += 1
    for label, content in scope:
        out.text(1, label, font=Font(bold=True))
        out.text(2, content)
        out.row += 1
    out.row += 1
    for typed in typed_tables(report):
        _write_table(out, typed)
    sheet.column_dimensions["A"].width = 48
    for letter in "BCDEFG":
        sheet.column_dimensions[letter].width = 20
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()
