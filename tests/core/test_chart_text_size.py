"""Issue 13: no chart kit writes text smaller than 11 px (the browser walk checks it as drawn)."""

import re
from datetime import date

from velferdslab.cases import chart
from velferdslab.core import svg
from velferdslab.reports import charts
from velferdslab.reports.suppression import PRIMARY, Figure, shown

SIZE = re.compile(r'font-size="([\d.]+)"')


def _sizes(markup) -> list[float]:
    return [float(s) for s in SIZE.findall(str(markup))]


def test_every_chart_text_is_at_least_11_px(app):
    series = [("team", [(date(2025, 1, 5), 1), (date(2026, 3, 1), 3)]), ("family", [(date(2025, 1, 5), 2)])]
    with app.test_request_context():
        drawn = [chart.line_chart(chart_id="a", title="t", series=series, width=w) for w in (320, 340, 560)]
        drawn.append(charts.grouped_bars(chart_id="b", title="t", categories=["Uholdbar", "Stabil"],
                                         series=[("Inntak", [shown(3), Figure(None, PRIMARY, "<5")])]))
        drawn.append(charts.horizontal_bars(chart_id="c", title="t", rows=[("Bolig", shown(120000, money=True))]))
    sizes = [s for markup in drawn for s in _sizes(markup)]
    assert sizes and min(sizes) >= svg.MIN_FONT_SIZE == 11


def test_the_text_helper_never_goes_below_the_minimum():
    assert 'font-size="11"' in svg.text(0, 0, "x", size=8)
    assert 'font-size="14"' in svg.text(0, 0, "x", size=14)
