"""Forms for consents: record and withdraw."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField
from wtforms.validators import Length, Optional

from velferdslab.auth.forms import MultiCheckboxField
from velferdslab.cases.consent.models import CATEGORY_LABELS, ConsentMethod, ConsentPurpose
from velferdslab.cases.fields import _date
from velferdslab.cases.household import services as household_services
from velferdslab.core.forms import choices

HOUSEHOLD = ""  # the "subject" choice for the household's shared matters


def _member_or_household(value):
    return int(value) if value not in (None, "", HOUSEHOLD) else None


class ConsentForm(FlaskForm):
    agency = SelectField(_l("Etat (mottaker)"), coerce=int)
    subject = SelectField(_l("Samtykket gjelder"), coerce=_member_or_household)
    given_by = SelectField(_l("Gitt av"), coerce=int)
    purpose = SelectField(_l("Formål"), choices=choices(ConsentPurpose.choices()), default=ConsentPurpose.TEAM.value)
    categories = MultiCheckboxField(_l("Opplysninger samtykket omfatter"), choices=choices(CATEGORY_LABELS.items()))
    valid_from = _date(_l("Gitt dato"), required=True)
    valid_to = _date(_l("Utløper"))
    method = RadioField(_l("Hvordan samtykket ble gitt"), default=ConsentMethod.SIGNED.value,
                        choices=choices((m.value, m.lazy_label) for m in (ConsentMethod.SIGNED, ConsentMethod.VERBAL)))
    witness_name = StringField(_l("Vitne (ved muntlig samtykke)"), validators=[Optional(), Length(max=200)])


class WithdrawForm(FlaskForm):
    withdrawn_on = _date(_l("Trukket tilbake dato"), required=True)
    withdrawn_by = SelectField(_l("Trukket tilbake av"), coerce=int)


def member_choices(family_id: int) -> list:
    """The family's members, for "given by" and "withdrawn by" (and a meeting's attendees)."""
    return choices((m.id, m.full_name) for m in household_services.family_members(family_id))


def subject_choices(family_id: int) -> list:
    """Whom a consent is about: the household's shared matters, or one member."""
    return [*choices([(HOUSEHOLD, _l("Husstanden (felles forhold)"))]), *member_choices(family_id)]
