"""Forms for the plan (*duken*): goals and actions."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from velferdslab.cases.access import Access
from velferdslab.cases.enrolment import queries as enrolment_queries
from velferdslab.cases.enrolment import services as enrolment_services
from velferdslab.cases.fields import REQUIRED, _date
from velferdslab.cases.plan.models import (
    ACTION_STATUSES,
    GOAL_HORIZONS,
    GOAL_STATUSES,
    ActionStatus,
    Goal,
    GoalHorizon,
    GoalStatus,
)
from velferdslab.cases.themes import THEME_BY_CODE
from velferdslab.core.forms import choices
from velferdslab.core.models import today_local
from velferdslab.extensions import db

HORIZON_LABELS = GoalHorizon.lazy_labels()
GOAL_STATUS_LABELS = GoalStatus.lazy_labels()
ACTION_STATUS_LABELS = ActionStatus.lazy_labels()


class GoalForm(FlaskForm):
    theme = SelectField(_l("Tema"))
    horizon = SelectField(_l("Tidsperspektiv"), choices=choices((h, HORIZON_LABELS[h]) for h in GOAL_HORIZONS))
    text = TextAreaField(_l("Målet, med familiens egne ord"), validators=[DataRequired(REQUIRED), Length(max=1000)])


class GoalEditForm(FlaskForm):
    text = TextAreaField(_l("Målet, med familiens egne ord"), validators=[DataRequired(REQUIRED), Length(max=1000)])
    horizon = SelectField(_l("Tidsperspektiv"), choices=choices((h, HORIZON_LABELS[h]) for h in GOAL_HORIZONS))
    status = SelectField(_l("Status"), choices=choices((s, GOAL_STATUS_LABELS[s]) for s in GOAL_STATUSES))


class ActionForm(FlaskForm):
    title = StringField(_l("Tiltak"), validators=[DataRequired(REQUIRED), Length(max=300)])
    owner = SelectField(_l("Ansvarlig"))
    due_on = _date(_l("Frist"))
    review_on = _date(_l("Evalueres"))
    goal_id = SelectField(_l("Mål"), coerce=int)
    status = SelectField(_l("Status"), choices=choices((s, ACTION_STATUS_LABELS[s]) for s in ACTION_STATUSES))


# --- choices built per family (the plan page, the meeting form) ---------------------------------

def team_choices(family_id: int) -> list:
    """Who can own an action: the family itself, or a current member of its team."""
    enrolment = enrolment_services.current_enrolment(family_id)
    rows = [m for m in enrolment_queries.team_rows(family_id, getattr(enrolment, "id", None))
            if m.is_current(today_local())]
    seen, pairs = set(), [("", _("– velg –")), ("family", _("Familien selv"))]
    for m in rows:
        if m.user_id not in seen:
            seen.add(m.user_id)
            pairs.append((str(m.user_id), f"{m.user.name} ({m.agency.name if m.agency else _('ingen etat')})"))
    return choices(pairs)


def goal_choices(family_id: int, access: Access) -> list:
    """The family's open goals the reader's consents cover, for an action or a spend that serves one."""
    goals = [g for g in db.session.scalars(select(Goal).where(Goal.family_id == family_id,
                                                              Goal.status == GoalStatus.OPEN)
                                           .order_by(Goal.theme, Goal.id)) if access.may_see(None, g.theme, "goal")]
    return choices([(0, _("Uten mål"))] + [(g.id, f"{THEME_BY_CODE[g.theme].name}: {g.text[:60]}") for g in goals])


def owner_values(value: str | None) -> dict:
    """The owner field's value as the services take it."""
    if value == "family":
        return {"owner_user_id": None, "owner_is_family": True}
    return {"owner_user_id": int(value) if value and value.isdigit() else None, "owner_is_family": False}
