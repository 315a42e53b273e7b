"""The journey chart: server-rendered SVG with a title, a description and a table alternative."""

from datetime import date

from markupsafe import Markup

from tests.cases.world import ratings
from velferdslab.cases import chart
from velferdslab.cases.journey import queries, services
from velferdslab.cases.journey.queries import AssessmentPoint, JourneyHistory


def _history():
    points = [
        AssessmentPoint(1, date(2025, 1, 10), "intake", 1, 1, 1, None, None,
                        {("bolig", "team"): (1, None), ("bolig", "family"): (2, None)}),
        AssessmentPoint(2, date(2025, 6, 10), "regular", 1, 3, 2, "Helhet", None,
                        {("bolig", "team"): (3, None), ("bolig", "family"): (3, None)}),
        AssessmentPoint(3, date(2025, 12, 10), "regular", 1, 2, 2, None, None,
                        {("bolig", "team"): (2, "Tilbakeslag"), ("bolig", "family"): (3, None)}),
    ]
    return JourneyHistory(points=points, themes=["bolig"])


def test_the_chart_is_svg_with_a_title_and_a_description(app):
    with app.test_request_context():
        svg = chart.theme_chart(_history(), "bolig", chart_id="c1")
    assert isinstance(svg, Markup)
    assert svg.startswith("<svg") and 'role="img"' in svg and 'aria-labelledby="c1-title c1-desc"' in svg
    assert '<title id="c1-title">Bolig over tid</title>' in svg
    assert "Teamet: fra Uholdbar (10.01.2025) til Utsatt (10.12.2025), 3 vurderinger" in svg
    assert svg.count("<polyline") == 2  # team and family
    assert svg.count("<circle") == 3 and svg.count("<rect") == 4 + 3  # 4 level bands + 3 family squares
    assert "style=" not in svg  # the CSP forbids inline styles: presentation attributes only


def test_levels_are_drawn_higher_for_better_levels(app):
    with app.test_request_context():
        svg = str(chart.line_chart(chart_id="c", title="t", series=[("team", [(date(2025, 1, 1), 1),
                                                                             (date(2025, 2, 1), 4)])]))
    points = svg.split('<polyline points="')[1].split('"')[0].split()
    (x1, y1), (x2, y2) = (tuple(map(float, p.split(","))) for p in points)
    assert x2 > x1 and y2 < y1  # later to the right, bærekraftig above uholdbar


def test_text_in_the_chart_is_escaped(app):
    with app.test_request_context():
        svg = str(chart.line_chart(chart_id='x"><script>', title="<script>alert(1)</script>", series=[]))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "Ingen vurderinger ennå." in svg


def test_one_point_is_centred_and_the_charts_cover_every_rated_theme(app):
    history = _history()
    history.points = history.points[:1]
    with app.test_request_context():
        charts = chart.journey_charts(history)
        overall = chart.overall_chart(history)
    assert [c["theme"] for c in charts] == ["bolig"]
    assert "<circle" in overall and "<polyline" not in overall


def test_the_family_page_has_charts_and_a_table_alternative(world, login):
    access = world.access(world.member)
    services.create_assessment(access, actor=world.member, assessed_on=world.today, ratings=ratings({"bolig": 1}))
    page = login(world.member).get(f"/familier/{world.family.id}").get_data(as_text=True)
    assert page.count('class="journey-chart"') == 8
    assert "Vis investeringsferden som tabell" in page and "<caption>Nivå per tema" in page
    history = queries.journey_history(world.family.id)
    assert history.latest.level("bolig") == 1


def test_date_labels_do_not_collide_in_a_narrow_chart(app):
    """The report's small multiples are 320 px wide: fewer date labels there, each with room to spare."""
    import re

    series = [("team", [(date(2023, 11, 30), 1), (date(2026, 10, 30), 3)])]
    with app.test_request_context():
        wide = str(chart.line_chart(chart_id="w", title="t", series=series, width=560))
        narrow = str(chart.line_chart(chart_id="n", title="t", series=series, width=320))
    label = re.compile(r'<text x="([\d.]+)" y="\d+" text-anchor="(start|middle|end)"[^>]*>([a-zæøå]+\.? \d{4})</text>')
    assert len(label.findall(wide)) == 4
    spans = []
    for x, anchor, text in label.findall(narrow):
        width = len(text) * 6.5  # 11 px text: at most ~6.5 px a character
        left = float(x) - {"start": 0, "middle": width / 2, "end": width}[anchor]
        spans.append((left, left + width))
    assert len(spans) >= 2
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:], strict=False)), spans


def test_a_dense_series_keeps_markers_only_at_its_ends(app):
    from datetime import timedelta

    monthly = [(date(2023, 11, 30) + timedelta(days=30 * i), 1 + i % 3) for i in range(36)]
    with app.test_request_context():
        wide = str(chart.line_chart(chart_id="w", title="t", series=[("team", monthly)], width=640))
        narrow = str(chart.line_chart(chart_id="n", title="t", series=[("team", monthly)], width=320))
    assert wide.count("<circle") == 36  # 536 px for 35 gaps: room for every marker
    assert narrow.count("<circle") == 2  # 216 px: markers would overlap
    assert narrow.count("<polyline") == 1 and len(narrow.split('<polyline points="')[1].split('"')[0].split()) == 36
