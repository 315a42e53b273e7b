"""Warnings while building a team (issue 13): whom the family's consent does not yet cover.

Two checks, each a function of :class:`TeamFacts` that returns :class:`TeamWarning` rows; add a
check to ``CHECKS`` to warn about something else.

* **No consent for a member's agency.** The gate's own rule (``cases.gate.valid_consent_clause``,
  one statement for every agency of the lab), so the warning and the gate can never disagree: a
  member the warning names is a member the gate holds at the door. A member without an agency is
  gated too, and warned about.
* **A young person of consent age without their own consent** (issue 15: consent per person). A
  child or young person who has reached the consent age (``lab.consent_age``, or the sector's) is
  named with the agencies on the team that hold no valid consent *about them* — those agencies see
  none of that person's own ratings, notes, goals or actions.
* **An agency that sees only some persons** (issue 15). An agency on the team whose valid consents
  are about single members and none about the household: it sees only what those persons consented
  to, and the household's shared matters (the plan, meeting notes, the overall level) stay hidden.
  Checked with the gate's own reading of the consents (``cases.access.consent_scope``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from velferdslab.auth.models import Agency, Lab
from velferdslab.cases.access import consent_scope
from velferdslab.cases.consent.models import CATEGORY_CODES, CATEGORY_LABELS, Consent, consent_age_for, consent_is_valid
from velferdslab.cases.gate import valid_consent_clause
from velferdslab.cases.household.models import CHILD_ROLES, Family, FamilyMember
from velferdslab.core.models import today_local
from velferdslab.extensions import db
from velferdslab.teams.models import TeamMembership


@dataclass(frozen=True)
class TeamWarning:
    code: str  # "no_consent", "no_agency", "young_person", "persons_only"
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


def _team_agencies(facts_: TeamFacts) -> dict[int, str]:
    return {m.agency_id: m.agency.name for m in facts_.memberships if m.agency_id is not None and m.agency}


def _young_people(facts_: TeamFacts) -> list[TeamWarning]:
    members = db.session.scalars(select(FamilyMember).where(FamilyMember.family_id == facts_.family.id,
                                                            FamilyMember.role.in_(CHILD_ROLES))).all()
    lab_age = facts_.consent_age()
    agencies = {a.id: a for a in db.session.scalars(select(Agency).where(Agency.id.in_(list(_team_agencies(facts_)))))}
    rows = list(db.session.scalars(select(Consent).where(Consent.family_id == facts_.family.id)))
    superseded = {c.supersedes_id for c in rows if c.supersedes_id}
    own = {(c.subject_member_id, c.agency_id) for c in rows if consent_is_valid(c, facts_.on, superseded)}
    found = []
    for member in members:
        missing = sorted(a.name for a in agencies.values()
                         if facts_.on.year - member.birth_year >= consent_age_for(lab_age, a.kind)
                         and (member.id, a.id) not in own)
        if missing:
            found.append(TeamWarning("young_person", _(
                "%(name)s har nådd samtykkealderen (%(age)s år) og har ikke gitt eget samtykke til %(agencies)s: "
                "de ser ikke opplysninger om %(name)s. Samtykke gis per person: be %(name)s selv om samtykke.",
                name=member.full_name, age=lab_age, agencies=", ".join(missing))))
    return found


def _persons_only(facts_: TeamFacts) -> list[TeamWarning]:
    members = {m.id: m for m in db.session.scalars(select(FamilyMember)
                                                   .where(FamilyMember.family_id == facts_.family.id))}
    found = []
    for agency_id, name in sorted(_team_agencies(facts_).items(), key=lambda item: item[1]):
        if agency_id not in facts_.consented_agency_ids:
            continue  # no consent at all: the no_consent warning says so
        scope = consent_scope(facts_.family.id, agency_id)
        if None in scope.covered:
            continue
        persons = "; ".join(
            _("%(name)s (%(kinds)s)", name=members[subject].full_name,
              kinds=", ".join(str(CATEGORY_LABELS[c]) for c in CATEGORY_CODES if c in kinds))
            for subject, kinds in scope.covered.items() if subject in members)
        found.append(TeamWarning("persons_only", _(
            "%(agency)s har bare samtykke om enkeltpersoner: %(persons)s. Husstandens felles forhold (planen, "
            "møtenotater, samlet nivå) er skjult for %(agency)s til husstanden samtykker.",
            agency=name, persons=persons), agency_id=agency_id))
    return found


CHECKS: list[Callable[[TeamFacts], list[TeamWarning]]] = [_no_consent, _young_people, _persons_only]


def team_warnings(facts_: TeamFacts) -> list[TeamWarning]:
    """Every warning about the team as it is (current and coming members)."""
    return [warning for check in CHECKS for warning in check(facts_)]


def family_warnings(facts_: TeamFacts) -> list[TeamWarning]:
    """The warnings about the family rather than one member (shown when anyone is added)."""
    return [warning for check in CHECKS if check is not _no_consent for warning in check(facts_)]
