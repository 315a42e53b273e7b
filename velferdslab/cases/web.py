"""The one HTML blueprint (``cases``) and the one API blueprint (``cases_api``) that every
sub-package's ``views`` and ``api`` add their routes to, and the helpers their handlers share.

Family-scoped routes declare only ``LOGIN``: whether a user may see *this* family is decided per
object by the family gate (``cases.gate.family_route``), so everyone off the team — managers and
administrators included — gets the same audited 404 as for a family that does not exist.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path

from flask import Blueprint, flash, g, redirect, url_for
from flask_login import current_user
from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader
from sqlalchemy import select

from velferdslab.auth.models import Agency
from velferdslab.cases.themes import LEVEL_CODES, LEVEL_NAMES, THEME_BY_CODE
from velferdslab.core import api as core_api
from velferdslab.core.errors import ServiceError
from velferdslab.core.forms import add_error, choices
from velferdslab.core.i18n import translated_tables
from velferdslab.extensions import db
from velferdslab.teams.models import TeamRole

# Each keeps its templates in its own templates/cases/; the shared partials are in cases/templates/cases/.
SUBPACKAGES = ("household", "enrolment", "consent", "journey", "plan", "meetings", "overview", "minside")


class CasesBlueprint(Blueprint):
    """A blueprint that finds its templates in every sub-package's ``templates/`` folder, then in the
    shared ``cases/templates/``; a template keeps its name (``cases/meeting_form.html``) wherever it lives."""

    @cached_property
    def jinja_loader(self) -> BaseLoader:
        root = Path(self.root_path)
        return ChoiceLoader([FileSystemLoader(root / name / "templates") for name in SUBPACKAGES]
                            + [FileSystemLoader(root / "templates")])


blueprint = CasesBlueprint("cases", __name__)


@blueprint.app_template_global()
def read_only() -> bool:
    """This page is seen through emergency access, which is for looking: hide every write action
    (the gate refuses them anyway) instead of offering a form that fails."""
    return bool(g.get("family_read_only"))
api_blueprint = core_api.Blueprint(
    "cases_api", __name__, url_prefix="/api/v1",
    description="Families, members, enrolment, consent, journey assessments, plan and meetings")


def template_globals(**tables) -> None:
    """Label tables as template globals, so imported macros see them too — each translated once per
    language (``core.i18n.TranslatedTable``), not in every table cell."""
    translated = translated_tables(tables)
    blueprint.record_once(lambda state: state.app.jinja_env.globals.update(translated))


template_globals(level_names=LEVEL_NAMES, level_codes=LEVEL_CODES, themes_by_code=THEME_BY_CODE,
                 team_role_labels=TeamRole.lazy_labels())


def _user():
    return current_user._get_current_object()


_DOTTED = re.compile(r"^(new_actions|actions)\.(\d+)\.(\w+)$")


def _attach(form, error: ServiceError, default: str) -> None:
    """Put a service's message on the form field it names; nested API-style names map to rows."""
    match = _DOTTED.match(error.field or "")
    if match:
        group, index, name = match.groups()
        name = {"owner_user_id": "owner", "owner_is_family": "owner"}.get(name, name)
        error = ServiceError(error.message, f"new_{index}_{name}" if group == "new_actions"
                             else f"action_{index}_{name}")
    add_error(form, error, default)


def _done(message: str, family_id: int, endpoint: str = "cases.family_page", **values):
    flash(message, "success")
    return redirect(url_for(endpoint, family_id=family_id, **values))


def _agency_choices(lab_id: int, blank: str | None) -> list:
    agencies = db.session.scalars(select(Agency).where(Agency.lab_id == lab_id, Agency.active.is_(True))
                                  .order_by(Agency.name)).all()
    return choices(([(0, blank)] if blank else []) + [(a.id, a.name) for a in agencies])
