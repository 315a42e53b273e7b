"""Consent: given (or renewed) and withdrawn as new rows that supersede the old; whether one is valid.

Each service validates, changes, writes its audit row and flushes — it never commits (the request
does); a refusal is a :class:`ServiceError` naming the input at fault (see ``velferdslab.cases``).
"""

from __future__ import annotations

from collections.abc import Set
from datetime import date

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from velferdslab.audit import services as audit
from velferdslab.audit import undo
from velferdslab.audit.actions import AuditAction
from velferdslab.auth.models import Lab, User
from velferdslab.cases.access import Access
from velferdslab.cases.consent.models import Consent
from velferdslab.cases.enrolment.models import Enrolment
from velferdslab.cases.household.models import Family, FamilyMember
from velferdslab.cases.policy import require_lead
from velferdslab.cases.rules import _check_agency, _not_future, _text
from velferdslab.core import policy
from velferdslab.core.errors import ConflictError, ForbiddenError, ServiceError
from velferdslab.extensions import db
from velferdslab.teams.models import TeamMembership


def consent_is_valid(consent: Consent, on: date, superseded_ids: Set[int] = frozenset()) -> bool:
    return (consent.id not in superseded_ids and consent.given_on <= on and consent.withdrawn_on is None
            and not consent.awaiting_confirmation and (consent.expires_on is None or consent.expires_on >= on))


def consents(family_id: int) -> list[Consent]:
    """Every consent row of the family, oldest first (the history, superseded rows included)."""
    from sqlalchemy.orm import joinedload

    return list(db.session.scalars(select(Consent).where(Consent.family_id == family_id)
                                   .options(joinedload(Consent.agency), joinedload(Consent.given_by))
                                   .order_by(Consent.recorded_at, Consent.id)))


def _consenting_member(family: Family, member_id: int | None, on: date, field: str) -> FamilyMember:
    member = db.session.get(FamilyMember, member_id) if member_id is not None else None
    if member is None or member.family_id != family.id:
        raise ServiceError(_("Velg hvem i familien som gir samtykket."), field)
    # get_one: family.lab_id is a NOT NULL foreign key, so the lab is there.
    consent_age = db.session.get_one(Lab, family.lab_id).consent_age
    # Only the birth year is stored, so the age is the one the member reaches this calendar year.
    if on.year - member.birth_year < consent_age:
        raise ServiceError(_("%(name)s er under %(age)s år og kan ikke gi eller trekke samtykke selv.",
                             name=member.full_name, age=consent_age), field)
    return member


def _current_consent(family_id: int, agency_id: int, purpose: str) -> Consent | None:
    newer = select(Consent.supersedes_id).where(Consent.supersedes_id.is_not(None))
    return db.session.scalar(select(Consent).where(Consent.family_id == family_id, Consent.agency_id == agency_id,
                                                   Consent.purpose == purpose, Consent.id.not_in(newer))
                             .order_by(Consent.id.desc()).limit(1))


