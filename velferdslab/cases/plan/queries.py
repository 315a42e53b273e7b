"""The family's actions, open ones or all, with their owners and goals, in one statement; and what of
them (and of its goals) a reader's consents cover."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Integer, Select, bindparam, select
from sqlalchemy.orm import joinedload

from velferdslab.cases.access import Access, Shown
from velferdslab.cases.plan.models import OPEN_ACTION_STATUSES, Action, Goal
from velferdslab.extensions import db


@cache
def _open_actions_query() -> Select[Action]:
    # Built once with the family as a parameter (issue 19: the family page asks it on every visit).
    return (select(Action).where(Action.family_id == bindparam("family_id", type_=Integer),
                                 Action.status.in_(OPEN_ACTION_STATUSES))
            .options(joinedload(Action.owner), joinedload(Action.goal))
            .order_by(Action.due_on.is_(None), Action.due_on, Action.id))


def open_actions(family_id: int) -> list[Action]:
    return list(db.session.scalars(_open_actions_query(), {"family_id": family_id}))


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
