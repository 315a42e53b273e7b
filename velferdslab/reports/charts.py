"""Server-rendered SVG charts for the outcome report: no JavaScript, no ``style=`` attributes.

Black-and-white friendly: the two series differ in fill (white with a black outline against
solid dark grey) and every bar carries its number. A suppressed value draws no bar and shows
its mark ("<5", "×") instead, so a chart never tells more than the table next to it.
"""

from __future__ import annotations

from markupsafe import Markup

from velferdslab.core.svg import INK, MUTED, done, open_chart
from velferdslab.core.svg import num as _n
from velferdslab.core.svg import text as _text
from velferdslab.reports.suppression import Figure

SERIES = ({"fill": "#ffffff", "stroke": INK}, {"fill": "#4a5360", "stroke": INK})


def grouped_bars(*, chart_id: str, title: str, categories: list[str], series: list[tuple[str, list[Figure]]],
                 width: int = 560, height: int = 220) -> Markup:
    """Vertical bars: one group per category, one bar per series (at most two)."""
    left, right, top, bottom = 36, 10, 28, 40
    plot_h = height - top - bottom
    values = [f.value for _name, figures in series for f in figures if not f.hidden and f.value is not None]
    top_value = max(values + [1])
    group_w = (width - left - right) / max(len(categories), 1)
    bar_w = min(36.0, group_w / (len(series) + 1))
    desc = "; ".join(f"{cat}: " + ", ".join(f"{name} {figures[i].text}" for name, figures in series)
                     for i, cat in enumerate(categories))
    parts = [open_chart(chart_id, width, height, title, desc)]
    base_y = top + plot_h
    parts.append(f'<line x1="{left}" y1="{_n(base_y)}" x2="{width - right}" y2="{_n(base_y)}" stroke="{INK}"/>')
    for s_index, (name, _figures) in enumerate(series):
        style = SERIES[s_index % len(SERIES)]
        legend_x = left + s_index * 150
        parts.append(f'<rect x="{legend_x}" y="6" width="14" height="12" fill="{style["fill"]}" '
                     f'stroke="{style["stroke"]}"/>')
        parts.append(_text(legend_x + 20, 16, name, anchor="start"))
    for c_index, category in enumerate(categories):
        group_x = left + c_index * group_w
        start_x = group_x + (group_w - bar_w * len(series)) / 2
        for s_index, (_name, figures) in enumerate(series):
            figure = figures[c_index]
            style = SERIES[s_index % len(SERIES)]
            x = start_x + s_index * bar_w
            if figure.hidden or figure.value is None:
                parts.append(_text(x + bar_w / 2, base_y - 4, figure.text, fill=MUTED))
                continue
            bar_h = plot_h * figure.value / top_value
            parts.append(f'<rect x="{_n(x + 2)}" y="{_n(base_y - bar_h)}" width="{_n(bar_w - 4)}" '
                         f'height="{_n(bar_h)}" fill="{style["fill"]}" stroke="{style["stroke"]}"/>')
            parts.append(_text(x + bar_w / 2, base_y - bar_h - 3, figure.text))
        parts.append(_text(group_x + group_w / 2, base_y + 16, category))
    return done(parts)


def horizontal_bars(*, chart_id: str, title: str, rows: list[tuple[str, Figure]], width: int = 560) -> Markup:
    """One bar per row (money), labelled with its formatted value or its suppression mark."""
    label_w, right, row_h, top = 150, 110, 22, 6
    height = top * 2 + row_h * max(len(rows), 1)
    values = [f.value for _label, f in rows if not f.hidden and f.value]
    top_value = max(values + [1])
    plot_w = width - label_w - right
    desc = "; ".join(f"{label}: {figure.text}" for label, figure in rows)
    parts = [open_chart(chart_id, width, height, title, desc)]
    for index, (label, figure) in enumerate(rows):
        y = top + index * row_h
        parts.append(_text(label_w - 6, y + 15, label, anchor="end"))
        bar_w = 0.0 if figure.hidden or not figure.value else plot_w * figure.value / top_value
        if bar_w:
            parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{_n(bar_w)}" height="{row_h - 8}" '
                         f'fill="{SERIES[1]["fill"]}" stroke="{INK}"/>')
        parts.append(_text(label_w + bar_w + 6, y + 15, figure.text, anchor="start",
                           fill=MUTED if figure.hidden else INK))
    return done(parts)


def share_by_quarter(*, chart_id: str, title: str, points: list[tuple[str, int | None, str]],
                     width: int = 560, height: int = 200) -> Markup:
    """The share (0–100 %) per quarter as bars. ``points`` are (quarter, percent or None, text): a
    quarter whose share is hidden draws no bar (a gap) and prints its mark instead."""
    left, right, top, bottom = 44, 10, 14, 34
    plot_h = height - top - bottom
    base_y = top + plot_h
    slot_w = (width - left - right) / max(len(points), 1)
    bar_w = min(48.0, slot_w * 0.6)
    desc = "; ".join(f"{label}: {text}" for label, _value, text in points)
    parts = [open_chart(chart_id, width, height, title, desc)]
    for tick in (0, 50, 100):
        y = base_y - plot_h * tick / 100
        parts.append(f'<line x1="{left}" y1="{_n(y)}" x2="{width - right}" y2="{_n(y)}" '
                     f'stroke="{INK if tick == 0 else "#c4c9cf"}"/>')
        parts.append(_text(left - 4, y + 4, f"{tick} %", anchor="end", fill=MUTED))
    for index, (label, value, text) in enumerate(points):
        centre = left + slot_w * (index + 0.5)
        if value is None:
            parts.append(_text(centre, base_y - 4, text, fill=MUTED))
        else:
            bar_h = plot_h * value / 100
            parts.append(f'<rect x="{_n(centre - bar_w / 2)}" y="{_n(base_y - bar_h)}" width="{_n(bar_w)}" '
                         f'height="{_n(bar_h)}" fill="{SERIES[1]["fill"]}" stroke="{INK}"/>')
            parts.append(_text(centre, base_y - bar_h - 3 if bar_h < plot_h - 14 else base_y - bar_h + 14, text,
                               fill=INK if bar_h < plot_h - 14 else "#ffffff"))
        parts.append(_text(centre, base_y + 16, label))
    return done(parts)
