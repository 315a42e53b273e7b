"""Forms for the themes that apply and for assessments, built per family (one rating per
applicable theme and perspective)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from velferdslab.auth.forms import MultiCheckboxField
from velferdslab.cases.fields import REQUIRED, _date
from velferdslab.cases.journey.models import AssessmentKind, Perspective
from velferdslab.cases.themes import LEVEL_NAMES, THEME_BY_CODE
from velferdslab.core.forms import choices

KIND_LABELS = AssessmentKind.lazy_labels()
PERSPECTIVE_LABELS = Perspective.lazy_labels()
LEVEL_PAIRS = [(str(k), v) for k, v in LEVEL_NAMES.items()]
NOT_RATED = _l("Ikke vurdert")


class ThemesForm(FlaskForm):
    themes = MultiCheckboxField(_l("Temaer som gjelder for familien"),
                                choices=choices((code, theme.name) for code, theme in THEME_BY_CODE.items()))


def rating_field_names(theme: str, perspective: str) -> tuple[str, str]:
    return f"{perspective}_{theme}", f"{perspective}_{theme}_note"


def _add_rating_fields(attrs: dict, themes: list[str], perspectives: list[str]) -> None:
    for theme in themes:
        for perspective in perspectives:
            level, note = rating_field_names(theme, perspective)
            # A radio group per perspective (the four steps and "not rated"), rendered by
            # cases/_ratings.html; the value "" means not rated from this perspective.
            attrs[level] = RadioField(_l("%(who)s: nivå", who=PERSPECTIVE_LABELS[perspective]),
                                      choices=choices([("", NOT_RATED)] + LEVEL_PAIRS),
                                      validators=[Optional()], default="")
            attrs[note] = StringField(_l("%(who)s: kort merknad", who=PERSPECTIVE_LABELS[perspective]),
                                      validators=[Optional(), Length(max=500)])
    attrs["overall_level"] = SelectField(_l("Samlet nivå"), choices=choices([("", _l("Bruk forslaget"))] + LEVEL_PAIRS),
                                         validators=[Optional()])
    attrs["override_reason"] = TextAreaField(_l("Hvorfor teamet velger et annet samlet nivå enn forslaget"),
                                             validators=[Optional(), Length(max=500)])


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


def notes_without_level(form, themes: list[str], perspectives: list[str]) -> list[str]:
    """The note fields filled in beside a theme left unrated: refused with a message by the field,
    never silently dropped (a note is kept only with its rating)."""
    names = []
    for theme in themes:
        for perspective in perspectives:
            level_name, note_name = rating_field_names(theme, perspective)
            if not form[level_name].data and (form[note_name].data or "").strip():
                names.append(note_name)
    return names


NOTE_WITHOUT_LEVEL = _l("Velg et nivå for temaet, eller fjern merknaden: en merknad lagres bare sammen med et nivå.")


def refuse_notes_without_level(form, themes: list[str], perspectives: list[str]) -> bool:
    """Put the message on every note typed beside an unrated theme; True when there was one."""
    names = notes_without_level(form, themes, perspectives)
    for name in names:
        form[name].errors = list(form[name].errors) + [str(NOTE_WITHOUT_LEVEL)]
    return bool(names)


def overall_from(form) -> tuple[int | None, str | None]:
    level = form.overall_level.data
    return (int(level) if level else None), form.override_reason.data