def _insert_consent(row: Consent) -> Consent:
    """Insert a consent row; a second row superseding the same one (a race) is a conflict."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        raise ConflictError(_("Samtykket er allerede endret av noen andre. Last siden på nytt."),
                            "supersedes_id") from None
    return row


def _refuse_consent(access: Access, actor: User, agency_id: int | None, reason: str) -> None:
    audit.record_even_if_request_fails(AuditAction.CONSENT_DENIED, actor=actor, family_id=access.family.id,
                                       lab_id=access.family.lab_id, object_type="family",
                                       object_id=access.family.id,
                                       summary={"reason": reason, "agency_id": agency_id})


def give_consent(access: Access, *, actor: User, agency_id: int | None, purpose: str | None,
                 given_by_member_id: int | None, given_on: date | None, expires_on: date | None = None) -> Consent:
    """Record a consent for an agency and purpose. A consent for the same agency and purpose that
    is already there is superseded (a renewal); consent rows are never edited.

    Consent opens the family's content to an agency's people, so (issue 12, item 13): only the
    team's investment lead records it (the family itself will, through its own sign-in); it is
    never dated in the future or before the family was referred; and a consent for the recorder's
    own agency would open their own access on their word alone, so it waits for another person on
    the team to confirm it (:func:`confirm_consent`) — and one their access already rests on is
    renewed by someone else.
    """
    family = access.family
    if not policy.can(actor, "lead", access):
        _refuse_consent(access, actor, agency_id, "not_lead")
        require_lead(actor, access)
    if agency_id is None:
        raise ServiceError(_("Velg etaten samtykket gjelder."), "agency_id")
    agency_id = _check_agency(family.lab_id, agency_id, "agency_id")
    own_agency = access.membership is not None and access.membership.agency_id == agency_id
    if own_agency and not access.gated:
        # Renewing the consent one's own access rests on: someone else records it.
        _refuse_consent(access, actor, agency_id, "own_agency")
        raise ForbiddenError(_("Samtykket for din egen etat fornyes av en annen person i teamet eller av familien "
                               "selv."), "agency_id")
    purpose = _text(purpose, "purpose", max_length=200, required=True, label_missing=_("Oppgi formålet."))
    given_on = _not_future(given_on, "given_on", _("Samtykket kan ikke være gitt fram i tid."))
    referred_on = db.session.scalar(select(func.min(Enrolment.referred_on)).where(Enrolment.family_id == family.id))
    if referred_on is not None and given_on < referred_on:
        raise ServiceError(_("Samtykket kan ikke være gitt før familien ble henvist (%(date)s).",
                             date=format_date(referred_on)), "given_on")
    member = _consenting_member(family, given_by_member_id, given_on, "given_by_member_id")
    if expires_on is not None and expires_on < given_on:
        raise ServiceError(_("Samtykket kan ikke utløpe før det er gitt."), "expires_on")
    previous = _current_consent(family.id, agency_id, purpose)
    row = _insert_consent(Consent(family_id=family.id, agency_id=agency_id, purpose=purpose,
                                  given_by_member_id=member.id, given_on=given_on, expires_on=expires_on,
                                  supersedes_id=previous.id if previous else None, recorded_by_id=actor.id,
                                  awaiting_confirmation=own_agency))
    audit.record(AuditAction.CONSENT_GIVE, actor=actor, family_id=family.id, object_type="consent", object_id=row.id,
                 summary={"agency_id": agency_id, "supersedes_id": row.supersedes_id,
                          "awaiting_confirmation": own_agency})
    return row


def may_confirm(access: Access, actor: User, consent: Consent) -> bool:
    """Another person on the team (with write access), not of the agency the consent opens."""
    return (consent.awaiting_confirmation and access.membership is not None and actor.id != consent.recorded_by_id
            and access.membership.agency_id != consent.agency_id)


def confirm_consent(access: Access, consent: Consent, *, actor: User) -> Consent:
    """A second person confirms a consent that waits for it: a new row that supersedes it."""
    family = access.family
    if consent.family_id != family.id:
        raise ServiceError(_("Samtykket hører ikke til familien."), "consent_id", status=404)
    if _current_consent(family.id, consent.agency_id, consent.purpose) is not consent:
        raise ConflictError(_("Dette samtykket er allerede erstattet av et nyere."), "consent_id")
    if not consent.awaiting_confirmation:
        raise ConflictError(_("Samtykket venter ikke på bekreftelse."), "consent_id")
    if not may_confirm(access, actor, consent):
        _refuse_consent(access, actor, consent.agency_id, "confirm_own")
        raise ForbiddenError(_("Samtykket må bekreftes av en annen person i teamet, fra en annen etat enn den "
                               "samtykket gjelder."), "consent_id")
    row = _insert_consent(Consent(family_id=family.id, agency_id=consent.agency_id, purpose=consent.purpose,
                                  given_by_member_id=consent.given_by_member_id, given_on=consent.given_on,
                                  expires_on=consent.expires_on, supersedes_id=consent.id, recorded_by_id=actor.id))
    audit.record(AuditAction.CONSENT_CONFIRM, actor=actor, family_id=family.id, object_type="consent",
                 object_id=row.id, summary={"agency_id": consent.agency_id, "supersedes_id": consent.id})
    return row


def check_withdrawal(access: Access, consent: Consent, *, withdrawn_on: date | None,
                     by_member_id: int | None) -> tuple[date, FamilyMember]:
    """Whether ``consent`` may be withdrawn on ``withdrawn_on`` by that member (the refusal
    :func:`withdraw_consent` would give); the date and the member."""
    family = access.family
    if consent.family_id != family.id:
        raise ServiceError(_("Samtykket hører ikke til familien."), "consent_id", status=404)
    if _current_consent(family.id, consent.agency_id, consent.purpose) is not consent:
        raise ConflictError(_("Dette samtykket er allerede erstattet av et nyere."), "consent_id")
    if consent.withdrawn_on is not None:
        raise ConflictError(_("Samtykket er allerede trukket tilbake."), "consent_id")
    withdrawn_on = _not_future(withdrawn_on, "withdrawn_on", _("Tilbaketrekningen kan ikke være fram i tid."))
    if withdrawn_on < consent.given_on:
        raise ServiceError(_("Samtykket kan ikke trekkes tilbake før det ble gitt."), "withdrawn_on")
    return withdrawn_on, _consenting_member(family, by_member_id, withdrawn_on, "by_member_id")


def withdraw_consent(access: Access, consent: Consent, *, actor: User, withdrawn_on: date | None,
                     by_member_id: int | None) -> Consent:
    """The family withdraws a consent: a new row with the withdrawal date supersedes the current one."""
    family = access.family
    withdrawn_on, member = check_withdrawal(access, consent, withdrawn_on=withdrawn_on, by_member_id=by_member_id)
    row = _insert_consent(Consent(family_id=family.id, agency_id=consent.agency_id, purpose=consent.purpose,
                                  given_by_member_id=member.id, given_on=consent.given_on,
                                  expires_on=consent.expires_on, withdrawn_on=withdrawn_on, supersedes_id=consent.id,
                                  recorded_by_id=actor.id))
    audit.record(AuditAction.CONSENT_WITHDRAW, actor=actor, family_id=family.id, object_type="consent",
                 object_id=row.id,
                 summary={"agency_id": consent.agency_id, "supersedes_id": consent.id})
    return row


def withdrawal_consequence(consent: Consent, on: date) -> tuple[list[str], bool]:
    """What withdrawing ``consent`` would do to the gate: the names of the current team members of
    its agency, and whether they lose access to the case content (no other consent for the agency
    stays valid — the gate's rule, ``consent_is_valid``)."""
    rows = consents(consent.family_id)
    superseded = {c.supersedes_id for c in rows if c.supersedes_id}
    others_valid = any(c.agency_id == consent.agency_id and c.id != consent.id and consent_is_valid(c, on, superseded)
                       for c in rows)
    names = sorted({m.user.name for m in db.session.scalars(select(TeamMembership).where(
        TeamMembership.family_id == consent.family_id, TeamMembership.agency_id == consent.agency_id))
        if m.is_current(on)})
    return names, not others_valid


def undo_withdrawal(access: Access, event_id: object, *, actor: User) -> Consent:
    """Undo withdrawing a consent (issue 13): a new row that supersedes the withdrawal and restores
    the consent as it was (rows are never edited; the trail keeps the consent, its withdrawal and
    the undo). Within the undo window, by the person who recorded the withdrawal, and only while
    nothing has been recorded for that consent since (the withdrawal is still its current row)."""
    family = access.family
    event = undo.undoable(event_id, AuditAction.CONSENT_WITHDRAW, actor_id=actor.id, family_id=family.id)
    withdrawal = db.session.get(Consent, int(event.object_id or 0))
    original = db.session.get(Consent, withdrawal.supersedes_id) if withdrawal and withdrawal.supersedes_id else None
    if withdrawal is None or original is None or withdrawal.family_id != family.id:
        raise ServiceError(_("Fant ikke endringen som skulle angres."), undo.FIELD, status=404)
    if _current_consent(family.id, withdrawal.agency_id, withdrawal.purpose) is not withdrawal:
        raise ConflictError(_("Noe er registrert for dette samtykket etter at det ble trukket tilbake, så "
                              "tilbaketrekningen kan ikke angres."), undo.FIELD)
    row = _insert_consent(Consent(family_id=family.id, agency_id=original.agency_id, purpose=original.purpose,
                                  given_by_member_id=original.given_by_member_id, given_on=original.given_on,
                                  expires_on=original.expires_on, supersedes_id=withdrawal.id,
                                  recorded_by_id=actor.id, awaiting_confirmation=original.awaiting_confirmation))
    audit.record(AuditAction.CONSENT_WITHDRAW_UNDO, actor=actor, family_id=family.id, object_type="consent",
                 object_id=row.id, summary={"undoes": event.id, "agency_id": row.agency_id,
                                            "supersedes_id": withdrawal.id})
    return row
