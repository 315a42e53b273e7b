"""Forms for the plan (*duken*): goals and actions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from velferdslab.cases.fields import REQUIRED, _date
from velferdslab.cases.plan.models import ACTION_STATUSES, GOAL_HORIZONS, GOAL_STATUSES
from velferdslab.core.forms import choices

HORIZON_LABELS = {"short": _l("Kort sikt"), "long": _l("Lang sikt"), "dream": _l("Drøm")}
GOAL_STATUS_LABELS = {"open": _l("Åpent"), "reached": _l("Nådd"), "dropped": _l("Lagt bort")}
ACTION_STATUS_LABELS = {"planned": _l("Planlagt"), "in_progress": _l("Pågår"), "done": _l("Utført"),
                        "dropped": _l("Droppet")}


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
