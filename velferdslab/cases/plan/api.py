"""The plan (*duken*): goals and actions."""

from __future__ import annotations

from flask.views import MethodView

from velferdslab.audit.actions import AuditAction
from velferdslab.cases.access import Access
from velferdslab.cases.gate import family_route
from velferdslab.cases.plan import queries, schemas, services
from velferdslab.cases.plan.models import Action, Goal
from velferdslab.cases.web import _user
from velferdslab.cases.web import api_blueprint as blueprint
from velferdslab.core.api import paged
from velferdslab.core.permissions import LOGIN, requires


def _with_hidden(access: Access, rows: list, kind: str, theme, out) -> list:
    """Each row as ``out`` gives it, or, where no consent of the reader's agency covers it (issue 15),
    its id and why it is hidden — never its content."""
    return [out(row) if access.may_see(None, theme(row), kind)
            else {"id": row.id, "hidden": access.hidden_reason(None, theme(row), kind)} for row in rows]


@blueprint.route("/families/<int:family_id>/goals")
class Goals(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.GoalSchema(many=True))
    @paged(blueprint)
    @family_route(AuditAction.PLAN_VIEW)
    def get(self, access: Access):
        """The family's goals (duken). A goal the reader's consents do not cover is a row with its `id`
        and `hidden` (why) only."""
        return _with_hidden(access, queries.goals(access.family.id), "goal", lambda g: g.theme, lambda g: g)

    @requires(LOGIN)
    @blueprint.arguments(schemas.GoalSchema)
    @blueprint.response(201, schemas.GoalSchema)
    @family_route()
    def post(self, data, access: Access):
        return services.create_goal(access, actor=_user(), **data)


@blueprint.route("/families/<int:family_id>/goals/<int:goal_id>")
class GoalById(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.GoalUpdateSchema)
    @blueprint.response(200, schemas.GoalSchema)
    @family_route(load={"goal": Goal})
    def patch(self, data, access: Access, goal: Goal):
        merged = {"text": goal.text, "status": goal.status, "horizon": goal.horizon, **data}
        return services.update_goal(access, goal, actor=_user(), **merged)


def _action_out(action: Action) -> dict:
    out = {k: getattr(action, k) for k in ("id", "title", "owner_user_id", "owner_is_family", "due_on", "review_on",
                                           "goal_id", "status", "meeting_id")}
    out["overdue"] = services.is_overdue(action)
    return out


@blueprint.route("/families/<int:family_id>/actions")
class Actions(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.ActionSchema(many=True))
    @paged(blueprint)
    @family_route(AuditAction.PLAN_VIEW)
    def get(self, access: Access):
        """Every action, open ones first; `overdue` flags open actions past their due date."""
        return _with_hidden(access, queries.all_actions(access.family.id), "action",
                            lambda a: a.goal.theme if a.goal is not None else None, _action_out)

    @requires(LOGIN)
    @blueprint.arguments(schemas.ActionSchema)
    @blueprint.response(201, schemas.ActionSchema)
    @family_route()
    def post(self, data, access: Access):
        """An action owned by a current team member (`owner_user_id`) or the family (`owner_is_family`)."""
        return _action_out(services.create_action(access, actor=_user(), **data))


@blueprint.route("/families/<int:family_id>/actions/<int:action_id>")
class ActionById(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.ActionUpdateSchema)
    @blueprint.response(200, schemas.ActionSchema)
    @family_route(load={"action": Action})
    def patch(self, data, access: Access, action: Action):
        return _action_out(services.update_action(access, action, actor=_user(), **data))
