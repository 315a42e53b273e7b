"""Start page per role: the panels each domain registered with ``core.navigation.register_start_panel``,
and *Mine oppgaver* (``dashboard.tasks``: it reads both cases and budget). Only create_app imports
this module."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from velferdslab.core import navigation
from velferdslab.core.permissions import LOGIN, Permission, requires
from velferdslab.dashboard import tasks

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


@blueprint.get("/oppgaver")
@requires(Permission.FAMILIES_WORK)
def my_tasks():
    """Mine oppgaver: the user's actions, assessments due, meetings and spend requests, across families."""
    page = tasks.read_my_tasks(current_user, tasks.TaskListing.from_args(request.args))
    return render_template("dashboard/tasks.html", page=page, kinds=tasks.TASK_KINDS)


navigation.register(_l("Start"), "dashboard.index", LOGIN, order=0)
navigation.register(_l("Mine oppgaver"), "dashboard.my_tasks", Permission.FAMILIES_WORK, order=12)
