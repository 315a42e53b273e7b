"""The family's plan (*duken*): goals per theme and horizon, and the actions towards them."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from velferdslab.auth.models import User
from velferdslab.cases.themes import THEME_CODES
from velferdslab.core.models import UTCDateTime, one_of, utcnow
from velferdslab.core.vocabulary import Vocabulary
from velferdslab.extensions import Model


class GoalHorizon(Vocabulary):
    SHORT = "short", _l("Kort sikt")
    LONG = "long", _l("Lang sikt")
    DREAM = "dream", _l("Drøm")


class GoalStatus(Vocabulary):
    OPEN = "open", _l("Åpent")
    REACHED = "reached", _l("Nådd")
    DROPPED = "dropped", _l("Lagt bort")


class ActionStatus(Vocabulary):
    PLANNED = "planned", _l("Planlagt")
    IN_PROGRESS = "in_progress", _l("Pågår")
    DONE = "done", _l("Utført")
    DROPPED = "dropped", _l("Droppet")


GOAL_HORIZONS = GoalHorizon.codes()
GOAL_STATUSES = GoalStatus.codes()
ACTION_STATUSES = ActionStatus.codes()
OPEN_ACTION_STATUSES = (ActionStatus.PLANNED.value, ActionStatus.IN_PROGRESS.value)


class Goal(Model):
    """A goal on the family's plan (*duken*), in the family's own words."""

    __tablename__ = "goal"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"), index=True)
    theme: Mapped[str] = mapped_column(String(20))
    horizon: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    actions: Mapped[list[Action]] = relationship(back_populates="goal", order_by="Action.due_on")

    __table_args__ = (
        CheckConstraint(one_of("theme", THEME_CODES), name="theme_known"),
        CheckConstraint(one_of("horizon", GOAL_HORIZONS), name="horizon_known"),
        CheckConstraint(one_of("status", GOAL_STATUSES), name="status_known"),
    )


class Action(Model):
    """Something someone will do: owned by a team member or by the family."""

    __tablename__ = "action"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"))
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("goal.id"))
    # The meeting that agreed it: a link to ``meetings`` (built on the plan) by table name only.
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id"))
    title: Mapped[str] = mapped_column(String(300))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    owner_is_family: Mapped[bool] = mapped_column(Boolean, default=False)
    due_on: Mapped[date | None] = mapped_column(Date)
    review_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="planned")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    goal: Mapped[Goal | None] = relationship(back_populates="actions")
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_user_id])

    __table_args__ = (
        CheckConstraint(one_of("status", ACTION_STATUSES), name="status_known"),
        CheckConstraint("(owner_user_id IS NULL) = owner_is_family", name="one_owner"),
        Index("ix_action_family_status_due", "family_id", "status", "due_on"),
    )
