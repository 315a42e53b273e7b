"""marshmallow schemas for consents: record (or renew) and withdraw."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from velferdslab.cases.consent import services
from velferdslab.cases.consent.models import Consent
from velferdslab.core.schemas import Date, Id


class ConsentSchema(Schema):
    id = fields.Integer(dump_only=True)
    agency_id = Id(required=True)
    purpose = fields.String(required=True, validate=validate.Length(min=1, max=200))
    given_by_member_id = Id(required=True)
    given_on = Date(required=True)
    expires_on = Date(allow_none=True, load_default=None)
    withdrawn_on = Date(dump_only=True, allow_none=True)
    supersedes_id = fields.Integer(dump_only=True, allow_none=True)
    current = fields.Boolean(dump_only=True, metadata={"description": "Not superseded by a newer row."})
    valid = fields.Boolean(dump_only=True, metadata={"description": "Current, given, confirmed, not expired or "
                                                                    "withdrawn."})
    awaiting_confirmation = fields.Boolean(dump_only=True, metadata={
        "description": "Recorded by someone of the agency it opens: valid once another person on the team "
                       "confirms it (POST …/confirm)."})


class ConsentWithdrawSchema(Schema):
    withdrawn_on = Date(required=True)
    by_member_id = Id(required=True)


def _consent_out(consent: Consent, superseded: set[int], today) -> dict:
    return {**{k: getattr(consent, k) for k in ("id", "agency_id", "purpose", "given_by_member_id", "given_on",
                                                "expires_on", "withdrawn_on", "supersedes_id",
                                                "awaiting_confirmation")},
            "current": consent.id not in superseded,
            "valid": services.consent_is_valid(consent, today, superseded)}
