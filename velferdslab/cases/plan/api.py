"""The plan (*duken*): goals and actions."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from velferdslab.cases.plan import queries, schemas, services
from velferdslab.cases.plan.models import Action, Goal
from velferdslab.cases.web import _access, _own, _read, _user
from velferdslab.cases.web import api_blueprint as blueprint
from velferdslab.core.permissions import LOGIN, requires
from velferdslab.extensions import db


@blueprint.route("/families/<int:family_id>/goals")
class Goals(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.GoalSchema(many=True))
    def get(self, family_id: int):
        """The family's goals (duken)."""
        access = _access(family_id, content=True)
        _read(access, "plan.view", purpose="api")
        return db.session.scalars(select(Goal).where(Goal.family_id == family_id).order_by(Goal.id)).all()

    @requires(LOGIN)
    @blueprint.arguments(schemas.GoalSchema)
    @blueprint.response(201, schemas.GoalSchema)
    def post(self, data, family_id: int):
        access = _access(family_id, content=True)
        return services.create_goal(access, actor=_user(), **data)


@blueprint.route("/families/<int:family_id>/goals/<int:goal_id>")
class GoalById(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.GoalUpdateSchema)
    @blueprint.response(200, schemas.GoalSchema)
    def patch(self, data, family_id: int, goal_id: int):
        access = _access(family_id, content=True)
        goal = _own(Goal, goal_id, family_id)
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
    def get(self, family_id: int):
        """Every action, open ones first; `overdue` flags open actions past their due date."""
        access = _access(family_id, content=True)
        _read(access, "plan.view", purpose="api")
        return [_action_out(a) for a in queries.all_actions(family_id)]

    @requires(LOGIN)
    @blueprint.arguments(schemas.ActionSchema)
    @blueprint.response(201, schemas.ActionSchema)
    def post(self, data, family_id: int):
        """An action owned by a current team member (`owner_user_id`) or the family (`owner_is_family`)."""
        access = _access(family_id, content=True)
        return _action_out(services.create_action(access, actor=_user(), **data))


@blueprint.route("/families/<int:family_id>/actions/<int:action_id>")
class ActionById(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.ActionUpdateSchema)
    @blueprint.response(200, schemas.ActionSchema)
    def patch(self, data, family_id: int, action_id: int):
        access = _access(family_id, content=True)
        action = _own(Action, action_id, family_id)
        return _action_out(services.update_action(access, action, actor=_user(), **data))
