"""Breaking the glass: emergency access to one family (the grant itself is kept by ``audit.emergency``,
where it is reviewed; this is the part that needs to know families)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from velferdslab.audit import emergency
from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction, Purpose
from velferdslab.audit.models import EmergencyAccess
from velferdslab.cases.household.models import Family
from velferdslab.core.errors import ServiceError
from velferdslab.extensions import db


def grant(user: Any, family_id: int, *, reason: str, hours: int) -> EmergencyAccess:
    """Emergency access to the family for ``hours``, for the stated reason. A family that does not
    exist in the user's lab is refused (422, audited); an erased one has nothing left to see."""
    reason = emergency.check_request(user, reason=reason, hours=hours)
    family = db.session.get(Family, family_id)
    if family is None or family.lab_id != user.lab_id:
        audit.record_even_if_request_fails(AuditAction.EMERGENCY_REFUSED, family_id=family_id, object_type="family",
                                           object_id=family_id, purpose=Purpose.EMERGENCY,
                                           summary={"outcome": "no_family"})
        raise ServiceError(_("Det finnes ingen familie med dette nummeret i laboratoriet."), "family_id")
    if family.erased_at is not None:
        raise ServiceError(_("Familiens personopplysninger er slettet; det er ingenting å se."), "family_id")
    return emergency.open_grant(user, family_id, reason=reason, hours=hours)
