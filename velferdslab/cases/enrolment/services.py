"""Registering a referred family, and its enrolments: activate, close, refer again; follow-up dates.

Registration lives here, not in ``household``, because a family is registered by referring it: the
family, its first enrolment and investment team, and its members are one operation.

Each service validates, changes, writes its audit row and flushes — it never commits (the request
does); a refusal is a :class:`ServiceError` naming the input at fault (see ``velferdslab.cases``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction
from velferdslab.auth.models import Lab, User
from velferdslab.cases.access import Access
from velferdslab.cases.enrolment.models import CLOSE_REASONS, Enrolment
from velferdslab.cases.household.models import Family
from velferdslab.cases.household.services import _add_member, _family_fields
from velferdslab.cases.policy import require_lead
from velferdslab.cases.rules import _check_agency, _not_future, _text, add_months
from velferdslab.core.errors import ConflictError, ForbiddenError, ServiceError
from velferdslab.core.models import today_local, utcnow
from velferdslab.extensions import db
from velferdslab.teams import services as teams

FOLLOW_UP_MONTHS = {"follow_up_6": 6, "follow_up_12": 12}
# A follow-up is made within this many calendar months of its due date (closure + 6 or + 12
# months), either side: a "12-month" follow-up one month after closure is refused, and the outcome
# report counts only follow-ups inside the window (issue 14; docs/reports.md).
FOLLOW_UP_WINDOW_MONTHS = 2


def enrolments(family_id: int) -> list[Enrolment]:
    return list(db.session.scalars(select(Enrolment).where(Enrolment.family_id == family_id)
                                   .order_by(Enrolment.referred_on, Enrolment.id)))


def current_enrolment(family_id: int) -> Enrolment | None:
    """The family's latest enrolment (referred, active or closed)."""
    return db.session.scalar(select(Enrolment).where(Enrolment.family_id == family_id)
                             .order_by(Enrolment.referred_on.desc(), Enrolment.id.desc()).limit(1))


def follow_up_window(closed_on: date, kind: str) -> tuple[date, date]:
    """The first and last day a follow-up of ``kind`` after a closure on ``closed_on`` may be dated."""
    months = FOLLOW_UP_MONTHS[kind]
    return (add_months(closed_on, months - FOLLOW_UP_WINDOW_MONTHS),
            add_months(closed_on, months + FOLLOW_UP_WINDOW_MONTHS))


def follow_up_dates(enrolment: Enrolment) -> dict[str, date]:
    """When the 6- and 12-month follow-up assessments are due after a closed enrolment."""
    if enrolment.status != "closed" or enrolment.closed_on is None:
        return {}
    return {kind: add_months(enrolment.closed_on, months) for kind, months in FOLLOW_UP_MONTHS.items()}


def create_family(lab: Lab, *, actor: User, household_name: str | None, language: str | None = None,
                  interpreter_needed: bool = False, referred_on: date | None = None,
                  referred_by_agency_id: int | None = None, referral_reason: str | None = None,
                  members: Iterable[dict] = ()) -> Family:
    """Register a referred family. The registering investment lead leads its new team."""
    if not actor.has_permission("teams.manage"):
        raise ForbiddenError(_("Bare investeringsledere kan registrere nye familier."), "actor")
    fields = _family_fields(household_name, language, interpreter_needed)
    referred_on = _not_future(referred_on or today_local(), "referred_on",
                              _("Henvisningsdatoen kan ikke være fram i tid."))
    family = Family(lab_id=lab.id, **fields)
    db.session.add(family)
    db.session.flush()
    audit.record(AuditAction.FAMILY_CREATE, actor=actor, lab_id=lab.id, family_id=family.id, object_type="family",
                 object_id=family.id)
    _open_enrolment(family, actor=actor, referred_on=referred_on, referred_by_agency_id=referred_by_agency_id,
                    referral_reason=referral_reason)
    for member in members:
        _add_member(family, actor=actor, **member)
    return family


def _open_enrolment(family: Family, *, actor: User, referred_on: date, referred_by_agency_id: int | None,
                    referral_reason: str | None) -> Enrolment:
    enrolment = Enrolment(family_id=family.id, lab_id=family.lab_id, status="referred", referred_on=referred_on,
                          referred_by_agency_id=_check_agency(family.lab_id, referred_by_agency_id,
                                                              "referred_by_agency_id"),
                          referral_reason=_text(referral_reason, "referral_reason", max_length=2000))
    db.session.add(enrolment)
    db.session.flush()
    audit.record(AuditAction.ENROLMENT_REFER, actor=actor, lab_id=family.lab_id, family_id=family.id,
                 object_type="enrolment", object_id=enrolment.id,
                 summary={"referred_by_agency_id": enrolment.referred_by_agency_id})
    previous = teams.current_team(family.id)
    team = teams.create_team(lab_id=family.lab_id, family_id=family.id, enrolment_id=enrolment.id, lead=actor,
                             start_date=min(referred_on, today_local()), actor=actor)
    if previous is not None:
        teams.carry_over(previous, team, today_local(), actor=actor)
    return enrolment


