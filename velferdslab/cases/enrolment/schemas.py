"""The API's shapes for enrolments."""

from __future__ import annotations

from velferdslab.cases.enrolment import services
from velferdslab.cases.enrolment.models import Enrolment


def _enrolment_out(enrolment: Enrolment | None, gated: bool) -> dict | None:
    if enrolment is None:
        return None
    out = {k: getattr(enrolment, k) for k in ("id", "status", "referred_on", "referred_by_agency_id", "started_on",
                                              "closed_on", "close_reason")}
    if not gated:
        out["referral_reason"] = enrolment.referral_reason
    out["follow_ups"] = services.follow_up_dates(enrolment)
    return out
