"""The family page's extension hook: other domains put their panels on the family page here.

``FAMILY_PANELS`` is a list of functions ``(family, user, gated: bool) -> dict | None``. The family
page calls them in order; each returns ``None`` (no panel) or ``{"template": "...", **context}``.
The template is rendered with that context plus ``family``, ``user`` and ``gated`` and placed on
the page in the same order (the budget panel, an emergency-access banner, the progress-report
link). A panel must respect ``gated`` itself: a gated member may see the family's name, team and
meeting dates only.

A module of its own, so that a domain registering a panel imports no views.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import render_template
from markupsafe import Markup

FamilyPanel = Callable[..., "dict | None"]
FAMILY_PANELS: list[FamilyPanel] = []


def render_family_panels(family, user, gated: bool) -> list[Markup]:
    """Every registered panel, rendered in registration order."""
    rendered = []
    for panel in FAMILY_PANELS:
        spec = panel(family, user, gated)
        if not spec:
            continue
        context = dict(spec)
        template = context.pop("template")
        context.update(family=family, user=user, gated=gated)
        rendered.append(Markup(render_template(template, **context)))  # noqa: S704 - our own templates
    return rendered
