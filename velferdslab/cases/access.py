"""What the signed-in user may do with one family: the answer the family gate (``cases.gate``) gives.

An :class:`Access` is handed to every family-scoped handler and service. It says through which
door the user came in (a team membership, or an emergency-access grant) and whether their agency
lacks the family's consent (``gated``: they see the family's name, team and meeting dates only).
Services that touch the case content call :meth:`Access.require_consent`, so the consent gate holds
in the services too, not only in the routes.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction
from velferdslab.audit.models import EmergencyAccess
from velferdslab.cases.household.models import Family
from velferdslab.core.errors import ForbiddenError
from velferdslab.teams.models import TeamMembership


@dataclass(frozen=True)
class Access:
    """What the signed-in user may do with one family."""

    family: Family
    membership: TeamMembership | None  # None under emergency access (``emergency`` is the grant)
    gated: bool
    emergency: EmergencyAccess | None = None

    @property
    def is_lead(self) -> bool:
        """On the team as its investment lead (the team role; ``core.policy`` adds the user's)."""
        return self.membership is not None and self.membership.is_lead

    @property
    def read_only(self) -> bool:
        """Emergency access is for looking: the gate refuses its writes, the pages hide them."""
        return self.membership is None

    @property
    def user_id(self) -> int:
        if self.membership is not None:
            return self.membership.user_id
        assert self.emergency is not None  # one of the two doors is always set
        return self.emergency.user_id

    def require_consent(self) -> None:
        """Refuse (403, audited) anything beyond name, team and meeting dates for a gated member."""
        if self.gated:
            audit.record_even_if_request_fails(AuditAction.FAMILY_GATED_DENIED, family_id=self.family.id,
                                               lab_id=self.family.lab_id, object_type="family",
                                               object_id=self.family.id, summary={"outcome": "no_consent"})
            raise ForbiddenError(_("Familien har ikke gitt samtykke til at din etat ser dette."), "consent")
