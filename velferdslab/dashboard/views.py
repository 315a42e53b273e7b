"""Start page per role: the panels each domain registered with ``core.navigation.register_start_panel``.
Only create_app imports this module."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from velferdslab.core import navigation
from velferdslab.core.permissions import LOGIN, requires

blueprint = Blueprint("dashboard", __name__, template_folder="templates")

@blueprint.get("/")
@requires(LOGIN)
def index():
    panels: dict = {"templates": []}
    for panel in navigation.start_panels():
        found = dict(panel(current_user) or {})
        # Each panel brings its own templates; they are shown in registration order, not overwritten.
        panels["templates"] += found.pop("templates", [])
        panels.update(found)
    return render_template("dashboard/index.html", panels=panels)


navigation.register(_l("Start"), "dashboard.index", LOGIN, order=0)
