"""The journey chart: server-rendered SVG, the same on the family page and in the PDF report.

No JavaScript and no ``style=`` attributes (the CSP forbids them): geometry and colours are SVG
presentation attributes, so WeasyPrint draws it exactly as the browser does. Every chart has a
``<title>`` and ``<desc>`` (read by screen readers through ``role="img"``) and is meant to sit next
to its table alternative (``cases/_journey.html``).

Use::

    from velferdslab.cases import chart
    from velferdslab.cases.journey import queries
    history = queries.journey_history(family_id, themes)
    chart.overall_chart(history)                  # Markup: the overall level over time
    for item in chart.journey_charts(history):    # one small chart per theme
        item["name"], item["svg"]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypedDict

from flask_babel import format_date
from flask_babel import gettext as _
from markupsafe import Markup, escape

from velferdslab.cases.themes import LEVEL_NAMES, LEVELS, THEME_BY_CODE
from velferdslab.core.svg import MIN_FONT_SIZE, done, open_chart
from velferdslab.core.svg import num as _n


class LineStyle(TypedDict):
    color: str
    dash: str | None  # an SVG stroke-dasharray, or None for a solid line
    marker: str  # "circle", "square" or "triangle"


# Colours with at least 3:1 contrast against white (WCAG 1.4.11 for graphics).
PERSPECTIVE_STYLES: dict[str, LineStyle] = {
    "team": {"color": "#0b5a7a", "dash": None, "marker": "circle"},
    "family": {"color": "#8a4b00", "dash": "6 4", "marker": "square"},
    "young_person": {"color": "#5b2a86", "dash": "2 3", "marker": "triangle"},
    "overall": {"color": "#1b1f24", "dash": None, "marker": "circle"},
}
BAND_FILLS = {1: "#fbe9eb", 2: "#fdf0e1", 3: "#e6f0f9", 4: "#e6f3ea"}


def perspective_label(code: str) -> str:
    return {"team": _("Teamet"), "family": _("Familien"), "young_person": _("Ungdommen"),
            "overall": _("Samlet nivå")}[code]


@dataclass(frozen=True)
class Frame:
    width: int
    height: int
    left: int = 92
    right: int = 12
    top: int = 8
    bottom: int = 24

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def band(self) -> float:
        return (self.height - self.top - self.bottom) / len(LEVELS)

    def y(self, level: int) -> float:
        return self.height - self.bottom - (level - 0.5) * self.band

    def x(self, day: date, start: date, end: date) -> float:
        span = (end - start).days
        if span <= 0:
            return self.left + self.plot_width / 2
        return self.left + (day - start).days / span * self.plot_width


def _marker(kind: str, x: float, y: float, color: str) -> str:
    if kind == "square":
        return f'<rect x="{_n(x - 3.5)}" y="{_n(y - 3.5)}" width="7" height="7" fill="{color}"/>'
    if kind == "triangle":
        points = f"{_n(x)},{_n(y - 4.5)} {_n(x - 4.5)},{_n(y + 3.5)} {_n(x + 4.5)},{_n(y + 3.5)}"
        return f'<polygon points="{points}" fill="{color}"/>'
    return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="3.5" fill="{color}"/>'


MARKER_SPACING = 10  # px: closer than this on average, markers would overlap; only the ends get one
TICK_SPACING = 80  # px per date label ("nov. 2025" at 11 px is about 55 px wide) so neighbours never touch


def _ticks(start: date, end: date, count: int = 4) -> list[date]:
    span = (end - start).days
    if span <= 0:
        return [start]
    return [start + timedelta(days=round(span * i / (count - 1))) for i in range(count)]


def _describe(series: list[tuple[str, list[tuple[date, int]]]]) -> str:
    parts = []
    for perspective, points in series:
        if not points:
            continue
        first, last = points[0], points[-1]
        parts.append(_("%(who)s: fra %(first)s (%(d1)s) til %(last)s (%(d2)s), %(n)s vurderinger",
                       who=perspective_label(perspective), first=LEVEL_NAMES[first[1]],
                       d1=format_date(first[0], "dd.MM.yyyy"), last=LEVEL_NAMES[last[1]],
                       d2=format_date(last[0], "dd.MM.yyyy"), n=len(points)))
    return "; ".join(parts) + "." if parts else _("Ingen vurderinger ennå.")


def line_chart(*, chart_id: str, title: str, series: list[tuple[str, list[tuple[date, int]]]],
               start: date | None = None, end: date | None = None, width: int = 560, height: int = 150) -> Markup:
    """An SVG chart of levels (1–4) over time, one line per perspective in ``series``.

    ``series`` is ``[(perspective_code, [(date, level), ...]), ...]``; styles come from
    :data:`PERSPECTIVE_STYLES`. ``start``/``end`` fix the time axis so small multiples line up.
    Every assessment gets a marker unless they would overlap (a long history in a narrow chart):
    then only the first and the last do, and the dashed or dotted line tells the perspectives apart.
    """
    frame = Frame(width, height)
    days = [d for _p, points in series for d, _l in points]
    start = start or (min(days) if days else None)
    end = end or (max(days) if days else None)
    out = [open_chart(chart_id, width, height, title, _describe(series), css_class="journey-chart", with_id=False,
                      font=None)]
    for level in LEVELS:
        top = frame.y(level) - frame.band / 2
        out.append(f'<rect x="{frame.left}" y="{_n(top)}" width="{_n(frame.plot_width)}" height="{_n(frame.band)}" '
                   f'fill="{BAND_FILLS[level]}"/>')
        out.append(f'<text x="{frame.left - 6}" y="{_n(frame.y(level) + 4)}" text-anchor="end" '
                   f'font-size="{MIN_FONT_SIZE}" fill="#1b1f24">{escape(LEVEL_NAMES[level])}</text>')
    baseline = height - frame.bottom
    out.append(f'<line x1="{frame.left}" y1="{baseline}" x2="{width - frame.right}" y2="{baseline}" '
               f'stroke="#4a5563" stroke-width="1"/>')
    if start is not None and end is not None:
        count = max(2, min(4, int(frame.plot_width // TICK_SPACING) + 1))
        for i, tick in enumerate(_ticks(start, end, count)):
            x = frame.x(tick, start, end)
            anchor = "start" if i == 0 and start != end else "end" if tick == end and start != end else "middle"
            out.append(f'<text x="{_n(x)}" y="{height - 8}" text-anchor="{anchor}" font-size="{MIN_FONT_SIZE}" '
                       f'fill="#1b1f24">{escape(format_date(tick, "MMM yyyy"))}</text>')
    for perspective, points in series:
        if not points:
            continue
        # points is not empty, so neither was days: start and end were given or set from it.
        assert start is not None and end is not None
        style = PERSPECTIVE_STYLES[perspective]
        coords = [(frame.x(d, start, end), frame.y(level)) for d, level in points]
        dash = f' stroke-dasharray="{style["dash"]}"' if style["dash"] else ""
        width_attr = "3" if perspective == "overall" else "2"
        if len(coords) > 1:
            path = " ".join(f"{_n(x)},{_n(y)}" for x, y in coords)
            out.append(f'<polyline points="{path}" fill="none" stroke="{style["color"]}" '
                       f'stroke-width="{width_attr}"{dash}/>')
        if len(coords) > 2 and (coords[-1][0] - coords[0][0]) / (len(coords) - 1) < MARKER_SPACING:
            coords = [coords[0], coords[-1]]  # dense: the line carries the shape, the ends the legend's marker
        out.extend(_marker(style["marker"], x, y, style["color"]) for x, y in coords)
    return done(out)


def legend_swatch(perspective: str) -> Markup:
    """A small SVG sample of a perspective's line, for an HTML legend."""
    style = PERSPECTIVE_STYLES[perspective]
    dash = f' stroke-dasharray="{style["dash"]}"' if style["dash"] else ""
    return Markup(  # noqa: S704 - no text from users
        f'<svg xmlns="http://www.w3.org/2000/svg" width="36" height="12" viewBox="0 0 36 12" aria-hidden="true" '
        f'focusable="false"><line x1="2" y1="6" x2="34" y2="6" stroke="{style["color"]}" stroke-width="2"{dash}/>'
        f'{_marker(style["marker"], 18, 6, style["color"])}</svg>')


