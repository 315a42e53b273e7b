"""Forms for consents: record and withdraw."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from velferdslab.cases.fields import REQUIRED, _date
from velferdslab.cases.household import services as household_services
from velferdslab.core.forms import choices


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


def member_choices(family_id: int) -> list:
    """The family's members, for "given by" and "withdrawn by" (and a meeting's attendees)."""
    return choices((m.id, m.full_name) for m in household_services.family_members(family_id))
