"""*Mine familier* (also the start-page panel), the family search, and the family page."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from velferdslab.audit.actions import AuditAction
from velferdslab.cases import chart
from velferdslab.cases.access import Access
from velferdslab.cases.gate import family_route
from velferdslab.cases.journey import section
from velferdslab.cases.overview import queries
from velferdslab.cases.panels import family_panels
from velferdslab.cases.web import _user, blueprint
from velferdslab.core import navigation
from velferdslab.core.permissions import LOGIN, Permission, requires


def my_families_panel(user: Any) -> dict[str, Any] | None:
    """The start page panel for caseworkers and team leads."""
    if not user.has_permission(Permission.FAMILIES_WORK):
        return None
    return {"templates": ["cases/_my_families.html"],
            "family_list": queries.read_family_list(user, queries.FamilyListing())}


@blueprint.get("/familier")
@requires(Permission.FAMILIES_WORK)
def families() -> Any:
    """Mine familier, sorted and filtered by the query string, or a search by name among the
    families the user may see (``?q=``), shown and sorted the same way."""
    q = request.args.get("q", "").strip()[:100]
    listing = queries.FamilyListing.from_args(request.args)
    return render_template("cases/families.html", q=q, family_list=queries.read_family_list(current_user, listing, q))


@blueprint.get("/familier/<int:family_id>")
@requires(LOGIN)
@family_route(AuditAction.FAMILY_VIEW, content=False)
def family_page(access: Access) -> Any:
    """The family page: the summary and the journey first, then the other modules' panels (budget,
    privacy, the progress report), then the perspectives, duken, open actions, meetings, members,
    team and consent."""
    # The journey's charts and table of the latest assessments are kept per reader's view and language.
    page = queries.family_page(access, journey=section.family_journey)
    journey = page.journey_html
    panels = family_panels(access.family, _user(), access.gated)
    return render_template("cases/family.html", family=access.family, access=access, page=page, journey=journey,
                           panels=panels, swatch=chart.legend_swatch)


navigation.register(_l("Familier"), "cases.families", Permission.FAMILIES_WORK, order=10)
navigation.register_start_panel(my_families_panel, order=20)
