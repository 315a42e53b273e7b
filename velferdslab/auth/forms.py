"""Forms for sign-in and user administration, with Norwegian messages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from velferdslab.auth.models import AgencyKind
from velferdslab.core.forms import choices
from velferdslab.core.permissions import Role

REQUIRED = _l("Feltet må fylles ut.")



class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LoginForm(FlaskForm):
    email = StringField(_l("E-post"), validators=[DataRequired(REQUIRED), Length(max=254)],
                        render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Passord"), validators=[DataRequired(REQUIRED), Length(max=200)],
                             render_kw={"autocomplete": "current-password"})


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Nåværende passord"), validators=[DataRequired(REQUIRED)],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(_l("Nytt passord"), validators=[
        DataRequired(REQUIRED), Length(min=12, max=200, message=_l("Passordet må ha 12–200 tegn."))],
        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("Gjenta nytt passord"), validators=[
        DataRequired(REQUIRED), EqualTo("new_password", message=_l("Passordene er ikke like."))],
        render_kw={"autocomplete": "new-password"})


class UserForm(FlaskForm):
    name = StringField(_l("Navn"), validators=[DataRequired(REQUIRED), Length(max=200)])
    email = EmailField(_l("E-post"), validators=[DataRequired(REQUIRED), Length(max=254),
                                                 Email(_l("Ugyldig e-postadresse."))])
    agency_id = SelectField(_l("Etat"), coerce=int, validators=[Optional()])
    roles = MultiCheckboxField(_l("Roller"), choices=choices(Role.choices()),
                               validators=[DataRequired(_l("Velg minst én rolle."))])
    active = BooleanField(_l("Aktiv"), default=True)
    password = PasswordField(_l("Passord (minst 12 tegn)"), validators=[
        Optional(), Length(min=12, max=200, message=_l("Passordet må ha 12–200 tegn."))],
        render_kw={"autocomplete": "new-password"})


class AgencyForm(FlaskForm):
    name = StringField(_l("Navn"), validators=[DataRequired(REQUIRED), Length(max=200)])
    kind = SelectField(_l("Type"), choices=choices(AgencyKind.choices()),
                       validators=[DataRequired(REQUIRED)])
    active = BooleanField(_l("Aktiv"), default=True)


class TokenForm(FlaskForm):
    name = StringField(_l("Navn på nøkkelen"), validators=[DataRequired(REQUIRED), Length(max=100)])
