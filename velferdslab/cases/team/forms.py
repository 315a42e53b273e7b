"""Forms for team management, with Norwegian labels."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField
from wtforms.validators import DataRequired, Optional

from velferdslab.core.forms import DateField, choices

REQUIRED = _l("Feltet må fylles ut.")


class AddMemberForm(FlaskForm):
    user_id = SelectField(_l("Person"), coerce=int)
    role = SelectField(_l("Rolle i teamet"), choices=choices([("member", _l("Medlem")),
                                                                   ("lead", _l("Investeringsleder"))]))
    start_date = DateField(_l("Fra"), validators=[DataRequired(REQUIRED)])
    end_date = DateField(_l("Til (valgfritt)"), validators=[Optional()])


class EndMembershipForm(FlaskForm):
    end_date = DateField(_l("Siste dag i teamet"), validators=[DataRequired(REQUIRED)])


class TransferLeadForm(FlaskForm):
    user_id = SelectField(_l("Ny investeringsleder"), coerce=int)
    on = DateField(_l("Fra"), validators=[DataRequired(REQUIRED)])
    keep_old_as_member = BooleanField(_l("Nåværende leder fortsetter som medlem"), default=True)
