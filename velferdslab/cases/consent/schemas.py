"""marshmallow schemas for consents: record (or renew) and withdraw.

The fields (issue 15): ``subject`` (a member's id; null: the household), ``given_by``, ``agency``,
``purpose`` (a ``ConsentPurpose`` code), ``categories`` (themes and note categories), ``valid_from``,
``valid_to``, ``method`` (``signed`` or ``verbal``, with ``witness_name``), ``withdrawn_by``. The
names of before (``agency_id``, ``given_by_member_id``, ``given_on``, ``expires_on``,
``by_member_id``) are still read, and written alongside.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, pre_load, validate

from velferdslab.cases.consent import services
from velferdslab.cases.consent.models import CATEGORY_CODES, Consent, ConsentMethod, ConsentPurpose
from velferdslab.core.schemas import Date, Id

LEGACY_NAMES = {"agency_id": "agency", "given_by_member_id": "given_by", "given_on": "valid_from",
                "expires_on": "valid_to", "by_member_id": "withdrawn_by"}


def _rename_legacy(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    renamed = dict(data)
    for old, new in LEGACY_NAMES.items():
        if old in renamed and new not in renamed:
            renamed[new] = renamed.pop(old)
    return renamed


class ConsentSchema(Schema):
    id = fields.Integer(dump_only=True)
    subject = Id(allow_none=True, load_default=None, metadata={
        "description": "The family member the consent is about; null: the household's shared matters."})
    given_by = Id(required=True, metadata={"description": "Who gave it: the person, or a guardian for a child "
                                                          "below the consent age."})
    agency = Id(required=True, metadata={"description": "The agency it lets see the information."})
    purpose = fields.String(required=True, validate=validate.Length(min=1, max=200), metadata={
        "description": "One of: " + ", ".join(ConsentPurpose.codes()) + " (rows from before may hold free text)."})
    categories = fields.List(fields.String(validate=validate.OneOf(CATEGORY_CODES)), required=True,
                             validate=validate.Length(min=1), metadata={
                                 "description": "Kinds of information covered: the themes and note categories."})
    valid_from = Date(required=True)
    valid_to = Date(allow_none=True, load_default=None)
    method = fields.String(load_default=ConsentMethod.SIGNED.value, validate=validate.OneOf(
        (ConsentMethod.SIGNED.value, ConsentMethod.VERBAL.value)), metadata={
        "description": "signed, verbal (with witness_name) — or migrated for the household consents of before."})
    witness_name = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=200))
    withdrawn_on = Date(dump_only=True, allow_none=True)
    withdrawn_by = fields.Integer(dump_only=True, allow_none=True)
    supersedes_id = fields.Integer(dump_only=True, allow_none=True)
    current = fields.Boolean(dump_only=True, metadata={"description": "Not superseded by a newer row."})
    valid = fields.Boolean(dump_only=True, metadata={"description": "Current, given, confirmed, not expired or "
                                                                    "withdrawn."})
    awaiting_confirmation = fields.Boolean(dump_only=True, metadata={
        "description": "Recorded by someone of the agency it opens: valid once another person on the team "
                       "confirms it (POST …/confirm)."})
    # The names of before, written alongside the new ones.
    agency_id = fields.Integer(dump_only=True)
    given_by_member_id = fields.Integer(dump_only=True)
    given_on = Date(dump_only=True)
    expires_on = Date(dump_only=True, allow_none=True)

    @pre_load
    def _legacy(self, data: Any, **_kwargs: Any) -> Any:
        return _rename_legacy(data)


class ConsentWithdrawSchema(Schema):
    withdrawn_on = Date(required=True)
    withdrawn_by = Id(required=True)

    @pre_load
    def _legacy(self, data: Any, **_kwargs: Any) -> Any:
        return _rename_legacy(data)


def _consent_out(consent: Consent, superseded: set[int], today) -> dict:
    return {**{k: getattr(consent, k) for k in ("id", "agency_id", "purpose", "given_by_member_id", "given_on",
                                                "expires_on", "withdrawn_on", "supersedes_id", "method",
                                                "witness_name", "categories", "awaiting_confirmation")},
            "subject": consent.subject_member_id, "given_by": consent.given_by_member_id,
            "agency": consent.agency_id, "valid_from": consent.given_on, "valid_to": consent.expires_on,
            "withdrawn_by": consent.withdrawn_by_member_id,
            "current": consent.id not in superseded,
            "valid": services.consent_is_valid(consent, today, superseded)}
