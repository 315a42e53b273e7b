"""marshmallow schemas for enrolments: the row, activate, close, refer again."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields

from velferdslab.cases.enrolment import services
from velferdslab.cases.enrolment.models import CLOSE_REASONS, Enrolment
from velferdslab.cases.fields import _one_of, _text
from velferdslab.core.schemas import Date, Id


class EnrolmentSchema(Schema):
    id = fields.Integer()
    status = fields.String()
    referred_on = Date()
    referred_by_agency_id = fields.Integer(allow_none=True)
    referral_reason = fields.String(allow_none=True)
    started_on = Date(allow_none=True)
    closed_on = Date(allow_none=True)
    close_reason = fields.String(allow_none=True)
    follow_ups = fields.Dict(keys=fields.String(), values=Date(),
                             metadata={"description": "Follow-up assessments due after closure (6 and 12 months)."})


class EnrolmentActivateSchema(Schema):
    started_on = Date(required=True)


class EnrolmentCloseSchema(Schema):
    closed_on = Date(required=True)
    reason = fields.String(required=True, validate=_one_of(CLOSE_REASONS, _l("Ukjent grunn for avslutning.")))


class ReferralSchema(Schema):
    referred_on = Date(required=True)
    referred_by_agency_id = Id(allow_none=True, load_default=None)
    referral_reason = _text(2000, allow_none=True, load_default=None)


def _enrolment_out(enrolment: Enrolment | None, gated: bool) -> dict | None:
    if enrolment is None:
        return None
    out = {k: getattr(enrolment, k) for k in ("id", "status", "referred_on", "referred_by_agency_id", "started_on",
                                              "closed_on", "close_reason")}
    if not gated:
        out["referral_reason"] = enrolment.referral_reason
    out["follow_ups"] = services.follow_up_dates(enrolment)
    return out
