"""A small lab with one family, its team and people in every relation to it, for the cases and
teams tests (imported by both conftests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from tests import factories
from velferdslab.auth.models import Agency, Lab, User
from velferdslab.cases.gate import family_access
from velferdslab.cases.household.models import Family, FamilyMember
from velferdslab.core.models import today_local
from velferdslab.extensions import db


@dataclass
class World:
    lab: Lab
    nav: Agency
    bolig: Agency
    barnevern: Agency
    lead: User          # the family's investment lead (NAV, consent given)
    member: User        # caseworker on the team (bolig, consent given)
    gated: User         # caseworker on the team whose agency (barnevern) has no consent
    no_agency: User     # caseworker on the team with no agency at all
    other_lead: User    # leads another family's team, not this one
    outsider: User      # caseworker on no team
    manager: User
    admin: User
    family: Family
    other_family: Family
    today: date

    def access(self, user: User):
        return family_access(user, self.family.id)

    def members(self) -> dict[str, FamilyMember]:
        return {m.first_name: m for m in db.session.query(FamilyMember).filter_by(family_id=self.family.id)}


def build_world() -> World:
    today = today_local()
    lab = factories.lab()
    nav = factories.agency(lab, "NAV", "nav")
    bolig = factories.agency(lab, "Bolig", "bolig")
    barnevern = factories.agency(lab, "Barnevern", "barnevern")
    lead = factories.user(lab, ("team_lead",), nav, name="Ivar Leder")
    member = factories.user(lab, ("caseworker",), bolig, name="Mona Medlem")
    gated = factories.user(lab, ("caseworker",), barnevern, name="Gro Uten-Samtykke")
    no_agency = factories.user(lab, ("caseworker",), None, name="Nils Uten-Etat")
    other_lead = factories.user(lab, ("team_lead",), nav, name="Olga Annenleder")
    outsider = factories.user(lab, ("caseworker",), bolig, name="Ute Utenfor")
    manager = factories.user(lab, ("manager",), None, name="Lene Ledelse")
    admin = factories.user(lab, ("admin",), None, name="Adam Admin")
    family = factories.family(lab, name="Familien Berg", agency=nav, members=[
        ("Anne", "Berg", 1985, "parent"), ("Per", "Berg", 1983, "parent"),
        ("Jonas", "Berg", today.year - 16, "young_person"), ("Lise", "Berg", today.year - 10, "child")],
        referred_on=today - timedelta(days=400), started_on=today - timedelta(days=380))
    start = today - timedelta(days=385)
    factories.team_member(family, lead, "lead", start=start)
    for user in (member, gated, no_agency):
        factories.team_member(family, user, start=start)
    factories.consent(family, nav, given_on=today - timedelta(days=381))
    factories.consent(family, bolig, given_on=today - timedelta(days=381))
    other = factories.family(lab, name="Familien Annen", agency=nav)
    factories.team_member(other, other_lead, "lead")
    factories.consent(other, nav)
    return World(lab, nav, bolig, barnevern, lead, member, gated, no_agency, other_lead, outsider, manager, admin,
                 family, other, today)


ALL_THEMES = ("bolig", "arbeid", "skole", "nettverk", "okonomi", "helse", "oppvekst")


def ratings(levels: dict[str, int] | None = None, perspective: str = "team", **notes) -> list[dict]:
    """Team ratings of every theme (level 2 unless given)."""
    levels = levels or {}
    return [{"theme": t, "perspective": perspective, "level": levels.get(t, 2), "note": notes.get(t)}
            for t in ALL_THEMES]
