"""*Mine familier* (also the start-page panel), the family search, and the family page."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from velferdslab.audit import services as audit
from velferdslab.cases import chart
from velferdslab.cases.overview import queries
from velferdslab.cases.panels import render_family_panels
from velferdslab.cases.web import _access, _user, blueprint
from velferdslab.core import navigation
from velferdslab.core.permissions import LOGIN, requires


def my_families_panel(user) -> dict | None:
    """The start page panel for caseworkers and team leads (``dashboard.views.START_PANELS``)."""
    if not user.has_permission("families.work"):
        return None
    summaries = queries.my_families(user)
    audit.record_for_families("family.list", {s.family.id: {"gated": s.access.gated} for s in summaries},
                              purpose="mine familier")
    return {"templates": ["cases/_my_families.html"], "my_families": summaries}


@blueprint.get("/familier")
@requires("families.work")
def families():
    """Mine familier, with a search by name among the families the user may see."""
    q = request.args.get("q", "").strip()[:100]
    if q:
        hits = queries.search_families(current_user, q)
        audit.record_for_families("family.search_hit", [hit.family.id for hit in hits], purpose="søk")
        return render_template("cases/families.html", q=q, hits=hits, summaries=None)
    panel = my_families_panel(current_user) or {}
    return render_template("cases/families.html", q="", hits=None, summaries=panel.get("my_families", []))


@blueprint.get("/familier/<int:family_id>")
@requires(LOGIN)
def family_page(family_id: int):
    """The family page: members, team, consent, the journey, duken, open actions and meetings."""
    access = _access(family_id)
    page = queries.family_page(access)
    audit.record("family.view", family_id=family_id, object_type="family", object_id=family_id,
                 purpose="familieside", summary={"gated": access.gated})
    charts = None
    if page.history is not None and page.history.points:
        charts = {"overall": chart.overall_chart(page.history), "themes": chart.journey_charts(page.history)}
    panels = render_family_panels(access.family, _user(), access.gated)
    return render_template("cases/family.html", family=access.family, access=access, page=page, charts=charts,
                           panels=panels, swatch=chart.legend_swatch)


navigation.register(_l("Familier"), "cases.families", "families.work", order=10)


def _register_start_panel() -> None:
    from velferdslab.dashboard.views import START_PANELS

    if my_families_panel not in START_PANELS:
        START_PANELS.append(my_families_panel)


_register_start_panel()
