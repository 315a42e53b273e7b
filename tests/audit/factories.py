"""Test data for the audit and privacy tests."""

from __future__ import annotations

from datetime import date, timedelta

from tests import factories
from velferdslab.extensions import db


def team(lab, *, status="active"):
    """A family with a lead and a caseworker on its team (both from agencies with consent)."""
    nav = factories.agency(lab, kind="nav")
    health = factories.agency(lab, kind="helse")
    fam = factories.family(lab, status=status)
    lead = factories.user(lab, roles=("team_lead",), agency=nav, name="Lise Leder")
    worker = factories.user(lab, roles=("caseworker",), agency=health, name="Kari Kollega")
    factories.team_member(fam, lead, role="lead")
    factories.team_member(fam, worker)
    factories.consent(fam, nav)
    factories.consent(fam, health)
    return fam, lead, worker


def close(fam) -> None:
    enrolment = factories.current_enrolment(fam)
    enrolment.status = "closed"
    enrolment.closed_on = max(date.today() - timedelta(days=1), enrolment.started_on)
    enrolment.close_reason = "goals_reached"
    db.session.flush()


def manager(lab):
    return factories.user(lab, roles=("manager",), name="Mona Manager")


def admin(lab):
    return factories.user(lab, roles=("admin",), name="Arne Admin")


def grant(user, fam, hours: int = 2, reason: str = "Akutt situasjon, teamleder er ikke tilgjengelig i dag"):
    from velferdslab.cases.emergency import services as emergency

    return emergency.grant(user, fam.id, reason=reason, hours=hours)
