"""The family's plan (*duken*): goals and actions, and which actions are overdue.

Each service validates, changes, writes its audit row and flushes — it never commits (the request
does); a refusal is a :class:`ServiceError` naming the input at fault (see ``velferdslab.cases``).
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction
from velferdslab.auth.models import User
from velferdslab.cases.access import Access
from velferdslab.cases.journey.services import applicable_themes
from velferdslab.cases.plan.models import (
    ACTION_STATUSES,
    GOAL_HORIZONS,
    GOAL_STATUSES,
    OPEN_ACTION_STATUSES,
    Action,
    Goal,
)
from velferdslab.cases.rules import _text
from velferdslab.core.errors import ServiceError
from velferdslab.core.models import today_local
from velferdslab.extensions import db
from velferdslab.teams import services as teams


def is_overdue(action: Action, today: date | None = None) -> bool:
    """An open action whose due date has passed."""
    return (action.status in OPEN_ACTION_STATUSES and action.due_on is not None
            and action.due_on < (today or today_local()))


def create_goal(access: Access, *, actor: User, theme: str | None, horizon: str | None, text: str | None) -> Goal:
    """A goal in the family's own words, for a theme, short term, long term or a dream."""
    access.require_consent()
    family_id = access.family.id
    if theme not in applicable_themes(family_id):
        raise ServiceError(_("Temaet gjelder ikke for denne familien."), "theme")
    access.require_may_write(None, theme, "goal", "theme")
    if horizon not in GOAL_HORIZONS:
        raise ServiceError(_("Velg kort sikt, lang sikt eller drøm."), "horizon")
    text = _text(text, "text", max_length=1000, required=True, label_missing=_("Skriv målet med familiens ord."))
    goal = Goal(family_id=family_id, theme=theme, horizon=horizon, text=text, status="open", created_by_id=actor.id)
    db.session.add(goal)
    db.session.flush()
    audit.record(AuditAction.GOAL_CREATE, actor=actor, family_id=family_id, object_type="goal", object_id=goal.id,
                 summary={"theme": theme, "horizon": horizon})
    return goal


def update_goal(access: Access, goal: Goal, *, actor: User, text: str | None, status: str | None,
                horizon: str | None = None) -> Goal:
    access.require_consent()
    access.require_may_write(None, goal.theme, "goal", "goal_id")
    if goal.family_id != access.family.id:
        raise ServiceError(_("Målet hører ikke til familien."), "goal_id", status=404)
    if status not in GOAL_STATUSES:
        raise ServiceError(_("Ukjent status for målet."), "status")
    horizon = horizon or goal.horizon
    if horizon not in GOAL_HORIZONS:
        raise ServiceError(_("Velg kort sikt, lang sikt eller drøm."), "horizon")
    text = _text(text, "text", max_length=1000, required=True, label_missing=_("Skriv målet med familiens ord."))
    changed = [k for k, v in (("text", text), ("status", status), ("horizon", horizon)) if getattr(goal, k) != v]
    goal.text, goal.status, goal.horizon = text, status, horizon
    db.session.flush()
    audit.record(AuditAction.GOAL_UPDATE, actor=actor, family_id=goal.family_id, object_type="goal", object_id=goal.id,
                 summary={"fields": changed, "status": status})
    return goal


def _owner(family_id: int, owner_user_id: int | None, owner_is_family: bool) -> tuple[int | None, bool]:
    if owner_is_family and owner_user_id is None:
        return None, True
    team = teams.current_team(family_id)
    if owner_is_family or owner_user_id is None or team is None \
            or owner_user_id not in teams.current_member_ids(team.id, today_local()):
        raise ServiceError(_("Den ansvarlige må være med i teamet, eller være familien selv."), "owner")
    return owner_user_id, False


