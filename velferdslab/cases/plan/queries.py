"""The family's actions, open ones or all, with their owners and goals, in one statement; and what of
them (and of its goals) a reader's consents cover."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from velferdslab.cases.access import Access, Shown
from velferdslab.cases.plan.models import OPEN_ACTION_STATUSES, Action, Goal
from velferdslab.extensions import db


def open_actions(family_id: int) -> list[Action]:
    return list(db.session.scalars(
        select(Action).where(Action.family_id == family_id, Action.status.in_(OPEN_ACTION_STATUSES))
        .options(joinedload(Action.owner), joinedload(Action.goal))
        .order_by(Action.due_on.is_(None), Action.due_on, Action.id)))


def all_actions(family_id: int) -> list[Action]:
    return list(db.session.scalars(
        select(Action).where(Action.family_id == family_id)
        .options(joinedload(Action.owner), joinedload(Action.goal))
        .order_by(Action.status.in_(OPEN_ACTION_STATUSES).desc(), Action.due_on.is_(None), Action.due_on,
                  Action.id)))


def goals(family_id: int) -> list[Goal]:
    return list(db.session.scalars(select(Goal).where(Goal.family_id == family_id).order_by(Goal.id)))


def visible_goals(access: Access, goals: list[Goal]) -> Shown[Goal]:
    """The goals the reader's consents cover (a goal is the household's, in its theme; issue 15)."""
    return access.hide(goals, "goal")


def visible_actions(access: Access, actions: list[Action]) -> Shown[Action]:
    """The actions the reader's consents cover: in the theme of the goal they serve, or the plan's."""
    return access.hide(actions, "action", theme=lambda a: a.goal.theme if a.goal is not None else None)
