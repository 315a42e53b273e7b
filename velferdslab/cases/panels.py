"""The family page's extension hook: other domains put their panels on the family page here.

``FAMILY_PANELS`` is a list of functions ``(family, user, gated: bool) -> dict | None``. The family
page calls them in order; each returns ``None`` (no panel) or ``{"template": "...", **context}``.
The template is rendered with that context plus ``family``, ``user`` and ``gated``.

Where a panel goes is decided here, not by the module that registers it (issue 13: the summary
comes first): ``PLACES`` names each known panel template's place — ``"top"`` (above the summary:
the emergency-access banner, which the team must see at once) or ``"below"`` (after the summary
and the journey: the budget, the privacy link, the progress report, in that order). A panel this
table does not know goes below, after the known ones, in registration order.

A panel must respect ``gated`` itself: a gated member may see the family's name, team and
meeting dates only.

A module of its own, so that a domain registering a panel imports no views.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import render_template
from markupsafe import Markup

FamilyPanel = Callable[..., "dict | None"]
FAMILY_PANELS: list[FamilyPanel] = []


TOP, BELOW = "top", "below"
PLACES: dict[str, tuple[str, int]] = {
    "privacy/emergency_banner.html": (TOP, 10),
    "budget/_family_panel.html": (BELOW, 10),
    "privacy/panel.html": (BELOW, 20),
    "reports/_progress_panel.html": (BELOW, 30),
}
UNKNOWN_PLACE = (BELOW, 100)


def _rendered(family, user, gated: bool) -> list[tuple[str, int, int, Markup]]:
    rendered = []
    for index, panel in enumerate(FAMILY_PANELS):
        spec = panel(family, user, gated)
        if not spec:
            continue
        context = dict(spec)
        template = context.pop("template")
        context.update(family=family, user=user, gated=gated)
        place, rank = PLACES.get(template, UNKNOWN_PLACE)
        rendered.append((place, rank, index,
                         Markup(render_template(template, **context))))  # noqa: S704 - our own templates
    return sorted(rendered, key=lambda item: (item[1], item[2]))


def family_panels(family, user, gated: bool) -> dict[str, list[Markup]]:
    """Every registered panel, rendered, by place (``"top"``, ``"below"``) in the page's order."""
    places: dict[str, list[Markup]] = {TOP: [], BELOW: []}
    for place, _rank, _index, markup in _rendered(family, user, gated):
        places[place].append(markup)
    return places


def render_family_panels(family, user, gated: bool) -> list[Markup]:
    """Every registered panel, rendered, top ones first, in the page's order."""
    places = family_panels(family, user, gated)
    return places[TOP] + places[BELOW]