def _action_goal(access: Access, goal_id: int | None) -> int | None:
    """The action's goal, if any; an action is written in its goal's theme (without a goal: the
    family's shared plan), which the actor's agency must hold consent for (issue 15)."""
    goal = db.session.get(Goal, goal_id) if goal_id is not None else None
    if goal_id is not None and (goal is None or goal.family_id != access.family.id):
        raise ServiceError(_("Målet finnes ikke i familiens plan."), "goal_id")
    access.require_may_write(None, goal.theme if goal is not None else None, "action", "goal_id")
    return goal.id if goal is not None else None


def _action_fields(access: Access, *, title, owner_user_id, owner_is_family, due_on, review_on, goal_id,
                   status) -> dict:
    title = _text(title, "title", max_length=300, required=True, label_missing=_("Beskriv tiltaket."))
    if status not in ACTION_STATUSES:
        raise ServiceError(_("Ukjent status for tiltaket."), "status")
    owner_user_id, owner_is_family = _owner(access.family.id, owner_user_id, owner_is_family)
    return {"title": title, "owner_user_id": owner_user_id, "owner_is_family": owner_is_family, "due_on": due_on,
            "review_on": review_on, "goal_id": _action_goal(access, goal_id), "status": status}


def create_action(access: Access, *, actor: User, title: str | None, owner_user_id: int | None = None,
                  owner_is_family: bool = False, due_on: date | None = None, review_on: date | None = None,
                  goal_id: int | None = None, status: str = "planned", meeting_id: int | None = None) -> Action:
    """An action owned by a current team member or by the family, with due and review dates."""
    access.require_consent()
    family_id = access.family.id
    fields = _action_fields(access, title=title, owner_user_id=owner_user_id, owner_is_family=owner_is_family,
                            due_on=due_on, review_on=review_on, goal_id=goal_id, status=status)
    action = Action(family_id=family_id, meeting_id=meeting_id, created_by_id=actor.id, **fields)
    db.session.add(action)
    db.session.flush()
    audit.record(AuditAction.ACTION_CREATE, actor=actor, family_id=family_id, object_type="action", object_id=action.id,
                 summary={"owner_user_id": action.owner_user_id, "owner_is_family": action.owner_is_family,
                          "status": status, "goal_id": action.goal_id, "meeting_id": meeting_id})
    return action


def update_action(access: Access, action: Action, *, actor: User, **changes) -> Action:
    """Change an action; fields not given keep their value. The owner must still be on the team."""
    access.require_consent()
    access.require_may_write(None, action.goal.theme if action.goal is not None else None, "action", "action_id")
    if action.family_id != access.family.id:
        raise ServiceError(_("Tiltaket hører ikke til familien."), "action_id", status=404)
    current = {k: getattr(action, k) for k in ("title", "owner_user_id", "owner_is_family", "due_on", "review_on",
                                               "goal_id", "status")}
    unknown = set(changes) - set(current)
    if unknown:
        raise ServiceError(_("Ukjent felt."), sorted(unknown)[0])
    merged = {**current, **changes}
    if "owner_user_id" in changes and "owner_is_family" not in changes:
        merged["owner_is_family"] = False
    if changes.get("owner_is_family"):
        merged["owner_user_id"] = None
    owner_changed = (merged["owner_user_id"], merged["owner_is_family"]) != \
        (current["owner_user_id"], current["owner_is_family"])
    if owner_changed:
        fields = _action_fields(access, **merged)
    else:  # a status change must not fail because the owner has since left the team
        fields = {**merged, "title": _text(merged["title"], "title", max_length=300, required=True),
                  "goal_id": _action_goal(access, merged["goal_id"])}
        if fields["status"] not in ACTION_STATUSES:
            raise ServiceError(_("Ukjent status for tiltaket."), "status")
    changed = [k for k, v in fields.items() if current[k] != v]
    for key, value in fields.items():
        setattr(action, key, value)
    db.session.flush()
    audit.record(AuditAction.ACTION_UPDATE, actor=actor, family_id=action.family_id, object_type="action",
                 object_id=action.id, summary={"fields": changed, "status": action.status})
    return action
