"""Forms for the family pages, with Norwegian labels. The rules live in ``cases.services``; these
forms only parse what a person typed (a date, a number, a choice) and name the fields the
services' messages attach to."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from velferdslab.auth.forms import MultiCheckboxField
from velferdslab.cases.enrolment.models import CLOSE_REASONS
from velferdslab.cases.household.models import MEMBER_ROLES
from velferdslab.cases.plan.models import ACTION_STATUSES, GOAL_HORIZONS, GOAL_STATUSES
from velferdslab.cases.themes import LEVEL_NAMES, THEME_BY_CODE
from velferdslab.core.forms import choices

REQUIRED = _l("Feltet må fylles ut.")

MEMBER_ROLE_LABELS = {"parent": _l("Forelder"), "child": _l("Barn"), "young_person": _l("Ungdom"),
                      "other": _l("Annen")}
CLOSE_REASON_LABELS = {"goals_reached": _l("Målene er nådd"), "moved": _l("Flyttet"),
                       "withdrew": _l("Trakk seg"), "other": _l("Annet")}
ENROLMENT_STATUS_LABELS = {"referred": _l("Henvist"), "active": _l("Aktiv"), "closed": _l("Avsluttet")}
HORIZON_LABELS = {"short": _l("Kort sikt"), "long": _l("Lang sikt"), "dream": _l("Drøm")}
GOAL_STATUS_LABELS = {"open": _l("Åpent"), "reached": _l("Nådd"), "dropped": _l("Lagt bort")}
ACTION_STATUS_LABELS = {"planned": _l("Planlagt"), "in_progress": _l("Pågår"), "done": _l("Utført"),
                        "dropped": _l("Droppet")}
KIND_LABELS = {"regular": _l("Vanlig vurdering"), "intake": _l("Oppstartsvurdering"),
               "follow_up_6": _l("Oppfølging etter 6 måneder"), "follow_up_12": _l("Oppfølging etter 12 måneder")}
PERSPECTIVE_LABELS = {"team": _l("Teamet"), "family": _l("Familien"), "young_person": _l("Ungdommen")}
LEVEL_PAIRS = [(str(k), v) for k, v in LEVEL_NAMES.items()]


def _date(label, required: bool = False, **kw):
    return DateField(label, validators=[DataRequired(REQUIRED) if required else Optional()], **kw)


class FamilyForm(FlaskForm):
    household_name = StringField(_l("Navn på husstanden"), validators=[DataRequired(REQUIRED), Length(max=200)])
    language = StringField(_l("Språk"), validators=[Optional(), Length(max=60)])
    interpreter_needed = BooleanField(_l("Trenger tolk"))


class RegisterFamilyForm(FamilyForm):
    referred_on = _date(_l("Henvist dato"), required=True)
    referred_by_agency_id = SelectField(_l("Henvist av"), coerce=int, validators=[Optional()])
    referral_reason = TextAreaField(_l("Hvorfor familien er henvist"), validators=[Optional(), Length(max=2000)])
    first_name = StringField(_l("Fornavn"), validators=[DataRequired(REQUIRED), Length(max=100)])
    last_name = StringField(_l("Etternavn"), validators=[DataRequired(REQUIRED), Length(max=100)])
    birth_year = IntegerField(_l("Fødselsår"), validators=[DataRequired(REQUIRED)])
    role = SelectField(_l("Rolle i familien"), choices=choices((r, MEMBER_ROLE_LABELS[r]) for r in MEMBER_ROLES))


class MemberForm(FlaskForm):
    first_name = StringField(_l("Fornavn"), validators=[DataRequired(REQUIRED), Length(max=100)])
    last_name = StringField(_l("Etternavn"), validators=[DataRequired(REQUIRED), Length(max=100)])
    birth_year = IntegerField(_l("Fødselsår"), validators=[DataRequired(REQUIRED)])
    role = SelectField(_l("Rolle i familien"), choices=choices((r, MEMBER_ROLE_LABELS[r]) for r in MEMBER_ROLES))
    is_contact = BooleanField(_l("Kontaktperson for teamet"))


class StartForm(FlaskForm):
    started_on = _date(_l("Startdato"), required=True)


class CloseForm(FlaskForm):
    closed_on = _date(_l("Avsluttet dato"), required=True)
    reason = SelectField(_l("Grunn"), choices=choices((r, CLOSE_REASON_LABELS[r]) for r in CLOSE_REASONS))


class ReEnrolForm(FlaskForm):
    referred_on = _date(_l("Henvist dato"), required=True)
    referred_by_agency_id = SelectField(_l("Henvist av"), coerce=int, validators=[Optional()])
    referral_reason = TextAreaField(_l("Hvorfor familien er henvist på nytt"),
                                    validators=[Optional(), Length(max=2000)])


class ConsentForm(FlaskForm):
    agency_id = SelectField(_l("Etat"), coerce=int)
    purpose = StringField(_l("Formål"), default=_l("Samarbeid i investeringsteamet"),
                          validators=[DataRequired(REQUIRED), Length(max=200)])
    given_by_member_id = SelectField(_l("Gitt av"), coerce=int)
    given_on = _date(_l("Gitt dato"), required=True)
    expires_on = _date(_l("Utløper"))


class WithdrawForm(FlaskForm):
    withdrawn_on = _date(_l("Trukket tilbake dato"), required=True)
    by_member_id = SelectField(_l("Trukket tilbake av"), coerce=int)


class ThemesForm(FlaskForm):
    themes = MultiCheckboxField(_l("Temaer som gjelder for familien"),
                                choices=choices((code, theme.name) for code, theme in THEME_BY_CODE.items()))


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


# --- the meeting and assessment forms, built per family ----------------------------------------

def rating_field_names(theme: str, perspective: str) -> tuple[str, str]:
    return f"{perspective}_{theme}", f"{perspective}_{theme}_note"


def _add_rating_fields(attrs: dict, themes: list[str], perspectives: list[str]) -> None:
    for theme in themes:
        for perspective in perspectives:
            level, note = rating_field_names(theme, perspective)
            attrs[level] = SelectField(_l("%(who)s: nivå", who=PERSPECTIVE_LABELS[perspective]),
                                       choices=choices([("", _l("– ikke vurdert –"))] + LEVEL_PAIRS),
                                       validators=[Optional()])
            attrs[note] = StringField(_l("%(who)s: kort merknad", who=PERSPECTIVE_LABELS[perspective]),
                                      validators=[Optional(), Length(max=500)])
    attrs["overall_level"] = SelectField(_l("Samlet nivå"), choices=choices([("", _l("Bruk forslaget"))] + LEVEL_PAIRS),
                                         validators=[Optional()])
    attrs["override_reason"] = TextAreaField(_l("Hvorfor teamet velger et annet samlet nivå enn forslaget"),
                                             validators=[Optional(), Length(max=500)])


NEW_ACTION_ROWS = 3


def _meeting_fields() -> dict:
    return {
        "held_on": _date(_l("Møtedato"), required=True),
        "attendee_user_ids": MultiCheckboxField(_l("Fra teamet"), coerce=int),
        "attendee_member_ids": MultiCheckboxField(_l("Fra familien"), coerce=int),
        "notes": TextAreaField(_l("Notater"), validators=[Optional(), Length(max=20000)]),
        "decisions": TextAreaField(_l("Beslutninger"), validators=[Optional(), Length(max=20000)]),
        "next_meeting_on": _date(_l("Neste møte")),
    }


MeetingEditForm = type("MeetingEditForm", (FlaskForm,), _meeting_fields())


def meeting_form_class(themes: list[str], perspectives: list[str], open_action_ids: list[int]) -> type[FlaskForm]:
    """A form with every applicable theme on it, status for each open action and rows for new ones."""
    attrs = _meeting_fields()
    _add_rating_fields(attrs, themes, perspectives)
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


def assessment_form_class(themes: list[str], perspectives: list[str], *, correction: bool) -> type[FlaskForm]:
    attrs: dict = {"assessed_on": _date(_l("Vurderingsdato"), required=True)}
    if correction:
        attrs["correction_reason"] = TextAreaField(_l("Hva rettes, og hvorfor"),
                                                   validators=[DataRequired(REQUIRED), Length(max=500)])
    else:
        attrs["kind"] = SelectField(_l("Type vurdering"), choices=choices(KIND_LABELS.items()))
    _add_rating_fields(attrs, themes, perspectives)
    return type("AssessmentForm", (FlaskForm,), attrs)


def ratings_from(form, themes: list[str], perspectives: list[str]) -> list[dict]:
    """The ratings a person filled in (a blank level means "not rated from this perspective")."""
    ratings = []
    for theme in themes:
        for perspective in perspectives:
            level_name, note_name = rating_field_names(theme, perspective)
            level = form[level_name].data
            if level:
                ratings.append({"theme": theme, "perspective": perspective, "level": int(level),
                                "note": form[note_name].data})
    return ratings


def overall_from(form) -> tuple[int | None, str | None]:
    level = form.overall_level.data
    return (int(level) if level else None), form.override_reason.data
