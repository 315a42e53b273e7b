"""The plan (*duken*): goals per theme and horizon, and actions."""

from __future__ import annotations

from flask import render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from velferdslab.audit.actions import AuditAction
from velferdslab.cases.access import Access, unique_reasons
from velferdslab.cases.gate import family_route
from velferdslab.cases.journey import services as journey_services
from velferdslab.cases.plan import forms, queries, services
from velferdslab.cases.plan.models import Action, Goal
from velferdslab.cases.themes import THEME_BY_CODE
from velferdslab.cases.web import _attach, _done, _user, blueprint, template_globals
from velferdslab.core.errors import ServiceError
from velferdslab.core.forms import choices, render_form
from velferdslab.core.models import today_local
from velferdslab.core.permissions import LOGIN, requires
from velferdslab.extensions import db

template_globals(horizon_labels=forms.HORIZON_LABELS, goal_status_labels=forms.GOAL_STATUS_LABELS,
                 action_status_labels=forms.ACTION_STATUS_LABELS)


def _plan_page(access, goal_form=None, action_form=None, status=200):
    family_id = access.family.id
    themes = journey_services.applicable_themes(family_id)
    goal_form = goal_form or forms.GoalForm(formdata=None)
    # Offered: the themes a goal may be written in (the service refuses the others, issue 15).
    goal_form.theme.choices = choices((t, THEME_BY_CODE[t].name) for t in themes if access.may_see(None, t, "goal"))
    action_form = action_form or forms.ActionForm(formdata=None)
    action_form.owner.choices = forms.team_choices(family_id)
    action_form.goal_id.choices = forms.goal_choices(family_id, access)
    goals = queries.visible_goals(access, list(db.session.scalars(
        select(Goal).where(Goal.family_id == family_id).order_by(Goal.theme, Goal.horizon, Goal.id))))
    board: dict[str, dict[str, list[Goal]]] = {t: {"short": [], "long": [], "dream": []} for t in themes}
    for goal in goals.items:
        board.setdefault(goal.theme, {"short": [], "long": [], "dream": []})[goal.horizon].append(goal)
    actions = queries.visible_actions(access, queries.all_actions(family_id))
    return render_template("cases/plan.html", family=access.family, board=board, actions=actions.items,
                           goal_form=goal_form, action_form=action_form, today=today_local(),
                           is_overdue=services.is_overdue, hidden=unique_reasons(goals.hidden, actions.hidden)), status


@blueprint.get("/familier/<int:family_id>/plan")
@requires(LOGIN)
@family_route(AuditAction.PLAN_VIEW)
def plan(access: Access):
    """Duken: the family's goals per theme (short term, long term, dreams) and every action."""
    return _plan_page(access)


@blueprint.post("/familier/<int:family_id>/plan/mal")
@requires(LOGIN)
@family_route()
def goal_new(access: Access):
    family_id = access.family.id
    form = forms.GoalForm()
    form.theme.choices = choices((t, THEME_BY_CODE[t].name) for t in journey_services.applicable_themes(family_id))
    if form.validate_on_submit():
        try:
            services.create_goal(access, actor=_user(), theme=form.theme.data, horizon=form.horizon.data,
                                 text=form.text.data)
        except ServiceError as error:
            _attach(form, error, "text")
        else:
            assert form.text.data is not None  # DataRequired, so a form that validated has it
            return _done(_("Målet er lagt til: %(text)s", text=form.text.data[:60]), family_id, "cases.plan")
    return _plan_page(access, goal_form=form, status=422)


@blueprint.route("/familier/<int:family_id>/plan/mal/<int:goal_id>", methods=["GET", "POST"])
@requires(LOGIN)
@family_route(AuditAction.GOAL_VIEW, load={"goal": Goal})
def goal_edit(access: Access, goal: Goal):
    family_id = access.family.id
    form = forms.GoalEditForm(obj=goal)
    if form.validate_on_submit():
        try:
            services.update_goal(access, goal, actor=_user(), text=form.text.data, status=form.status.data,
                                 horizon=form.horizon.data)
        except ServiceError as error:
            _attach(form, error, "text")
        else:
            return _done(_("Målet er oppdatert."), family_id, "cases.plan")
    return render_form("cases/simple_form.html", form, family=access.family,
                       title=_("Mål: %(theme)s", theme=THEME_BY_CODE[goal.theme].name),
                       fields=["text", "horizon", "status"], back=url_for("cases.plan", family_id=family_id))


def _action_values(form) -> dict:
    return {"title": form.title.data, **forms.owner_values(form.owner.data), "due_on": form.due_on.data,
            "review_on": form.review_on.data, "goal_id": form.goal_id.data or None, "status": form.status.data}


@blueprint.post("/familier/<int:family_id>/plan/tiltak")
@requires(LOGIN)
@family_route()
def action_new(access: Access):
    family_id = access.family.id
    form = forms.ActionForm()
    form.owner.choices = forms.team_choices(family_id)
    form.goal_id.choices = forms.goal_choices(family_id, access)
    if form.validate_on_submit():
        try:
            services.create_action(access, actor=_user(), **_action_values(form))
        except ServiceError as error:
            _attach(form, error, "title")
        else:
            return _done(_("Tiltaket er lagt til: %(title)s", title=form.title.data), family_id, "cases.plan")
    return _plan_page(access, action_form=form, status=422)


@blueprint.route("/familier/<int:family_id>/plan/tiltak/<int:action_id>", methods=["GET", "POST"])
@requires(LOGIN)
@family_route(AuditAction.ACTION_VIEW, load={"action": Action})
def action_edit(access: Access, action: Action):
    family_id = access.family.id
    access.require_may_see(None, action.goal.theme if action.goal is not None else None, "action")
    form = forms.ActionForm(obj=action)
    form.owner.choices = forms.team_choices(family_id)
    if action.owner_user_id and str(action.owner_user_id) not in {c.value for c in form.owner.choices}:
        assert action.owner is not None  # owner_user_id is set (checked above): a foreign key to the owner
        form.owner.choices += choices([(str(action.owner_user_id), _("%(name)s (ikke lenger i teamet)",
                                                                     name=action.owner.name))])
    form.goal_id.choices = forms.goal_choices(family_id, access)
    if action.goal_id and action.goal_id not in {c.value for c in form.goal_id.choices}:
        form.goal_id.choices += choices([(action.goal_id, _("Tidligere mål"))])
    if request.method == "GET":
        form.owner.data = "family" if action.owner_is_family else str(action.owner_user_id)
        form.goal_id.data = action.goal_id or 0
    if form.validate_on_submit():
        values = _action_values(form)
        try:
            services.update_action(access, action, actor=_user(), **values)
        except ServiceError as error:
            _attach(form, error, "title")
        else:
            return _done(_("Tiltaket er oppdatert: %(title)s", title=action.title), family_id, "cases.plan")
    return render_form("cases/simple_form.html", form, family=access.family, title=_("Endre tiltak"),
                       fields=["title", "owner", "due_on", "review_on", "goal_id", "status"],
                       back=url_for("cases.plan", family_id=family_id))
