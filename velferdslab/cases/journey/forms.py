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
from velferdslab.cases.themes import CHILD_FACES, CHILD_SCALE, LEVEL_NAMES, THEME_BY_CODE
from velferdslab.core.forms import choices

KIND_LABELS = AssessmentKind.lazy_labels()
PERSPECTIVE_LABELS = Perspective.lazy_labels()
LEVEL_PAIRS = [(str(k), v) for k, v in LEVEL_NAMES.items()]
NOT_RATED = _l("Ikke vurdert")
HOUSEHOLD = _l("Hele husholdningen")
CHOOSE_PERSON = _l("Velg person")


class ThemesForm(FlaskForm):
    themes = MultiCheckboxField(_l("Temaer som gjelder for familien"),
                                choices=choices((code, theme.name) for code, theme in THEME_BY_CODE.items()))


def rating_field_names(theme: str, voice: str) -> tuple[str, str]:
    """The level and note fields of one theme from one voice (its key: ``team``, ``m12``, …)."""
    return f"{voice}_{theme}", f"{voice}_{theme}_note"


def subject_field_name(theme: str, voice: str) -> str:
    return f"{voice}_{theme}_subject"


def _key(voice) -> str:
    return voice if isinstance(voice, str) else voice.key


def child_scale_pairs() -> list[tuple[str, str]]:
    return [(str(k), _l("%(face)s %(answer)s", face=CHILD_FACES[k], answer=v)) for k, v in CHILD_SCALE.items()]


def _add_rating_fields(attrs: dict, themes: list[str], voices: list, members=()) -> None:
    """The rating fields of every theme and voice (``services.FormVoice``; a plain perspective code
    works too). ``members`` are the choices of whom a rating is about."""
    member_pairs = [(str(m.id), m.first_name) for m in members]
    for theme in themes:
        for voice in voices:
            key = _key(voice)
            label = getattr(voice, "label", None) or PERSPECTIVE_LABELS[key]
            level, note = rating_field_names(theme, key)
            # A radio group per voice (the four steps, or the children's three answers, and "not
            # rated"), rendered by cases/_ratings.html; the value "" means not rated from this voice.
            scale = child_scale_pairs() if getattr(voice, "child_scale", False) else LEVEL_PAIRS
            attrs[level] = RadioField(_l("%(who)s: nivå", who=label), choices=choices([("", NOT_RATED)] + scale),
                                      validators=[Optional()], default="")
            attrs[note] = StringField(_l("%(who)s: kort merknad", who=label),
                                      validators=[Optional(), Length(max=500)])
            if getattr(voice, "choose_subject", False):
                first = ("", CHOOSE_PERSON) if voice.subject_required else ("", HOUSEHOLD)
                attrs[subject_field_name(theme, key)] = SelectField(
                    _l("%(who)s: gjelder", who=label), choices=choices([first] + member_pairs),
                    validators=[Optional()], default="")
    attrs["overall_level"] = SelectField(_l("Samlet nivå"), choices=choices([("", _l("Bruk forslaget"))] + LEVEL_PAIRS),
                                         validators=[Optional()])
    attrs["override_reason"] = TextAreaField(_l("Hvorfor teamet velger et annet samlet nivå enn forslaget"),
                                             validators=[Optional(), Length(max=500)])


def assessment_form_class(themes: list[str], voices: list, *, correction: bool, members=()) -> type[FlaskForm]:
    attrs: dict = {"assessed_on": _date(_l("Vurderingsdato"), required=True)}
    if correction:
        attrs["correction_reason"] = TextAreaField(_l("Hva rettes, og hvorfor"),
                                                   validators=[DataRequired(REQUIRED), Length(max=500)])
    else:
        attrs["kind"] = SelectField(_l("Type vurdering"), choices=choices(KIND_LABELS.items()))
    _add_rating_fields(attrs, themes, voices, members)
    return type("AssessmentForm", (FlaskForm,), attrs)


def _subject(form, theme: str, voice) -> int | None:
    name = subject_field_name(theme, _key(voice))
    value = form[name].data if name in form else ""
    return int(value) if value and str(value).isdigit() else None


def ratings_from(form, themes: list[str], voices: list) -> list[dict]:
    """The ratings a person filled in (a blank level means "not rated from this voice")."""
    ratings = []
    for theme in themes:
        for voice in voices:
            level_name, note_name = rating_field_names(theme, _key(voice))
            level = form[level_name].data
            if level:
                ratings.append({"theme": theme, "perspective": getattr(voice, "perspective", _key(voice)),
                                "level": int(level), "note": form[note_name].data,
                                "given_by": getattr(voice, "given_by", None), "subject": _subject(form, theme, voice),
                                "scale": "child" if getattr(voice, "child_scale", False) else "four_step"})
    return ratings


def notes_without_level(form, themes: list[str], voices: list) -> list[str]:
    """The note fields filled in beside a theme left unrated: refused with a message by the field,
    never silently dropped (a note is kept only with its rating)."""
    names = []
    for theme in themes:
        for voice in voices:
            level_name, note_name = rating_field_names(theme, _key(voice))
            if not form[level_name].data and (form[note_name].data or "").strip():
                names.append(note_name)
    return names


NOTE_WITHOUT_LEVEL = _l("Velg et nivå for temaet, eller fjern merknaden: en merknad lagres bare sammen med et nivå.")
SUBJECT_MISSING = _l("Velg hvem vurderingen gjelder.")


def refuse_notes_without_level(form, themes: list[str], voices: list) -> bool:
    """Put the message on every note typed beside an unrated theme, and on the team's rating about
    one member where no member is chosen; True when there was one."""
    names = notes_without_level(form, themes, voices)
    for name in names:
        form[name].errors = list(form[name].errors) + [str(NOTE_WITHOUT_LEVEL)]
    missing = [subject_field_name(t, v.key) for t in themes for v in voices
               if getattr(v, "subject_required", False) and form[rating_field_names(t, v.key)[0]].data
               and _subject(form, t, v) is None]
    for name in missing:
        form[name].errors = list(form[name].errors) + [str(SUBJECT_MISSING)]
    return bool(names or missing)


def overall_from(form) -> tuple[int | None, str | None]:
    level = form.overall_level.data
    return (int(level) if level else None), form.override_reason.data
