"""Family pages (HTML). Thin: access and data come from ``cases.access`` and ``cases.queries``.

Only ``create_app`` imports this module.

Extension hook
--------------
``FAMILY_PANELS`` is a list of functions ``(family, user, gated: bool) -> dict | None``. The family
page calls them in order; each returns ``None`` (no panel) or ``{"template": "...", **context}``.
The template is rendered with that context plus ``family``, ``user`` and ``gated`` and placed on
the page in the same order (the budget panel, an emergency-access banner, the progress-report
link). A panel must respect ``gated`` itself: a gated member may see the family's name, team and
meeting dates only.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, render_template
from flask_login import current_user
from markupsafe import Markup

from velferdslab.audit import services as audit
from velferdslab.cases import access as family_access
from velferdslab.core.permissions import LOGIN, requires

blueprint = Blueprint("cases", __name__, template_folder="templates")

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
        rendered.append(Markup(render_template(template, **context)))  # noqa: S704 - our own template
    return rendered


@blueprint.get("/familier/<int:family_id>")
@requires(LOGIN)
def family_page(family_id: int):
    """The family page. Membership is checked per object (404 for everyone off the team)."""
    access = family_access.require_family(current_user, family_id)
    family = access.family
    audit.record("family.view", family_id=family.id, object_type="family", object_id=family.id,
                 purpose="familieside", summary={"gated": access.gated})
    panels = render_family_panels(family, current_user._get_current_object(), access.gated)
    return render_template("cases/family.html", family=family, access=access, panels=panels)
