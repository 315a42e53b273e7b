"""The meeting form, built per family: attendees, notes and decisions, that day's rating of every
applicable theme, the status of each open action and rows for new ones."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from velferdslab.auth.forms import MultiCheckboxField
from velferdslab.cases.fields import _date
from velferdslab.cases.household.models import FamilyMember, MemberRole
from velferdslab.cases.journey.forms import _add_rating_fields
from velferdslab.cases.plan.forms import ACTION_STATUS_LABELS
from velferdslab.cases.plan.models import ACTION_STATUSES
from velferdslab.core.forms import choices

NEW_ACTION_ROWS = 3
ROLE_LABELS = MemberRole.lazy_labels()


def member_age(member: FamilyMember, year: int) -> int:
    """The age reached this calendar year (only the birth year is stored)."""
    return member.age_in(year)


def attendee_label(member: FamilyMember, year: int, *, with_age: bool = True) -> str:
    """"Anne Berg (forelder, 41 år)": the family attendee with role and age (the age left out for
    someone who may not see birth years, a gated member)."""
    role = str(ROLE_LABELS.get(member.role, member.role)).lower()
    if not with_age:
        return _l("%(name)s (%(role)s)", name=member.full_name, role=role)
    return _l("%(name)s (%(role)s, %(age)s år)", name=member.full_name, role=role, age=member_age(member, year))


def attendee_choices(members, year: int) -> list:
    """The family's members for the meeting's attendee boxes, each with role and age."""
    return choices((m.id, attendee_label(m, year)) for m in members)


def _meeting_fields() -> dict:
    return {
        "held_on": _date(_l("Møtedato"), required=True),
        "attendee_user_ids": MultiCheckboxField(_l("Fra teamet"), coerce=int),
        "attendee_member_ids": MultiCheckboxField(_l("Fra familien"), coerce=int),
        "notes": TextAreaField(_l("Notater"), validators=[Optional(), Length(max=20000)]),
        "decisions": TextAreaField(_l("Beslutninger"), validators=[Optional(), Length(max=20000)]),
        "next_meeting_on": _date(_l("Neste møte")),
        "interpreter_used": BooleanField(_l("Tolk var med på møtet")),
    }


MeetingEditForm = type("MeetingEditForm", (FlaskForm,), _meeting_fields())


def meeting_form_class(themes: list[str], voices: list, open_action_ids: list[int], members=()) -> type[FlaskForm]:
    """A form with every applicable theme on it (from every voice, see ``journey.services.form_voices``),
    status for each open action and rows for new ones."""
    attrs = _meeting_fields()
    _add_rating_fields(attrs, themes, voices, members)
    attrs["skip_assessment"] = BooleanField(_l("Temaene ble ikke vurdert på dette møtet"))
    for action_id in open_action_ids:
        attrs[f"action_{action_id}_status"] = SelectField(
            _l("Status"), choices=choices((s, ACTION_STATUS_LABELS[s]) for s in ACTION_STATUSES))
    for i in range(NEW_ACTION_ROWS):
        attrs[f"new_{i}_title"] = StringField(_l("Nytt tiltak"), validators=[Optional(), Length(max=300)])
        attrs[f"new_{i}_owner"] = SelectField(_l("Ansvarlig"))
        attrs[f"new_{i}_due_on"] = _date(_l("Frist"))
        attrs[f"new_{i}_review_on"] = _date(_l("Evalueres"))
        attrs[f"new_{i}_goal_id"] = SelectField(_l("Mål"), coerce=int)
    return type("MeetingForm", (FlaskForm,), attrs)
