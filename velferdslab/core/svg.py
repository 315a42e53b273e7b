"""The one SVG kit the charts are drawn with (the journey charts in ``cases.chart``, the outcome
report's bars in ``reports.charts``): numbers, text and the accessible frame of a chart.

Server-rendered, no JavaScript and no ``style=`` attributes (the CSP forbids them): geometry and
colours are presentation attributes, so WeasyPrint draws a chart exactly as the browser does.
Every chart opens with a ``<title>`` and a ``<desc>`` that ``role="img"`` points to, and every text
is escaped here.
"""

from __future__ import annotations

from markupsafe import Markup, escape

INK = "#1b1f24"
MUTED = "#5b6470"
FONT = "DejaVu Sans, Arial, sans-serif"
MIN_FONT_SIZE = 11  # px: no chart text smaller (issue 13); charts are never drawn scaled down on screen


def num(value: float) -> str:
    """A coordinate: one decimal at most, no trailing zeros."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def text(x: float, y: float, content: str, *, anchor: str = "middle", size: int = MIN_FONT_SIZE,
         fill: str = INK) -> str:
    size = max(size, MIN_FONT_SIZE)
    return (f'<text x="{num(x)}" y="{num(y)}" text-anchor="{anchor}" font-size="{size}" fill="{fill}">'
            f"{escape(content)}</text>")


def open_chart(chart_id: str, width: int, height: int, title: str, desc: str, *, css_class: str | None = None,
               with_id: bool = True, font: str | None = FONT) -> str:
    """``<svg …>`` with its title and description; close it with ``</svg>`` and :func:`done`."""
    cid = escape(chart_id)
    attrs = ['xmlns="http://www.w3.org/2000/svg"']
    if with_id:
        attrs.append(f'id="{cid}"')
    if css_class:
        attrs.append(f'class="{escape(css_class)}"')
    attrs.append('role="img"')
    if not with_id:
        attrs.append('focusable="false"')
    attrs.append(f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
                 f'aria-labelledby="{cid}-title {cid}-desc"')
    if font:
        attrs.append(f'font-family="{font}"')
    return (f'<svg {" ".join(attrs)}>'
            f'<title id="{cid}-title">{escape(title)}</title>'
            f'<desc id="{cid}-desc">{escape(desc)}</desc>')


def done(parts: list[str]) -> Markup:
    """The chart's markup: every text in ``parts`` went through :func:`text` or ``escape``."""
    return Markup("".join(parts) + "</svg>")  # noqa: S704 - every text above is escaped
