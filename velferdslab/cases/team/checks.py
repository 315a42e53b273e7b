"""Warnings while building a team (issue 13): whom the family's consent does not yet cover.

Two checks, each a function of :class:`TeamFacts` that returns :class:`TeamWarning` rows; add a
check to ``CHECKS`` to warn about something else.

* **No consent for a member's agency.** The gate's own rule (``cases.gate.valid_consent_clause``,
  one statement for every agency of the lab), so the warning and the gate can never disagree: a
  member the warning names is a member the gate holds at the door. A member without an agency is
  gated too, and warned about.
* **A young person of consent age without their own consent.** Consent is recorded per household
  today: a row says who in the family gave it (``given_by``), not whom it covers. A child or young
  person who has reached the lab's consent age (``lab.consent_age``) and has given none of the
  family's valid consents themselves is named, with the reminder that consent is per household.
  When consent per person comes (a later issue), this check asks for that person's own consent
  for the agencies on the team instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from velferdslab.auth.models import Agency, Lab
from velferdslab.cases.consent.models import Consent
from velferdslab.cases.consent.services import consent_is_valid
from velferdslab.cases.gate import valid_consent_clause
from velferdslab.cases.household.models import CHILD_ROLES, Family, FamilyMember
from velferdslab.core.models import today_local
from velferdslab.extensions import db
from velferdslab.teams.models import TeamMembership


@dataclass(frozen=True)
class TeamWarning:
    code: str  # "no_consent", "no_agency", "young_person"
    message: str
    user_id: int | None = None
    agency_id: int | None = None


@dataclass
class TeamFacts:
    """What the checks look at, read once: the family, the day, and the agencies its consent covers."""

    family: Family
    on: date
    consented_agency_ids: set[int]
    memberships: list[TeamMembership] = field(default_factory=list)

    def consent_age(self) -> int:
        return db.session.get_one(Lab, self.family.lab_id).consent_age


def consented_agencies(family: Family, on: date) -> set[int]:
    """The lab's agencies whose people the family's consent lets through the gate on ``on``."""
    return set(db.session.scalars(select(Agency.id).where(
        Agency.lab_id == family.lab_id, valid_consent_clause(family.id, Agency.id, on))))


def facts(family: Family, memberships: list[TeamMembership], on: date | None = None) -> TeamFacts:
    on = on or today_local()
    return TeamFacts(family, on, consented_agencies(family, on),
                     [m for m in memberships if m.is_current(on) or m.start_date > on])


def member_warnings(facts_: TeamFacts, user_id: int, user_name: str, agency_id: int | None,
                    agency_name: str | None) -> list[TeamWarning]:
    """The consent warning for one person on (or about to join) the team."""
    if agency_id is None:
        return [TeamWarning("no_agency", _("%(name)s representerer ingen etat, og samtykke gis til etater: "
                                           "%(name)s ser bare familiens navn, teamet og når teamet har møttes.",
                                           name=user_name), user_id=user_id)]
    if agency_id not in facts_.consented_agency_ids:
        return [TeamWarning("no_consent", _("Familien har ikke gitt gyldig samtykke til %(agency)s: %(name)s ser "
                                            "bare familiens navn, teamet og når teamet har møttes.",
                                            agency=agency_name or "", name=user_name),
                            user_id=user_id, agency_id=agency_id)]
    return []


def _no_consent(facts_: TeamFacts) -> list[TeamWarning]:
    found = []
    for m in facts_.memberships:
        found += member_warnings(facts_, m.user_id, m.user.name, m.agency_id, m.agency.name if m.agency else None)
    return found


def _young_people(facts_: TeamFacts) -> list[TeamWarning]:
    members = db.session.scalars(select(FamilyMember).where(FamilyMember.family_id == facts_.family.id,
                                                            FamilyMember.role.in_(CHILD_ROLES))).all()
    limit = facts_.consent_age()
    of_age = [m for m in members if facts_.on.year - m.birth_year >= limit]
    if not of_age:
        return []
    rows = list(db.session.scalars(select(Consent).where(Consent.family_id == facts_.family.id)))
    superseded = {c.supersedes_id for c in rows if c.supersedes_id}
    own = {c.given_by_member_id for c in rows if consent_is_valid(c, facts_.on, superseded)}
    return [TeamWarning("young_person", _("%(name)s har nådd samtykkealderen (%(age)s år) og har ikke gitt eget "
                                          "samtykke. Samtykke registreres per husstand: sjekk at %(name)s selv "
                                          "samtykker til at etatene i teamet deler opplysninger.",
                                          name=m.full_name, age=limit))
            for m in of_age if m.id not in own]


CHECKS: list[Callable[[TeamFacts], list[TeamWarning]]] = [_no_consent, _young_people]


def team_warnings(facts_: TeamFacts) -> list[TeamWarning]:
    """Every warning about the team as it is (current and coming members)."""
    return [warning for check in CHECKS for warning in check(facts_)]


def family_warnings(facts_: TeamFacts) -> list[TeamWarning]:
    """The warnings about the family rather than one member (shown when anyone is added)."""
    return [warning for check in CHECKS if check is not _no_consent for warning in check(facts_)]
