"""Forms for the enrolment page: start, close, refer again."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import Length, Optional

from velferdslab.cases.enrolment.models import CLOSE_REASONS, CloseReason, EnrolmentStatus
from velferdslab.cases.fields import _date
from velferdslab.core.forms import choices

CLOSE_REASON_LABELS = CloseReason.lazy_labels()
ENROLMENT_STATUS_LABELS = EnrolmentStatus.lazy_labels()


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