def _span(history) -> tuple[date | None, date | None]:
    if not history.points:
        return None, None
    return history.points[0].assessed_on, history.points[-1].assessed_on


def overall_chart(history, *, chart_id: str = "journey-overall", width: int = 560, height: int = 170) -> Markup:
    start, end = _span(history)
    return line_chart(chart_id=chart_id, title=_("Samlet nivå over tid"),
                      series=[("overall", history.overall_series())], start=start, end=end, width=width,
                      height=height)


def theme_chart(history, theme: str, *, chart_id: str | None = None, width: int = 560, height: int = 150) -> Markup:
    start, end = _span(history)
    series = [(p, history.series(theme, p)) for p in history.perspectives()]
    return line_chart(chart_id=chart_id or f"journey-{theme}", title=_("%(theme)s over tid",
                                                                       theme=THEME_BY_CODE[theme].name),
                      series=series, start=start, end=end, width=width, height=height)


def journey_charts(history, *, width: int = 340, height: int = 150, id_prefix: str = "journey") -> list[dict]:
    """One chart per theme (applicable or rated before), on a shared time axis.

    340 px wide, three fit side by side at 1366 px (``.small-multiples``) without being scaled down,
    so their 11 px labels stay 11 px on screen (issue 13); a narrower screen scrolls the chart."""
    return [{"theme": code, "name": THEME_BY_CODE[code].name,
             "svg": theme_chart(history, code, chart_id=f"{id_prefix}-{code}", width=width, height=height)}
            for code in history.rated_themes()]
