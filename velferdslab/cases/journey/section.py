"""The journey section of the family page, rendered once per (what the reader sees, language) — issue 19.

The section (the overall chart, a chart per theme and the table alternative) is a pure function of
the reader's :class:`~velferdslab.cases.journey.queries.JourneyHistory` — the current assessments
*after* the consent filter (``Access.may_see``: ratings of a person or theme the reader's agency has
no consent for are not in it) — and the language. Its HTML is kept in a small in-process LRU
keyed by a digest of those inputs, plus the family and the reader's consent scope:

- the key changes when the data changes: a new assessment, a new version of one (its id, version
  and time of writing are in the key: a correction is a new row with its own ratings, and a row
  reusing an id — a restored backup — was written at another time), the applicable themes, the
  language, the family's erasure;
- it is never shared between readers who may see different things: the family and the scope (what
  the reader's agency's consents cover, per person) are in the key, and what is shown of the
  ratings follows from the ratings and the scope alone.

The key is made from the assessments' rows only. A theme rating is written once, with the version of
the assessment it belongs to (``journey.services``), and never changed in place (only the family's
erasure blanks its note; ``erased_at`` is in the key), so the ratings are a function of the
assessments' ids. :func:`family_journey` therefore reads the assessments (one statement) and only on
a miss their ratings (a second one, some 500 rows for three years): the entry keeps what the page
reads of the history (the latest point with its visible ratings, the earlier points' dates, kinds
and levels, the themes ever rated) and which ratings were hidden, as facts, worded again for each
reader (the words name the reader's agency, which is not in the key).

The table shows the latest :data:`HISTORY_ON_PAGE` assessments, with a link to the whole history
(``cases.assessments``), so the page does not grow with the history.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

from flask import render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from velferdslab.cases import chart
from velferdslab.cases.access import Access
from velferdslab.cases.journey import queries as journey_queries
from velferdslab.cases.journey.queries import AssessmentPoint, HiddenRatings, JourneyHistory

HISTORY_ON_PAGE = 12  # assessments in the family page's journey table; the rest are a link away
MAX_ENTRIES = 256     # sections kept per worker process (a section is some 20–60 KB)


@dataclass(frozen=True)
class Entry:
    """What is kept per key: the section's HTML, the points as this view shows them — the latest with
    its ratings, the earlier ones without (the page reads only their dates, kinds and levels; a
    three-year history's ratings are some 250 KB) — read-only, shared by every request with the
    same key; the themes ever rated, and what was hidden of the ratings."""

    html: Markup
    points: tuple[AssessmentPoint, ...]
    rated: tuple[str, ...]
    hidden: HiddenRatings

    def history(self, access: Access, themes: list[str]) -> JourneyHistory:
        return JourneyHistory(points=list(self.points), themes=themes, hidden=self.hidden.reasons(access),
                              latest_ratings_only=True, rated=list(self.rated))


def _lean(point: AssessmentPoint) -> AssessmentPoint:
    return replace(point, ratings={}, voices=[])


_cache: OrderedDict[str, Entry] = OrderedDict()
_lock = threading.Lock()
stats = {"hits": 0, "misses": 0}


def cache_key(access: Access, history: JourneyHistory) -> str:
    """A digest of everything the section is made of (see the module's docstring)."""
    scope = access.scope
    parts: list[object] = [
        "v2", str(get_locale()), access.family.id, str(access.family.erased_at), scope.everything,
        sorted((subject or 0, sorted(categories)) for subject, categories in scope.covered.items()),
        tuple(history.themes), HISTORY_ON_PAGE,
    ]
    for point in history.points:  # the rows' own columns; their ratings follow from the id (see above)
        parts.append((point.id, point.version, str(point.created_at), point.assessed_on.isoformat(), point.kind,
                      point.overall_level, point.suggested_level, point.override_reason, point.meeting_id))
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


def _lookup(key: str) -> Entry | None:
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            stats["hits"] += 1
        return found


def _store(key: str, entry: Entry) -> None:
    with _lock:
        stats["misses"] += 1
        _cache[key] = entry
        _cache.move_to_end(key)
        while len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)


def family_journey(access: Access, themes: list[str]) -> tuple[JourneyHistory, Markup | None]:
    """The reader's journey history and the section's HTML (None: no assessment yet). One statement
    when the same view was built before (the assessments), two otherwise (and their ratings)."""
    points = journey_queries.assessment_points(access.family.id)
    if not points:
        return JourneyHistory(points=[], themes=themes), None
    key = cache_key(access, JourneyHistory(points=points, themes=themes))
    entry = _lookup(key)
    if entry is None:
        hidden = journey_queries.attach_ratings(access.family.id, points, access)
        history = JourneyHistory(points=points, themes=themes, hidden=hidden.reasons(access))
        entry = Entry(_render(access, history), (*map(_lean, points[:-1]), points[-1]),
                      tuple(history.rated_themes()), hidden)
        _store(key, entry)
        return history, entry.html
    return entry.history(access, themes), entry.html


def clear() -> None:
    with _lock:
        _cache.clear()
