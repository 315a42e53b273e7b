"""The API's shapes for consents."""

from __future__ import annotations

from velferdslab.cases.consent import services
from velferdslab.cases.consent.models import Consent


def _consent_out(consent: Consent, superseded: set[int], today) -> dict:
    return {**{k: getattr(consent, k) for k in ("id", "agency_id", "purpose", "given_by_member_id", "given_on",
                                                "expires_on", "withdrawn_on", "supersedes_id")},
            "current": consent.id not in superseded,
            "valid": services.consent_is_valid(consent, today, superseded)}
