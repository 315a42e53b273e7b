"""Forms for the household: registering a family, editing it, its members."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from velferdslab.cases.fields import REQUIRED, _date
from velferdslab.cases.household.models import MEMBER_ROLES, MemberRole
from velferdslab.core.forms import choices

MEMBER_ROLE_LABELS = MemberRole.lazy_labels()


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
