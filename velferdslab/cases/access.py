"""May this user see this family, and how much of it: team membership, then the consent gate.

Two gates, both in the queries:

1. **Membership** (``teams.policy``): a user sees a family only while on its team. Everyone else
   gets the 404 of a family that does not exist, and the attempt is audit-logged.
2. **Consent**: a team member whose agency (the agency they represent on the team) has no valid
   consent from the family — given, not expired, not withdrawn, not superseded — is *gated*: they
   see the family's name, its members' names, the team, the consent records and the meetings
   (date and attendees), never assessments, notes, decisions, goals or actions. A team member
   with no agency is gated too: consent is given to agencies, so someone who represents none has
   no consent to rest on. Gated members may record a consent (that is how the gate opens) and the
   team lead may still manage the team.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import and_, exists, literal, or_, select
from sqlalchemy.orm import aliased

from velferdslab.audit import services as audit
from velferdslab.audit.models import EmergencyAccess
from velferdslab.auth.models import User
from velferdslab.cases.consent.models import Consent
from velferdslab.cases.household.models import Family
from velferdslab.core.errors import ForbiddenError
from velferdslab.core.models import today_utc
from velferdslab.extensions import db
from velferdslab.teams import policy
from velferdslab.teams.models import TeamMembership


def valid_consent_clause(family_id_col, agency_id_col, on: date):
    """SQL: a current consent row exists for (family, agency) that is valid on ``on``."""
    newer = aliased(Consent)
    return exists(
        select(literal(1)).select_from(Consent).where(
            Consent.family_id == family_id_col,
            Consent.agency_id == agency_id_col,
            Consent.given_on <= on,
            or_(Consent.expires_on.is_(None), Consent.expires_on >= on),
            Consent.withdrawn_on.is_(None),
            ~exists(select(literal(1)).select_from(newer).where(newer.supersedes_id == Consent.id)),
        ))


@dataclass(frozen=True)
class Access:
    """What the signed-in user may do with one family."""

    family: Family
    membership: TeamMembership | None  # None under emergency access (``emergency`` is the grant)
    gated: bool
    emergency: EmergencyAccess | None = None

    @property
    def is_lead(self) -> bool:
        return self.membership is not None and self.membership.role == "lead"

    @property
    def user_id(self) -> int:
        return self.membership.user_id if self.membership is not None else self.emergency.user_id

    def require_consent(self) -> None:
        """Refuse (403, audited) anything beyond name, team and meeting dates for a gated member."""
        if self.gated:
            audit.record_even_if_request_fails("family.gated_denied", family_id=self.family.id,
                                               object_type="family", object_id=self.family.id,
                                               summary={"outcome": "no_consent"})
            raise ForbiddenError(_("Familien har ikke gitt samtykke til at din etat ser dette."), "consent")

    def require_lead(self) -> None:
        if not self.is_lead:
            raise ForbiddenError(_("Bare investeringslederen for teamet kan gjøre dette."), "team")


def access_query(user: User, on: date):
    """(Family, TeamMembership, has_consent) for every family ``user`` is on the team of."""
    has_consent = and_(TeamMembership.agency_id.is_not(None),
                       valid_consent_clause(TeamMembership.family_id, TeamMembership.agency_id, on))
    return (select(Family, TeamMembership, has_consent.label("has_consent"))
            .join(TeamMembership, TeamMembership.family_id == Family.id)
            .where(policy.current_membership_clause(user.id, on), Family.lab_id == user.lab_id,
                   # A restricted (sperret) or erased family is hidden from the team (privacy).
                   Family.restricted_at.is_(None), Family.erased_at.is_(None))
            .order_by(Family.id, TeamMembership.role))


def family_access(user: User, family_id: int, *, on: date | None = None) -> Access | None:
    """The user's access to one family in one statement, or None when they may not see it.

    With two current rows (a lead row and a member row) the lead row wins (``role`` sorts it first).
    """
    row = db.session.execute(access_query(user, on or today_utc()).where(Family.id == family_id)
                             .limit(1)).first()
    if row is None:
        return None
    family, membership, has_consent = row
    return Access(family=family, membership=membership, gated=not has_consent)


def require_family(user: User, family_id: int, *, emergency_writes: bool = False) -> Access:
    """The user's access to the family, or the audited 404 of a family that does not exist.

    Emergency access is for looking: a write through it is refused (403, audited) unless the route
    is one of the few made for it (``emergency_writes``: lifting a restriction, erasure).
    """
    access = family_access(user, family_id) if user.is_authenticated else None
    if access is None and user.is_authenticated:
        access = emergency_access(user, family_id)
        if access is not None and not emergency_writes and has_request_context() \
                and request.method not in ("GET", "HEAD", "OPTIONS"):
            audit.record_even_if_request_fails("family.emergency_write_denied", family_id=family_id,
                                               object_type="family", object_id=family_id, purpose="emergency",
                                               summary={"outcome": "denied"})
            raise ForbiddenError(_("Nødtilgang gir bare innsyn, ikke endringer."), "family")
    if access is None:
        policy.deny(family_id)
    return access


def emergency_access(user: User, family_id: int) -> Access | None:
    """Access through an active emergency-access grant (``audit.emergency``): the whole family, not
    gated by consent — breaking the glass is for when waiting is not an option, and it is reviewed."""
    grant = policy.emergency_grant(user, family_id)
    if grant is None:
        return None
    family = db.session.get(Family, family_id)
    if family is None or family.lab_id != user.lab_id or family.erased_at is not None:
        return None
    return Access(family=family, membership=None, gated=False, emergency=grant)


def accessible_families(user: User, on: date | None = None) -> list[Access]:
    """Every family the user is on the team of, one Access each (lead row preferred)."""
    seen: dict[int, Access] = {}
    for family, membership, has_consent in db.session.execute(access_query(user, on or today_utc())):
        seen.setdefault(family.id, Access(family=family, membership=membership, gated=not has_consent))
    return list(seen.values())
