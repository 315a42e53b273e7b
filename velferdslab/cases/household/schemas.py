"""The API's shapes for household members."""

from __future__ import annotations

from velferdslab.cases.household.models import FamilyMember


def _member_out(member: FamilyMember, gated: bool) -> dict:
    out = {"id": member.id, "first_name": member.first_name, "last_name": member.last_name, "role": member.role,
           "is_contact": member.is_contact}
    if not gated:
        out["birth_year"] = member.birth_year
    return out
