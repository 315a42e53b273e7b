"""CSV and xlsx for spreadsheets: every CSV writer of the app goes through :func:`writer`, which makes
each cell formula-safe (CSV injection); every xlsx text cell goes through :func:`set_xlsx_text`.

A spreadsheet runs a cell that begins with ``=``, ``+``, ``-`` or ``@`` (and some also after a tab or
a carriage return) as a formula: an agency named ``=HYPERLINK("http://…", "Klikk")`` or
``@SUM(…)`` in the outcome report, or a purpose in the audit export, would be executed on the reader's
machine. Such a cell is written with a leading single quote, which spreadsheets show as text. A
plain negative number (``-1 200,50``, a net benefit below zero) cannot be a formula and is left as
it is, so it stays a number.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?[0-9][0-9 \u00a0.,]*%?")


def formula_like(text: str) -> bool:
    """Whether a spreadsheet could run ``text`` as a formula (a plain number such as ``-12`` cannot)."""
    start = text.lstrip(" \u00a0")[:1]
    return start in FORMULA_STARTS and not _PLAIN_NUMBER.fullmatch(text.strip())


def safe_cell(value: Any) -> Any:
    """``value`` as a CSV cell a spreadsheet will not run: numbers as they are, text prefixed with
    ``'`` when it (after leading spaces) begins with a formula character."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    text = str(value)
    if formula_like(text):
        return "'" + text
    return text


def set_xlsx_text(cell: Any, text: str) -> None:
    """Put ``text`` into an openpyxl cell as text, never as a formula: openpyxl would store a string
    beginning with ``=`` as a formula, so the type is forced to a string, and a formula-like text
    gets Excel's quote prefix (shown as text, and still text after the reader edits the cell)."""
    cell.value = text
    cell.data_type = "s"
    if formula_like(text):
        cell.quotePrefix = True


class SafeWriter:
    """``csv.writer`` whose every cell goes through :func:`safe_cell`."""

    def __init__(self, out, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out) -> SafeWriter:
    """The app's CSV dialect (semicolons and CRLF, as Excel in Norway expects), formula-safe."""
    return SafeWriter(out, delimiter=";", lineterminator="\r\n")


def read_rows(content: str) -> list[list[str]]:
    """Rows of a CSV in the app's dialect (for checks of the files it writes)."""
    import io

    return list(csv.reader(io.StringIO(content), delimiter=";"))
