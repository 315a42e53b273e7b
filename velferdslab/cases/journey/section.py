"""The journey section of the family page, rendered once per (what the reader sees, language) — issue 19.

The section (the overall chart, a chart per theme and the table alternative) is a pure function of
the reader's :class:`~velferdslab.cases.journey.queries.JourneyHistory` — the current assessments
*after* the consent filter (``Access.may_see``: ratings of a person or theme the reader's agency has
no consent for are not in it) — and the language. Its HTML is kept in a small in-process LRU
keyed by a digest of exactly those inputs, plus the family and the reader's consent scope:

- the key changes when the data changes: a new assessment, a new version of one (its id and version
  are in the key), any rating's level or note, the applicable themes, the language;
- it is never shared between readers who may see different things: the filtered content, the
  family and the scope (what the reader's agency's consents cover, per person) are all in the key.

Nothing is read from the database here; only the charts and the template work are saved. The
table shows the latest :data:`HISTORY_ON_PAGE` assessments, with a link to the whole history
(``cases.assessments``), so the page does not grow with the history.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from flask import render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from velferdslab.cases import chart
from velferdslab.cases.access import Access
from velferdslab.cases.journey.queries import JourneyHistory

HISTORY_ON_PAGE = 12  # assessments in the family page's journey table; the rest are a link away
MAX_ENTRIES = 256     # sections kept per worker process (a section is some 20–60 KB)

_cache: OrderedDict[str, Markup] = OrderedDict()
_lock = threading.Lock()
stats = {"hits": 0, "misses": 0}


def cache_key(access: Access, history: JourneyHistory) -> str:
    """A digest of everything the section is made of (see the module's docstring)."""
    scope = access.scope
    parts: list[object] = [
        "v1", str(get_locale()), access.family.id, scope.everything,
        sorted((subject or 0, sorted(categories)) for subject, categories in scope.covered.items()),
        tuple(history.themes), HISTORY_ON_PAGE,
    ]
    for point in history.points:
        parts.append((point.id, point.version, point.assessed_on.isoformat(), point.kind, point.overall_level,
                      sorted(point.ratings.items())))
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _render(access: Access, history: JourneyHistory) -> Markup:
    charts = {"overall": chart.overall_chart(history), "themes": chart.journey_charts(history)}
    points = list(reversed(history.points[-HISTORY_ON_PAGE:]))
    more = len(history.points) > HISTORY_ON_PAGE
    caption = _("De siste %(shown)s av %(total)s vurderinger: nivå per tema (teamets vurdering, familiens og "
                "ungdommens i parentes)", shown=len(points), total=len(history.points)) if more else None
    return Markup(render_template(  # noqa: S704 - our own autoescaped template
        "cases/_journey_section.html", history=history, charts=charts, swatch=chart.legend_swatch, points=points,
        caption=caption, more_url=url_for("cases.assessments", family_id=access.family.id) if more else None,
        more_count=len(history.points)))


def journey_section(access: Access, history: JourneyHistory) -> Markup:
    """The journey section's HTML for this reader, from the cache when the same inputs were rendered before."""
    key = cache_key(access, history)
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            stats["hits"] += 1
            return found
    html = _render(access, history)
    with _lock:
        stats["misses"] += 1
        _cache[key] = html
        _cache.move_to_end(key)
        while len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)
    return html


def clear() -> None:
    with _lock:
        _cache.clear()