def _lead_enrolment(actor: User, access: Access, enrolment: Enrolment) -> None:
    access.require_consent()
    require_lead(actor, access)
    if enrolment.family_id != access.family.id:
        raise ServiceError(_("Deltakelsen hører ikke til familien."), "enrolment_id", status=404)


def activate_enrolment(access: Access, enrolment: Enrolment, *, actor: User, started_on: date | None) -> Enrolment:
    """referred → active from ``started_on``."""
    _lead_enrolment(actor, access, enrolment)
    if enrolment.status != "referred":
        raise ConflictError(_("Bare en henvist familie kan starte."), "status")
    started_on = _not_future(started_on, "started_on", _("Startdatoen kan ikke være fram i tid."))
    if started_on < enrolment.referred_on:
        raise ServiceError(_("Familien kan ikke starte før den ble henvist."), "started_on")
    enrolment.status, enrolment.started_on, enrolment.started_at = "active", started_on, utcnow()
    db.session.flush()
    audit.record(AuditAction.ENROLMENT_ACTIVATE, actor=actor, family_id=enrolment.family_id, object_type="enrolment",
                 object_id=enrolment.id)
    return enrolment


def check_close_enrolment(access: Access, enrolment: Enrolment, *, actor: User, closed_on: date | None,
                          reason: str | None) -> tuple[date, dict[str, date]]:
    """Whether the enrolment may close on ``closed_on`` for ``reason`` (the refusal
    :func:`close_enrolment` would give); the day it closes and when its follow-ups would fall due."""
    _lead_enrolment(actor, access, enrolment)
    if enrolment.status != "active":
        raise ConflictError(_("Bare en aktiv deltakelse kan avsluttes."), "status")
    if reason not in CLOSE_REASONS:
        raise ServiceError(_("Velg en grunn for avslutningen."), "reason")
    closed_on = _not_future(closed_on, "closed_on", _("Avslutningsdatoen kan ikke være fram i tid."))
    # It is active (checked above), and activate_enrolment sets started_on with that status.
    assert enrolment.started_on is not None
    if closed_on < enrolment.started_on:
        raise ServiceError(_("Deltakelsen kan ikke avsluttes før den startet."), "closed_on")
    return closed_on, {kind: add_months(closed_on, months) for kind, months in FOLLOW_UP_MONTHS.items()}


def close_enrolment(access: Access, enrolment: Enrolment, *, actor: User, closed_on: date | None,
                    reason: str | None) -> Enrolment:
    """active → closed with a reason; follow-ups fall due 6 and 12 months later."""
    closed_on, _follow_ups = check_close_enrolment(access, enrolment, actor=actor, closed_on=closed_on, reason=reason)
    enrolment.status, enrolment.closed_on, enrolment.close_reason = "closed", closed_on, reason
    enrolment.closed_at = utcnow()
    db.session.flush()
    audit.record(AuditAction.ENROLMENT_CLOSE, actor=actor, family_id=enrolment.family_id, object_type="enrolment",
                 object_id=enrolment.id, summary={"reason": reason})
    return enrolment


def re_enrol(access: Access, *, actor: User, referred_on: date | None, referred_by_agency_id: int | None = None,
             referral_reason: str | None = None) -> Enrolment:
    """A closed family is referred again: a new enrolment and team; the old ones stay as history."""
    access.require_consent()
    require_lead(actor, access)
    latest = current_enrolment(access.family.id)
    if latest is not None and latest.status != "closed":
        raise ConflictError(_("Familien har allerede en deltakelse som ikke er avsluttet."), "status")
    referred_on = _not_future(referred_on, "referred_on", _("Henvisningsdatoen kan ikke være fram i tid."))
    if latest is not None:
        # It is closed (checked above), and a closed enrolment has a date (closed_has_date_and_reason).
        assert latest.closed_on is not None
        if referred_on < latest.closed_on:
            raise ServiceError(_("En ny henvisning kan ikke være før forrige deltakelse ble avsluttet."),
                               "referred_on")
    return _open_enrolment(access.family, actor=actor, referred_on=referred_on,
                           referred_by_agency_id=referred_by_agency_id, referral_reason=referral_reason)
