"""Forms for the audit review and for emergency access, with Norwegian messages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from velferdslab.audit.models import MAX_EMERGENCY_HOURS, MIN_REASON_LENGTH
from velferdslab.core.forms import DateField, IdField, choices

REQUIRED = _l("Feltet må fylles ut.")

FLAG_LABELS = {
    "off_team": _l("Utenfor teamet"),
    "denied": _l("Avvist"),
    "emergency": _l("Nødtilgang"),
    "many": _l("Mange familier samme dag"),
    "night": _l("Natt (22–06)"),
}


class ReviewFilterForm(FlaskForm):
    """The review's filters, read from the query string (a GET form needs no CSRF token)."""

    class Meta:
        csrf = False

    start = DateField(_l("Fra dato"), validators=[Optional()])
    end = DateField(_l("Til dato"), validators=[Optional()])
    user_id = SelectField(_l("Bruker"), coerce=int, validators=[Optional()])
    agency_id = SelectField(_l("Etat"), coerce=int, validators=[Optional()])
    family_id = IdField(_l("Familienummer"), message=_l("Ugyldig familienummer."))
    action = StringField(_l("Handling (begynner med)"), validators=[Optional(), Length(max=60)])
    flag = SelectField(_l("Flagg"), choices=choices([("", _l("Alle hendelser")), ("any", _l("Alle flaggede"))]
                                                    + list(FLAG_LABELS.items())),
                       validators=[Optional()])
    threshold = IntegerField(_l("«Mange familier» betyr flere enn"), validators=[Optional(), NumberRange(1, 1000)])


class EmergencyForm(FlaskForm):
    family_id = IdField(_l("Familienummer"), validators=[DataRequired(_l("Skriv familienummeret."))],
                        message=_l("Ugyldig familienummer."))
    reason = TextAreaField(_l("Begrunnelse"), validators=[
        DataRequired(REQUIRED),
        Length(min=MIN_REASON_LENGTH, max=1000,
               message=_l("Begrunnelsen må ha mellom %(min)d og %(max)d tegn.", min=MIN_REASON_LENGTH, max=1000))])
    hours = SelectField(_l("Varighet"), coerce=int, default=2,
                        choices=choices((h, _l("%(n)d timer", n=h) if h > 1 else _l("1 time"))
                                        for h in range(1, MAX_EMERGENCY_HOURS + 1)))


class ConfirmForm(FlaskForm):
    """A bare POST form: the CSRF token is the whole point."""
