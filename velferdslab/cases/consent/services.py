"""Consent: given (or renewed) and withdrawn as new rows that supersede the old; whether one is valid.

Each service validates, changes, writes its audit row and flushes — it never commits (the request
does); a refusal is a :class:`ServiceError` naming the input at fault (see ``velferdslab.cases``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import cache

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import Integer, Select, bindparam, func, select
from sqlalchemy.exc import IntegrityError

from velferdslab.audit import services as audit
from velferdslab.audit import undo
from velferdslab.audit.actions import AuditAction
from velferdslab.auth.models import Agency, Lab, User
from velferdslab.cases.access import Access
from velferdslab.cases.consent.models import (
    CATEGORY_CODES,
    Consent,
    ConsentCategory,
    ConsentMethod,
    ConsentPurpose,
    consent_age_for,
    consent_is_valid,
)
from velferdslab.cases.enrolment.models import Enrolment
from velferdslab.cases.household.models import Family, FamilyMember, MemberRole
from velferdslab.cases.policy import require_lead
from velferdslab.cases.rules import _check_agency, _not_future, _text
from velferdslab.core import policy
from velferdslab.core.errors import ConflictError, ForbiddenError, ServiceError
from velferdslab.extensions import db
from velferdslab.teams.models import TeamMembership


def consents(family_id: int, *, categories: bool = True) -> list[Consent]:
    """Every consent row of the family, oldest first (the history, superseded rows included). With
    ``categories=False`` what each covers is not read with them (one statement less; a caller that
    reads it after all pays a statement per consent: the family page's statement tests would show)."""
    return list(db.session.scalars(_consents_query(categories), {"family_id": family_id}))


@cache
def _consents_query(categories: bool) -> Select[Consent]:
    """:func:`consents`'s statement, built once per shape with the family as a parameter (issue 19)."""
    from sqlalchemy.orm import joinedload, lazyload

    options = [joinedload(Consent.agency), joinedload(Consent.given_by), joinedload(Consent.subject),
               joinedload(Consent.withdrawn_by)]
    if not categories:
        options.append(lazyload(Consent.category_rows))
    return (select(Consent).where(Consent.family_id == bindparam("family_id", type_=Integer)).options(*options)
            .order_by(Consent.recorded_at, Consent.id))


def _age(member: FamilyMember, on: date) -> int:
    # Only the birth year is stored, so the age is the one the member reaches this calendar year.
    return on.year - member.birth_year


def consent_age(family: Family, agency: Agency) -> int:
    """From this age a young person decides alone about sharing with ``agency`` (the lab's age, or
    the sector's where its law sets a higher one: ``models.SECTOR_CONSENT_AGE``)."""
    # get_one: family.lab_id is a NOT NULL foreign key, so the lab is there.
    return consent_age_for(db.session.get_one(Lab, family.lab_id).consent_age, agency.kind)


def _member(family: Family, member_id: int | None, field: str, message: str) -> FamilyMember:
    member = db.session.get(FamilyMember, member_id) if member_id is not None else None
    if member is None or member.family_id != family.id:
        raise ServiceError(message, field)
    return member


def _right_holder(family: Family, agency: Agency, subject: FamilyMember | None, person: FamilyMember, on: date,
                  field: str) -> None:
    """Refuse unless ``person`` holds the right to give (or withdraw) a consent about ``subject``:
    the young person themself from the consent age, a guardian (a parent) for a younger child, and
    for the household's shared matters an adult of it."""
    limit = consent_age(family, agency)
    if subject is None or (subject.id == person.id and _age(person, on) < limit):
        if _age(person, on) < limit:
            raise ServiceError(_("%(name)s er under %(age)s år og kan ikke gi eller trekke samtykke selv.",
                                 name=person.full_name, age=limit), field)
        return
    if _age(subject, on) >= limit:
        if person.id != subject.id:
            raise ServiceError(_("%(subject)s har nådd samtykkealderen (%(age)s år) for %(agency)s og bestemmer "
                                 "selv: bare %(subject)s kan gi eller trekke tilbake dette samtykket.",
                                 subject=subject.full_name, age=limit, agency=agency.name), field)
        return
    if person.role != MemberRole.PARENT or _age(person, on) < 18:
        raise ServiceError(_("%(subject)s er under %(age)s år: samtykket gis og trekkes av en foresatt.",
                             subject=subject.full_name, age=limit), field)


def _current_consent(family_id: int, agency_id: int, purpose: str, subject_member_id: int | None) -> Consent | None:
    newer = select(Consent.supersedes_id).where(Consent.supersedes_id.is_not(None))
    subject = (Consent.subject_member_id.is_(None) if subject_member_id is None
               else Consent.subject_member_id == subject_member_id)
    return db.session.scalar(select(Consent).where(Consent.family_id == family_id, Consent.agency_id == agency_id,
                                                   Consent.purpose == purpose, subject, Consent.id.not_in(newer))
                             .order_by(Consent.id.desc()).limit(1))


def _current(consent: Consent) -> Consent | None:
    return _current_consent(consent.family_id, consent.agency_id, consent.purpose, consent.subject_member_id)


def _insert_consent(row: Consent) -> Consent:
    """Insert a consent row; a second row superseding the same one (a race) is a conflict."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        raise ConflictError(_("Samtykket er allerede endret av noen andre. Last siden på nytt."),
                            "supersedes_id") from None
    return row


def _successor(consent: Consent, actor: User, **changes) -> Consent:
    """A new row that supersedes ``consent``: the same consent, with ``changes``, covering the same kinds."""
    fields = {name: getattr(consent, name) for name in (
        "family_id", "agency_id", "purpose", "subject_member_id", "given_by_member_id", "given_on", "expires_on",
        "method", "witness_name", "withdrawn_on", "withdrawn_by_member_id", "awaiting_confirmation")}
    fields.update(changes)
    row = Consent(**fields, supersedes_id=consent.id, recorded_by_id=actor.id)
    row.category_rows = [ConsentCategory(category=code) for code in consent.categories]
    return _insert_consent(row)


def _refuse_consent(access: Access, actor: User, agency_id: int | None, reason: str) -> None:
    audit.record_even_if_request_fails(AuditAction.CONSENT_DENIED, actor=actor, family_id=access.family.id,
                                       lab_id=access.family.lab_id, object_type="family",
                                       object_id=access.family.id,
                                       summary={"reason": reason, "agency_id": agency_id})


def _categories(codes: Iterable[str] | None) -> list[str]:
    chosen = set(codes or ())
    if not chosen:
        raise ServiceError(_("Velg hvilke opplysninger samtykket omfatter."), "categories")
    if chosen - set(CATEGORY_CODES):
        raise ServiceError(_("Ukjent slags opplysninger: %(codes)s.", codes=", ".join(sorted(chosen - set(
            CATEGORY_CODES)))), "categories")
    return [code for code in CATEGORY_CODES if code in chosen]


def _method(method: str | None, witness_name: str | None) -> tuple[str, str | None]:
    if method not in (ConsentMethod.SIGNED, ConsentMethod.VERBAL):
        raise ServiceError(_("Velg hvordan samtykket ble gitt: signert skjema eller muntlig med vitne."), "method")
    witness = _text(witness_name, "witness_name", max_length=200)
    if method == ConsentMethod.VERBAL and witness is None:
        raise ServiceError(_("Et muntlig samtykke må ha et vitne: skriv vitnets navn."), "witness_name")
    return str(method), witness if method == ConsentMethod.VERBAL else None


def give_consent(access: Access, *, actor: User, agency: int | None, purpose: str | None, given_by: int | None,
                 valid_from: date | None, subject: int | None = None, categories: Iterable[str] | None = None,
                 valid_to: date | None = None, method: str | None = ConsentMethod.SIGNED.value,
                 witness_name: str | None = None) -> Consent:
    """Record a consent: about ``subject`` (a member; None: the household's shared matters), given by
    ``given_by``, to ``agency``, for ``purpose`` (``ConsentPurpose``), covering ``categories``
    (themes and note categories), from ``valid_from`` to ``valid_to``, given by ``method``. The
    consent with the same agency, purpose and subject that is already there is superseded (a
    renewal); consent rows are never edited.

    Who may give it (issue 15): a young person from the consent age (the lab's, or the sector's)
    about themself, and nobody else for them; a guardian for a younger child, never the child alone;
    an adult of the household for its shared matters.

    Consent opens the family's content to an agency's people, so (issue 12, item 13): only the
    team's investment lead records it (the family itself will, through its own sign-in); it is
    never dated in the future or before the family was referred; and a consent for the recorder's
    own agency would open their own access on their word alone, so it waits for another person on
    the team to confirm it (:func:`confirm_consent`) — and one their access already rests on is
    renewed by someone else.
    """
    family = access.family
    if not policy.can(actor, "lead", access):
        _refuse_consent(access, actor, agency, "not_lead")
        require_lead(actor, access)
    if agency is None:
        raise ServiceError(_("Velg etaten samtykket gjelder."), "agency")
    agency_row = db.session.get_one(Agency, _check_agency(family.lab_id, agency, "agency"))
    own_agency = access.membership is not None and access.membership.agency_id == agency_row.id
    if own_agency and not access.gated:
        # Renewing the consent one's own access rests on: someone else records it.
        _refuse_consent(access, actor, agency_row.id, "own_agency")
        raise ForbiddenError(_("Samtykket for din egen etat fornyes av en annen person i teamet eller av familien "
                               "selv."), "agency")
    if ConsentPurpose.get(purpose) is None:
        raise ServiceError(_("Velg formålet fra listen."), "purpose")
    codes = _categories(categories)
    method, witness = _method(method, witness_name)
    valid_from = _not_future(valid_from, "valid_from", _("Samtykket kan ikke være gitt fram i tid."))
    referred_on = db.session.scalar(select(func.min(Enrolment.referred_on)).where(Enrolment.family_id == family.id))
    if referred_on is not None and valid_from < referred_on:
        raise ServiceError(_("Samtykket kan ikke være gitt før familien ble henvist (%(date)s).",
                             date=format_date(referred_on)), "valid_from")
    about = (_member(family, subject, "subject", _("Velg hvem i familien samtykket gjelder."))
             if subject is not None else None)
    giver = _member(family, given_by, "given_by", _("Velg hvem i familien som gir samtykket."))
    _right_holder(family, agency_row, about, giver, valid_from, "given_by")
    if valid_to is not None and valid_to < valid_from:
        raise ServiceError(_("Samtykket kan ikke utløpe før det er gitt."), "valid_to")
    previous = _current_consent(family.id, agency_row.id, str(purpose), about.id if about else None)
    row = Consent(family_id=family.id, agency_id=agency_row.id, purpose=str(purpose),
                  subject_member_id=about.id if about else None, given_by_member_id=giver.id, given_on=valid_from,
                  expires_on=valid_to, method=method, witness_name=witness,
                  supersedes_id=previous.id if previous else None, recorded_by_id=actor.id,
                  awaiting_confirmation=own_agency)
    row.category_rows = [ConsentCategory(category=code) for code in codes]
    _insert_consent(row)
    audit.record(AuditAction.CONSENT_GIVE, actor=actor, family_id=family.id, object_type="consent", object_id=row.id,
                 summary={"agency_id": agency_row.id, "supersedes_id": row.supersedes_id,
                          "awaiting_confirmation": own_agency, "subject_member_id": row.subject_member_id,
                          "categories": codes})
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
    if _current(consent) is not consent:
        raise ConflictError(_("Dette samtykket er allerede erstattet av et nyere."), "consent_id")
    if not consent.awaiting_confirmation:
        raise ConflictError(_("Samtykket venter ikke på bekreftelse."), "consent_id")
    if not may_confirm(access, actor, consent):
        _refuse_consent(access, actor, consent.agency_id, "confirm_own")
        raise ForbiddenError(_("Samtykket må bekreftes av en annen person i teamet, fra en annen etat enn den "
                               "samtykket gjelder."), "consent_id")
    row = _successor(consent, actor, awaiting_confirmation=False)
    audit.record(AuditAction.CONSENT_CONFIRM, actor=actor, family_id=family.id, object_type="consent",
                 object_id=row.id, summary={"agency_id": consent.agency_id, "supersedes_id": consent.id})
    return row


def check_withdrawal(access: Access, consent: Consent, *, withdrawn_on: date | None,
                     withdrawn_by: int | None) -> tuple[date, FamilyMember]:
    """Whether ``consent`` may be withdrawn on ``withdrawn_on`` by that member (the refusal
    :func:`withdraw_consent` would give); the date and the member. Only the one who holds the right
    withdraws: the young person themself once they have reached the consent age (their guardian no
    longer can), a guardian for a younger child, an adult of the household for its shared matters."""
    family = access.family
    if consent.family_id != family.id:
        raise ServiceError(_("Samtykket hører ikke til familien."), "consent_id", status=404)
    if _current(consent) is not consent:
        raise ConflictError(_("Dette samtykket er allerede erstattet av et nyere."), "consent_id")
    if consent.withdrawn_on is not None:
        raise ConflictError(_("Samtykket er allerede trukket tilbake."), "consent_id")
    withdrawn_on = _not_future(withdrawn_on, "withdrawn_on", _("Tilbaketrekningen kan ikke være fram i tid."))
    if withdrawn_on < consent.given_on:
        raise ServiceError(_("Samtykket kan ikke trekkes tilbake før det ble gitt."), "withdrawn_on")
    person = _member(family, withdrawn_by, "withdrawn_by", _("Velg hvem i familien som trekker samtykket tilbake."))
    _right_holder(family, consent.agency, consent.subject, person, withdrawn_on, "withdrawn_by")
    return withdrawn_on, person


def withdraw_consent(access: Access, consent: Consent, *, actor: User, withdrawn_on: date | None,
                     withdrawn_by: int | None) -> Consent:
    """The family withdraws a consent: a new row with the withdrawal date and the one who withdrew it
    supersedes the current one (who gave it stays as it was)."""
    family = access.family
    withdrawn_on, member = check_withdrawal(access, consent, withdrawn_on=withdrawn_on, withdrawn_by=withdrawn_by)
    row = _successor(consent, actor, withdrawn_on=withdrawn_on, withdrawn_by_member_id=member.id)
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
    if _current(withdrawal) is not withdrawal:
        raise ConflictError(_("Noe er registrert for dette samtykket etter at det ble trukket tilbake, så "
                              "tilbaketrekningen kan ikke angres."), undo.FIELD)
    row = _successor(withdrawal, actor, withdrawn_on=None, withdrawn_by_member_id=None,
                     awaiting_confirmation=original.awaiting_confirmation)
    audit.record(AuditAction.CONSENT_WITHDRAW_UNDO, actor=actor, family_id=family.id, object_type="consent",
                 object_id=row.id, summary={"undoes": event.id, "agency_id": row.agency_id,
                                            "supersedes_id": withdrawal.id})
    return row
