"""Forms for the reports: the outcome report's filters (a GET form) and the assumption-set editor.

Rates are typed as percentages (20 for d = 0.2) and costs in kroner; the services take fractions
and øre and hold the rules.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import TextInput

from velferdslab.cases.themes import LEVEL_NAMES, THEME_BY_CODE, THEME_CODES
from velferdslab.core.forms import DateField, choices
from velferdslab.core.routing import MAX_ID

REQUIRED = _l("Feltet må fylles ut.")
PERCENT = NumberRange(min=0, max=100, message=_l("Må være mellom %(min)s og %(max)s prosent."))
RATE_REQUIRED = InputRequired(_l("Feltet må fylles ut (0 er lov)."))


class PercentField(Field):
    """A percentage as people type it here: "3,5" or "3.5" (a text field: a number field would
    refuse the Norwegian decimal comma in some browsers). ``data`` is a Decimal, or None."""

    widget = TextInput()
    data: Decimal | None

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        self.raw = valuelist[0].strip() if valuelist else ""
        self.data = None
        if not self.raw:
            return
        try:
            value = Decimal(self.raw.replace(",", ".").replace("\u00a0", "").replace(" ", "").rstrip("%"))
        except InvalidOperation:
            raise ValueError(_l("Skriv et tall, for eksempel 4 eller 3,5.")) from None
        if not value.is_finite():
            raise ValueError(_l("Skriv et tall, for eksempel 4 eller 3,5."))
        self.data = value

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return format(Decimal(self.data).normalize(), "f").replace(".", ",")


class OutcomeFilterForm(FlaskForm):
    """The report's filters, read from the query string (a GET form needs no CSRF token)."""

    class Meta:
        csrf = False

    start = DateField(_l("Fra dato"), validators=[Optional()])
    end = DateField(_l("Til dato"), validators=[Optional()])
    cohort = IntegerField(_l("Startår (kull)"), validators=[
        Optional(), NumberRange(min=2000, max=2100, message=_l("Oppgi et årstall."))])
    agency_id = SelectField(_l("Etat i teamet"), coerce=int, validators=[Optional()])
    theme = SelectField(_l("Tema"), choices=choices([("", _l("Alle temaer"))]
                                                   + [(c, THEME_BY_CODE[c].name) for c in THEME_CODES]),
                        validators=[Optional()])
    assumption_set_id = SelectField(_l("Forutsetninger for gevinstmodellen"), coerce=int, validators=[Optional()])
    success_rate = PercentField(_l("Suksessrate for framskrivingen (%)"), validators=[Optional(), PERCENT])
    # A past report reproduced: only what had been recorded by the end of this day counts.
    as_of = DateField(_l("Slik tallene sto per"), validators=[Optional()])


def level_cost_field_name(level: int, agency_id: int) -> str:
    return f"cost_{level}_{agency_id}"


class AssumptionSetFormBase(FlaskForm):
    name = StringField(_l("Navn"), validators=[DataRequired(REQUIRED), Length(max=120)])
    source_note = TextAreaField(_l("Kilder og begrunnelse"), validators=[Optional(), Length(max=1000)])
    deadweight = PercentField(_l("Dødvekt d (%)"), default=Decimal(20), validators=[RATE_REQUIRED, PERCENT])
    drop_off = PercentField(_l("Årlig frafall δ (%)"), default=Decimal(10), validators=[RATE_REQUIRED, PERCENT])
    discount_rate = PercentField(_l("Diskonteringsrente r (%)"), default=Decimal(4),
                                 validators=[RATE_REQUIRED, PERCENT])
    success_rate = PercentField(_l("Suksessrate s for framskrivingen (%)"), default=Decimal(50),
                                validators=[RATE_REQUIRED, PERCENT])
    horizon_years = IntegerField(_l("Horisont H (år)"), default=5, validators=[
        DataRequired(REQUIRED), NumberRange(min=1, max=50, message=_l("Horisonten må være 1–50 år."))])
    target_level = SelectField(_l("Målnivå"), coerce=int, default=3,
                               choices=choices((level, LEVEL_NAMES[level]) for level in (2, 3, 4)))
    staff_cost = StringField(_l("Personalkostnad per familie per måned (kr, valgfri)"),
                             validators=[Optional(), Length(max=30)])
    version = IntegerField(validators=[Optional()])


def assumption_form_class(agencies) -> type[FlaskForm]:
    """The editor with one cost field (kroner) per level and agency of the lab."""
    attrs = {}
    for level in (1, 2, 3, 4):
        for agency in agencies:
            attrs[level_cost_field_name(level, agency.id)] = StringField(
                _l("%(level)s, %(agency)s (kr per år)", level=LEVEL_NAMES[level], agency=agency.name),
                validators=[Optional(), Length(max=30)])
    return type("AssumptionSetForm", (AssumptionSetFormBase,), attrs)


class ConfirmForm(FlaskForm):
    """A bare POST form: the CSRF token is the whole point."""


def _lab_id(value) -> int:
    """A lab chosen in the list, or 0 (none, or anything that is not a lab's number): never an error
    of WTForms' own (English) — an unknown lab finds no user, and the form says so."""
    text = str(value if value is not None else "")
    return int(text) if text.isdigit() and int(text) <= MAX_ID else 0


class ReportAccessGrantForm(FlaskForm):
    """An administrator lets a county or national user (role ``region``) read their lab's report."""

    email = StringField(_l("E-post til brukeren"), validators=[DataRequired(REQUIRED), Length(max=254)])
    user_lab_id = SelectField(_l("Brukerens egen lab"), coerce=_lab_id, validate_choice=False,
                              validators=[Optional()])


class ReportAccessRevokeForm(FlaskForm):
    """Take the administrator's lab out of a region user's report (the user's number, from the list)."""

    user_id = HiddenField(_l("Bruker"))
