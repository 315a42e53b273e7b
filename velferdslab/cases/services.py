"""Every change to a family's case: members, enrolment, consent, themes, journey, plan, meetings.

Each service validates, changes, writes its audit row and flushes — it never commits (the request
does). A refusal is a :class:`ServiceError` whose ``field`` names the input at fault, so forms can
show the Norwegian message beside the field and the API can answer 422 with ``{field: [message]}``.

Services that touch the case content take an :class:`~velferdslab.cases.access.Access` and call
``access.require_consent()``: the consent gate holds here, not only in the templates.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from velferdslab.audit import services as audit
from velferdslab.auth.models import Agency, Lab, User
from velferdslab.cases.access import Access
from velferdslab.cases.consent.models import Consent
from velferdslab.cases.enrolment.models import CLOSE_REASONS, Enrolment
from velferdslab.cases.household.models import MEMBER_ROLES, Family, FamilyMember
from velferdslab.cases.journey.models import PERSPECTIVES, FamilyTheme, JourneyAssessment, ThemeRating
from velferdslab.cases.meetings.models import Meeting, MeetingAttendee
from velferdslab.cases.plan.models import ACTION_STATUSES, GOAL_HORIZONS, GOAL_STATUSES, Action, Goal
from velferdslab.cases.themes import LEVELS, THEME_BY_CODE, THEMES, suggest_overall_level
from velferdslab.core.errors import ConflictError, ForbiddenError, ServiceError
from velferdslab.core.models import today_local
from velferdslab.extensions import db
from velferdslab.teams import services as teams

ASSESSMENT_KINDS = ("regular", "intake", "follow_up_6", "follow_up_12")
FOLLOW_UP_MONTHS = {"follow_up_6": 6, "follow_up_12": 12}
OPEN_ACTION_STATUSES = ("planned", "in_progress")
CHILD_ROLES = ("child", "young_person")


# --- small rules ---------------------------------------------------------------------------------

def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has fewer days)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _not_future(day: date | None, field: str, message: str) -> date:
    if day is None:
        raise ServiceError(_("Datoen mangler."), field)
    if day > today_local():
        raise ServiceError(message, field)
    return day


def _text(value: str | None, field: str, *, max_length: int, required: bool = False,
          label_missing: str | None = None) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise ServiceError(label_missing or _("Feltet må fylles ut."), field)
        return None
    if len(value) > max_length:
        raise ServiceError(_("Teksten kan ha høyst %(n)s tegn.", n=max_length), field)
    return value


def is_overdue(action: Action, today: date | None = None) -> bool:
    """An open action whose due date has passed."""
    return (action.status in OPEN_ACTION_STATUSES and action.due_on is not None
            and action.due_on < (today or today_local()))


# --- themes --------------------------------------------------------------------------------------

def default_applicable(theme_code: str, members: Iterable[FamilyMember]) -> bool:
    """By default every theme applies, except that *skole* and *barnas oppvekstsvilkår* need a
    child or young person in the family."""
    theme = THEME_BY_CODE[theme_code]
    return not theme.needs_children or any(m.role in CHILD_ROLES for m in members)


def applicable_theme_codes(members: Iterable[FamilyMember], overrides: dict[str, bool]) -> list[str]:
    """The family's themes in the canonical order: the default rule, with overrides on top."""
    members = list(members)
    return [t.code for t in THEMES if overrides.get(t.code, default_applicable(t.code, members))]


def theme_overrides(family_id: int) -> dict[str, bool]:
    return {row.theme: row.applicable for row in
            db.session.scalars(select(FamilyTheme).where(FamilyTheme.family_id == family_id))}


def family_members(family_id: int) -> list[FamilyMember]:
    return list(db.session.scalars(select(FamilyMember).where(FamilyMember.family_id == family_id)
                                   .order_by(FamilyMember.birth_year, FamilyMember.id)))


def applicable_themes(family_id: int) -> list[str]:
    return applicable_theme_codes(family_members(family_id), theme_overrides(family_id))


def set_theme_applicability(access: Access, theme: str, applicable: bool, *, actor: User) -> None:
    """Override whether a theme applies; an override equal to the default rule is removed."""
    access.require_consent()
    if theme not in THEME_BY_CODE:
        raise ServiceError(_("Ukjent tema."), "theme")
    family_id = access.family.id
    row = db.session.get(FamilyTheme, (family_id, theme))
    if applicable == default_applicable(theme, family_members(family_id)):
        if row is not None:
            db.session.delete(row)
    elif row is None:
        db.session.add(FamilyTheme(family_id=family_id, theme=theme, applicable=applicable))
    else:
        row.applicable = applicable
    db.session.flush()
    audit.record("family.theme", actor=actor, family_id=family_id, object_type="family", object_id=family_id,
                 summary={"theme": theme, "applicable": applicable})


# --- families and members ------------------------------------------------------------------------

def _check_agency(lab_id: int, agency_id: int | None, field: str) -> int | None:
    if agency_id is None:
        return None
    agency = db.session.get(Agency, agency_id)
    if agency is None or agency.lab_id != lab_id:
        raise ServiceError(_("Etaten finnes ikke i dette laboratoriet."), field)
    return agency.id


def _family_fields(household_name, language, interpreter_needed) -> dict:
    return {
        "household_name": _text(household_name, "household_name", max_length=200, required=True,
                                label_missing=_("Oppgi et navn på husstanden.")),
        "language": _text(language, "language", max_length=60),
        "interpreter_needed": bool(interpreter_needed),
    }


def create_family(lab: Lab, *, actor: User, household_name: str, language: str | None = None,
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
    audit.record("family.create", actor=actor, lab_id=lab.id, family_id=family.id, object_type="family",
                 object_id=family.id)
    _open_enrolment(family, actor=actor, referred_on=referred_on, referred_by_agency_id=referred_by_agency_id,
                    referral_reason=referral_reason)
    for member in members:
        _add_member(family, actor=actor, **member)
    return family


def update_family(access: Access, *, actor: User, household_name: str, language: str | None,
                  interpreter_needed: bool) -> Family:
    access.require_consent()
    family = access.family
    fields = _family_fields(household_name, language, interpreter_needed)
    changed = [k for k, v in fields.items() if getattr(family, k) != v]
    for key, value in fields.items():
        setattr(family, key, value)
    db.session.flush()
    audit.record("family.update", actor=actor, family_id=family.id, object_type="family", object_id=family.id,
                 summary={"fields": changed})
    return family


def _member_fields(family_id: int, first_name, last_name, birth_year, role, *, exclude_id=None) -> dict:
    first = _text(first_name, "first_name", max_length=100, required=True, label_missing=_("Oppgi fornavn."))
    last = _text(last_name, "last_name", max_length=100, required=True, label_missing=_("Oppgi etternavn."))
    this_year = today_local().year
    if not isinstance(birth_year, int) or isinstance(birth_year, bool) or not 1900 <= birth_year <= this_year:
        raise ServiceError(_("Fødselsåret må være mellom 1900 og %(year)s.", year=this_year), "birth_year")
    if role not in MEMBER_ROLES:
        raise ServiceError(_("Ukjent rolle i familien."), "role")
    clash = select(FamilyMember.id).where(FamilyMember.family_id == family_id, FamilyMember.first_name == first,
                                          FamilyMember.last_name == last, FamilyMember.birth_year == birth_year)
    if exclude_id is not None:
        clash = clash.where(FamilyMember.id != exclude_id)
    if db.session.scalar(clash.limit(1)) is not None:
        raise ServiceError(_("%(name)s (født %(year)s) er allerede med i familien.",
                              name=" ".join((first, last)), year=birth_year), "first_name")
    return {"first_name": first, "last_name": last, "birth_year": birth_year, "role": role}


def _set_contact(family_id: int, member: FamilyMember) -> None:
    db.session.execute(update(FamilyMember).where(FamilyMember.family_id == family_id, FamilyMember.id != member.id,
                                                  FamilyMember.is_contact.is_(True)).values(is_contact=False))
    member.is_contact = True


def _add_member(family: Family, *, actor: User, first_name: str, last_name: str, birth_year: int, role: str,
                is_contact: bool = False) -> FamilyMember:
    member = FamilyMember(family_id=family.id, is_contact=False,
                          **_member_fields(family.id, first_name, last_name, birth_year, role))
    db.session.add(member)
    db.session.flush()
    if is_contact:
        _set_contact(family.id, member)
        db.session.flush()
    audit.record("member.create", actor=actor, family_id=family.id, object_type="family_member",
                 object_id=member.id, summary={"role": role, "is_contact": bool(is_contact)})
    return member


def add_member(access: Access, *, actor: User, first_name: str, last_name: str, birth_year: int, role: str,
               is_contact: bool = False) -> FamilyMember:
    """Add a household member: names, birth year and role. No national identity numbers, ever."""
    access.require_consent()
    return _add_member(access.family, actor=actor, first_name=first_name, last_name=last_name,
                       birth_year=birth_year, role=role, is_contact=is_contact)


def update_member(access: Access, member: FamilyMember, *, actor: User, first_name: str, last_name: str,
                  birth_year: int, role: str, is_contact: bool) -> FamilyMember:
    access.require_consent()
    if member.family_id != access.family.id:
        raise ServiceError(_("Personen hører ikke til familien."), "member_id", status=404)
    fields = _member_fields(member.family_id, first_name, last_name, birth_year, role, exclude_id=member.id)
    changed = [k for k, v in fields.items() if getattr(member, k) != v]
    for key, value in fields.items():
        setattr(member, key, value)
    if is_contact and not member.is_contact:
        _set_contact(member.family_id, member)
        changed.append("is_contact")
    elif not is_contact and member.is_contact:
        member.is_contact = False
        changed.append("is_contact")
    db.session.flush()
    audit.record("member.update", actor=actor, family_id=member.family_id, object_type="family_member",
                 object_id=member.id, summary={"fields": changed})
    return member


# --- enrolment -----------------------------------------------------------------------------------

def enrolments(family_id: int) -> list[Enrolment]:
    return list(db.session.scalars(select(Enrolment).where(Enrolment.family_id == family_id)
                                   .order_by(Enrolment.referred_on, Enrolment.id)))


def current_enrolment(family_id: int) -> Enrolment | None:
    """The family's latest enrolment (referred, active or closed)."""
    return db.session.scalar(select(Enrolment).where(Enrolment.family_id == family_id)
                             .order_by(Enrolment.referred_on.desc(), Enrolment.id.desc()).limit(1))


def follow_up_dates(enrolment: Enrolment) -> dict[str, date]:
    """When the 6- and 12-month follow-up assessments are due after a closed enrolment."""
    if enrolment.status != "closed" or enrolment.closed_on is None:
        return {}
    return {kind: add_months(enrolment.closed_on, months) for kind, months in FOLLOW_UP_MONTHS.items()}


def _open_enrolment(family: Family, *, actor: User, referred_on: date, referred_by_agency_id: int | None,
                    referral_reason: str | None) -> Enrolment:
    enrolment = Enrolment(family_id=family.id, lab_id=family.lab_id, status="referred", referred_on=referred_on,
                          referred_by_agency_id=_check_agency(family.lab_id, referred_by_agency_id,
                                                              "referred_by_agency_id"),
                          referral_reason=_text(referral_reason, "referral_reason", max_length=2000))
    db.session.add(enrolment)
    db.session.flush()
    audit.record("enrolment.refer", actor=actor, lab_id=family.lab_id, family_id=family.id,
                 object_type="enrolment", object_id=enrolment.id,
                 summary={"referred_by_agency_id": enrolment.referred_by_agency_id})
    previous = teams.current_team(family.id)
    team = teams.create_team(lab_id=family.lab_id, family_id=family.id, enrolment_id=enrolment.id, lead=actor,
                             start_date=min(referred_on, today_local()), actor=actor)
    if previous is not None:
        teams.carry_over(previous, team, today_local(), actor=actor)
    return enrolment


def _lead_enrolment(access: Access, enrolment: Enrolment) -> None:
    access.require_consent()
    access.require_lead()
    if enrolment.family_id != access.family.id:
        raise ServiceError(_("Deltakelsen hører ikke til familien."), "enrolment_id", status=404)


def activate_enrolment(access: Access, enrolment: Enrolment, *, actor: User, started_on: date | None) -> Enrolment:
    """referred → active from ``started_on``."""
    _lead_enrolment(access, enrolment)
    if enrolment.status != "referred":
        raise ConflictError(_("Bare en henvist familie kan starte."), "status")
    started_on = _not_future(started_on, "started_on", _("Startdatoen kan ikke være fram i tid."))
    if started_on < enrolment.referred_on:
        raise ServiceError(_("Familien kan ikke starte før den ble henvist."), "started_on")
    enrolment.status, enrolment.started_on = "active", started_on
    db.session.flush()
    audit.record("enrolment.activate", actor=actor, family_id=enrolment.family_id, object_type="enrolment",
                 object_id=enrolment.id)
    return enrolment


def close_enrolment(access: Access, enrolment: Enrolment, *, actor: User, closed_on: date | None,
                    reason: str | None) -> Enrolment:
    """active → closed with a reason; follow-ups fall due 6 and 12 months later."""
    _lead_enrolment(access, enrolment)
    if enrolment.status != "active":
        raise ConflictError(_("Bare en aktiv deltakelse kan avsluttes."), "status")
    if reason not in CLOSE_REASONS:
        raise ServiceError(_("Velg en grunn for avslutningen."), "reason")
    closed_on = _not_future(closed_on, "closed_on", _("Avslutningsdatoen kan ikke være fram i tid."))
    if closed_on < enrolment.started_on:
        raise ServiceError(_("Deltakelsen kan ikke avsluttes før den startet."), "closed_on")
    enrolment.status, enrolment.closed_on, enrolment.close_reason = "closed", closed_on, reason
    db.session.flush()
    audit.record("enrolment.close", actor=actor, family_id=enrolment.family_id, object_type="enrolment",
                 object_id=enrolment.id, summary={"reason": reason})
    return enrolment


def re_enrol(access: Access, *, actor: User, referred_on: date | None, referred_by_agency_id: int | None = None,
             referral_reason: str | None = None) -> Enrolment:
    """A closed family is referred again: a new enrolment and team; the old ones stay as history."""
    access.require_consent()
    access.require_lead()
    latest = current_enrolment(access.family.id)
    if latest is not None and latest.status != "closed":
        raise ConflictError(_("Familien har allerede en deltakelse som ikke er avsluttet."), "status")
    referred_on = _not_future(referred_on, "referred_on", _("Henvisningsdatoen kan ikke være fram i tid."))
    if latest is not None and referred_on < latest.closed_on:
        raise ServiceError(_("En ny henvisning kan ikke være før forrige deltakelse ble avsluttet."), "referred_on")
    return _open_enrolment(access.family, actor=actor, referred_on=referred_on,
                           referred_by_agency_id=referred_by_agency_id, referral_reason=referral_reason)


# --- consent -------------------------------------------------------------------------------------

def consent_is_valid(consent: Consent, on: date, superseded_ids: set[int] = frozenset()) -> bool:
    return (consent.id not in superseded_ids and consent.given_on <= on and consent.withdrawn_on is None
            and (consent.expires_on is None or consent.expires_on >= on))


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
    consent_age = db.session.get(Lab, family.lab_id).consent_age
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


def give_consent(access: Access, *, actor: User, agency_id: int | None, purpose: str | None,
                 given_by_member_id: int | None, given_on: date | None, expires_on: date | None = None) -> Consent:
    """Record a consent for an agency and purpose. A consent for the same agency and purpose that
    is already there is superseded (a renewal); consent rows are never edited."""
    family = access.family
    if agency_id is None:
        raise ServiceError(_("Velg etaten samtykket gjelder."), "agency_id")
    agency_id = _check_agency(family.lab_id, agency_id, "agency_id")
    purpose = _text(purpose, "purpose", max_length=200, required=True, label_missing=_("Oppgi formålet."))
    given_on = _not_future(given_on, "given_on", _("Samtykket kan ikke være gitt fram i tid."))
    member = _consenting_member(family, given_by_member_id, given_on, "given_by_member_id")
    if expires_on is not None and expires_on < given_on:
        raise ServiceError(_("Samtykket kan ikke utløpe før det er gitt."), "expires_on")
    previous = _current_consent(family.id, agency_id, purpose)
    row = _insert_consent(Consent(family_id=family.id, agency_id=agency_id, purpose=purpose,
                                  given_by_member_id=member.id, given_on=given_on, expires_on=expires_on,
                                  supersedes_id=previous.id if previous else None, recorded_by_id=actor.id))
    audit.record("consent.give", actor=actor, family_id=family.id, object_type="consent", object_id=row.id,
                 summary={"agency_id": agency_id, "supersedes_id": row.supersedes_id})
    return row


def withdraw_consent(access: Access, consent: Consent, *, actor: User, withdrawn_on: date | None,
                     by_member_id: int | None) -> Consent:
    """The family withdraws a consent: a new row with the withdrawal date supersedes the current one."""
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
    member = _consenting_member(family, by_member_id, withdrawn_on, "by_member_id")
    row = _insert_consent(Consent(family_id=family.id, agency_id=consent.agency_id, purpose=consent.purpose,
                                  given_by_member_id=member.id, given_on=consent.given_on,
                                  expires_on=consent.expires_on, withdrawn_on=withdrawn_on, supersedes_id=consent.id,
                                  recorded_by_id=actor.id))
    audit.record("consent.withdraw", actor=actor, family_id=family.id, object_type="consent", object_id=row.id,
                 summary={"agency_id": consent.agency_id, "supersedes_id": consent.id})
    return row


# --- journey assessments -------------------------------------------------------------------------

def _perspectives_allowed(members: list[FamilyMember]) -> tuple[str, ...]:
    if any(m.role == "young_person" for m in members):
        return PERSPECTIVES
    return ("team", "family")


def _clean_ratings(family_id: int, ratings: Iterable[dict]) -> list[dict]:
    """Check every rating: a known, applicable theme; a perspective the family has; a level 1–4.

    The team's perspective must rate every applicable theme; the family's and a young person's
    own ratings may cover some themes only.
    """
    members = family_members(family_id)
    themes = applicable_theme_codes(members, theme_overrides(family_id))
    perspectives = _perspectives_allowed(members)
    seen: set[tuple[str, str]] = set()
    clean = []
    for rating in ratings:
        theme, perspective, level = rating.get("theme"), rating.get("perspective"), rating.get("level")
        field = f"{perspective}_{theme}"
        if theme not in THEME_BY_CODE:
            raise ServiceError(_("Ukjent tema."), "ratings")
        if perspective not in perspectives:
            raise ServiceError(_("Ukjent perspektiv, eller familien har ingen ungdom som kan vurdere selv."),
                               "ratings" if perspective not in PERSPECTIVES else field)
        if theme not in themes:
            raise ServiceError(_("Temaet «%(theme)s» gjelder ikke for denne familien.",
                                 theme=THEME_BY_CODE[theme].name), field)
        if isinstance(level, bool) or level not in LEVELS:
            raise ServiceError(_("Nivået må være 1 (uholdbar), 2 (utsatt), 3 (stabil) eller 4 (bærekraftig)."),
                               field)
        if (theme, perspective) in seen:
            raise ServiceError(_("Temaet er vurdert to ganger fra samme perspektiv."), field)
        seen.add((theme, perspective))
        clean.append({"theme": theme, "perspective": perspective, "level": level,
                      "note": _text(rating.get("note"), field + "_note", max_length=500)})
    missing = [t for t in themes if (t, "team") not in seen]
    if missing:
        raise ServiceError(_("Teamet må vurdere alle temaene som gjelder. Mangler: %(themes)s.",
                             themes=", ".join(str(THEME_BY_CODE[t].name) for t in missing)), f"team_{missing[0]}")
    return clean


def _check_assessment_date(enrolment: Enrolment, assessed_on: date | None, kind: str) -> date:
    if kind not in ASSESSMENT_KINDS:
        raise ServiceError(_("Ukjent type vurdering."), "kind")
    assessed_on = _not_future(assessed_on, "assessed_on", _("Vurderingen kan ikke dateres fram i tid."))
    if enrolment.started_on is None or assessed_on < enrolment.started_on:
        raise ServiceError(_("Vurderingen kan ikke dateres før deltakelsen startet."), "assessed_on")
    if kind in FOLLOW_UP_MONTHS:
        if enrolment.status != "closed":
            raise ServiceError(_("Oppfølgingsvurderinger gjøres etter at deltakelsen er avsluttet."), "kind")
    elif enrolment.closed_on is not None and assessed_on > enrolment.closed_on:
        raise ServiceError(_("Etter avslutning gjøres bare oppfølgingsvurderinger (6 og 12 måneder)."), "kind")
    return assessed_on


def _overall(ratings: list[dict], overall_level: int | None,
             override_reason: str | None) -> tuple[int, int, str | None]:
    suggested = suggest_overall_level([r["level"] for r in ratings if r["perspective"] == "team"])
    if overall_level is None:
        return suggested, suggested, None
    if isinstance(overall_level, bool) or overall_level not in LEVELS:
        raise ServiceError(_("Nivået må være 1 (uholdbar), 2 (utsatt), 3 (stabil) eller 4 (bærekraftig)."),
                           "overall_level")
    if overall_level == suggested:
        return overall_level, suggested, None
    reason = _text(override_reason, "override_reason", max_length=500, required=True,
                   label_missing=_("Teamet har valgt et annet samlet nivå enn forslaget. Skriv hvorfor."))
    return overall_level, suggested, reason


def _add_ratings(assessment: JourneyAssessment, ratings: list[dict]) -> None:
    db.session.add_all([ThemeRating(assessment_id=assessment.id, **r) for r in ratings])
    db.session.flush()


def _assessment_summary(row: JourneyAssessment, ratings: list[dict]) -> dict:
    return {"kind": row.kind, "version": row.version, "overall_level": row.overall_level,
            "suggested_level": row.suggested_level, "overridden": row.overall_level != row.suggested_level,
            "ratings": len(ratings), "perspectives": sorted({r["perspective"] for r in ratings})}


def create_assessment(access: Access, *, actor: User, assessed_on: date | None, ratings: Iterable[dict],
                      overall_level: int | None = None, override_reason: str | None = None,
                      kind: str = "regular", meeting_id: int | None = None) -> JourneyAssessment:
    """A new journey assessment of every applicable theme. The system suggests the overall level by
    the documented rule; a different choice needs a reason, which is kept."""
    access.require_consent()
    family = access.family
    enrolment = current_enrolment(family.id)
    if enrolment is None:
        raise ServiceError(_("Familien har ingen deltakelse."), "assessed_on")
    assessed_on = _check_assessment_date(enrolment, assessed_on, kind)
    clean = _clean_ratings(family.id, ratings)
    overall, suggested, reason = _overall(clean, overall_level, override_reason)
    row = JourneyAssessment(family_id=family.id, enrolment_id=enrolment.id, meeting_id=meeting_id,
                            assessed_on=assessed_on, kind=kind, version=1, is_current=True, overall_level=overall,
                            suggested_level=suggested, override_reason=reason, created_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    _add_ratings(row, clean)
    audit.record("assessment.create", actor=actor, family_id=family.id, object_type="journey_assessment",
                 object_id=row.id, summary=_assessment_summary(row, clean))
    return row


def correct_assessment(access: Access, assessment: JourneyAssessment, *, actor: User, correction_reason: str | None,
                       assessed_on: date | None, ratings: Iterable[dict], overall_level: int | None = None,
                       override_reason: str | None = None) -> JourneyAssessment:
    """A correction is a new version; the old one stays in the history, no longer current."""
    access.require_consent()
    if assessment.family_id != access.family.id:
        raise ServiceError(_("Vurderingen hører ikke til familien."), "assessment_id", status=404)
    reason = _text(correction_reason, "correction_reason", max_length=500, required=True,
                   label_missing=_("Skriv hva som rettes og hvorfor."))
    enrolment = db.session.get(Enrolment, assessment.enrolment_id)
    assessed_on = _check_assessment_date(enrolment, assessed_on, assessment.kind)
    clean = _clean_ratings(access.family.id, ratings)
    overall, suggested, override = _overall(clean, overall_level, override_reason)
    # Only the current version may be corrected; the conditional update makes a concurrent
    # correction of the same version lose cleanly instead of forking the history.
    done = db.session.execute(update(JourneyAssessment).where(JourneyAssessment.id == assessment.id,
                                                              JourneyAssessment.is_current.is_(True))
                              .values(is_current=False).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise ConflictError(_("Vurderingen er allerede rettet. Rett den nyeste versjonen."), "assessment_id")
    db.session.expire(assessment, ["is_current"])
    row = JourneyAssessment(family_id=assessment.family_id, enrolment_id=assessment.enrolment_id,
                            meeting_id=assessment.meeting_id, assessed_on=assessed_on, kind=assessment.kind,
                            version=assessment.version + 1, supersedes_id=assessment.id, is_current=True,
                            overall_level=overall, suggested_level=suggested, override_reason=override,
                            correction_reason=reason, created_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    _add_ratings(row, clean)
    audit.record("assessment.correct", actor=actor, family_id=row.family_id, object_type="journey_assessment",
                 object_id=row.id, summary={**_assessment_summary(row, clean), "supersedes_id": assessment.id})
    return row


def assessment_versions(assessment: JourneyAssessment) -> list[JourneyAssessment]:
    """Every version of one assessment, newest first (one statement: the family's rows, walked here)."""
    rows = {r.id: r for r in db.session.scalars(select(JourneyAssessment)
                                                .where(JourneyAssessment.family_id == assessment.family_id))}
    by_parent = {r.supersedes_id: r for r in rows.values() if r.supersedes_id is not None}
    root = assessment
    while root.supersedes_id is not None and root.supersedes_id in rows:
        root = rows[root.supersedes_id]
    chain = [root]
    while chain[-1].id in by_parent:
        chain.append(by_parent[chain[-1].id])
    return list(reversed(chain))


# --- plan: goals and actions ---------------------------------------------------------------------

def create_goal(access: Access, *, actor: User, theme: str | None, horizon: str | None, text: str | None) -> Goal:
    """A goal in the family's own words, for a theme, short term, long term or a dream."""
    access.require_consent()
    family_id = access.family.id
    if theme not in applicable_themes(family_id):
        raise ServiceError(_("Temaet gjelder ikke for denne familien."), "theme")
    if horizon not in GOAL_HORIZONS:
        raise ServiceError(_("Velg kort sikt, lang sikt eller drøm."), "horizon")
    text = _text(text, "text", max_length=1000, required=True, label_missing=_("Skriv målet med familiens ord."))
    goal = Goal(family_id=family_id, theme=theme, horizon=horizon, text=text, status="open", created_by_id=actor.id)
    db.session.add(goal)
    db.session.flush()
    audit.record("goal.create", actor=actor, family_id=family_id, object_type="goal", object_id=goal.id,
                 summary={"theme": theme, "horizon": horizon})
    return goal


def update_goal(access: Access, goal: Goal, *, actor: User, text: str | None, status: str | None,
                horizon: str | None = None) -> Goal:
    access.require_consent()
    if goal.family_id != access.family.id:
        raise ServiceError(_("Målet hører ikke til familien."), "goal_id", status=404)
    if status not in GOAL_STATUSES:
        raise ServiceError(_("Ukjent status for målet."), "status")
    horizon = horizon or goal.horizon
    if horizon not in GOAL_HORIZONS:
        raise ServiceError(_("Velg kort sikt, lang sikt eller drøm."), "horizon")
    text = _text(text, "text", max_length=1000, required=True, label_missing=_("Skriv målet med familiens ord."))
    changed = [k for k, v in (("text", text), ("status", status), ("horizon", horizon)) if getattr(goal, k) != v]
    goal.text, goal.status, goal.horizon = text, status, horizon
    db.session.flush()
    audit.record("goal.update", actor=actor, family_id=goal.family_id, object_type="goal", object_id=goal.id,
                 summary={"fields": changed, "status": status})
    return goal


def _owner(family_id: int, owner_user_id: int | None, owner_is_family: bool) -> tuple[int | None, bool]:
    if owner_is_family and owner_user_id is None:
        return None, True
    team = teams.current_team(family_id)
    if owner_is_family or owner_user_id is None or team is None \
            or owner_user_id not in teams.current_member_ids(team.id, today_local()):
        raise ServiceError(_("Den ansvarlige må være med i teamet, eller være familien selv."), "owner")
    return owner_user_id, False


def _action_goal(family_id: int, goal_id: int | None) -> int | None:
    if goal_id is None:
        return None
    goal = db.session.get(Goal, goal_id)
    if goal is None or goal.family_id != family_id:
        raise ServiceError(_("Målet finnes ikke i familiens plan."), "goal_id")
    return goal.id


def _action_fields(family_id: int, *, title, owner_user_id, owner_is_family, due_on, review_on, goal_id,
                   status) -> dict:
    title = _text(title, "title", max_length=300, required=True, label_missing=_("Beskriv tiltaket."))
    if status not in ACTION_STATUSES:
        raise ServiceError(_("Ukjent status for tiltaket."), "status")
    owner_user_id, owner_is_family = _owner(family_id, owner_user_id, owner_is_family)
    return {"title": title, "owner_user_id": owner_user_id, "owner_is_family": owner_is_family, "due_on": due_on,
            "review_on": review_on, "goal_id": _action_goal(family_id, goal_id), "status": status}


def create_action(access: Access, *, actor: User, title: str | None, owner_user_id: int | None = None,
                  owner_is_family: bool = False, due_on: date | None = None, review_on: date | None = None,
                  goal_id: int | None = None, status: str = "planned", meeting_id: int | None = None) -> Action:
    """An action owned by a current team member or by the family, with due and review dates."""
    access.require_consent()
    family_id = access.family.id
    fields = _action_fields(family_id, title=title, owner_user_id=owner_user_id, owner_is_family=owner_is_family,
                            due_on=due_on, review_on=review_on, goal_id=goal_id, status=status)
    action = Action(family_id=family_id, meeting_id=meeting_id, created_by_id=actor.id, **fields)
    db.session.add(action)
    db.session.flush()
    audit.record("action.create", actor=actor, family_id=family_id, object_type="action", object_id=action.id,
                 summary={"owner_user_id": action.owner_user_id, "owner_is_family": action.owner_is_family,
                          "status": status, "goal_id": action.goal_id, "meeting_id": meeting_id})
    return action


def update_action(access: Access, action: Action, *, actor: User, **changes) -> Action:
    """Change an action; fields not given keep their value. The owner must still be on the team."""
    access.require_consent()
    if action.family_id != access.family.id:
        raise ServiceError(_("Tiltaket hører ikke til familien."), "action_id", status=404)
    current = {k: getattr(action, k) for k in ("title", "owner_user_id", "owner_is_family", "due_on", "review_on",
                                               "goal_id", "status")}
    unknown = set(changes) - set(current)
    if unknown:
        raise ServiceError(_("Ukjent felt."), sorted(unknown)[0])
    merged = {**current, **changes}
    if "owner_user_id" in changes and "owner_is_family" not in changes:
        merged["owner_is_family"] = False
    if changes.get("owner_is_family"):
        merged["owner_user_id"] = None
    owner_changed = (merged["owner_user_id"], merged["owner_is_family"]) != \
        (current["owner_user_id"], current["owner_is_family"])
    if owner_changed:
        fields = _action_fields(action.family_id, **merged)
    else:  # a status change must not fail because the owner has since left the team
        fields = {**merged, "title": _text(merged["title"], "title", max_length=300, required=True),
                  "goal_id": _action_goal(action.family_id, merged["goal_id"])}
        if fields["status"] not in ACTION_STATUSES:
            raise ServiceError(_("Ukjent status for tiltaket."), "status")
    changed = [k for k, v in fields.items() if current[k] != v]
    for key, value in fields.items():
        setattr(action, key, value)
    db.session.flush()
    audit.record("action.update", actor=actor, family_id=action.family_id, object_type="action",
                 object_id=action.id, summary={"fields": changed, "status": action.status})
    return action


# --- meetings ------------------------------------------------------------------------------------

def _attendees(family_id: int, team_user_ids: set[int], user_ids: Iterable[int], member_ids: Iterable[int]):
    user_ids, member_ids = list(dict.fromkeys(user_ids or ())), list(dict.fromkeys(member_ids or ()))
    if set(user_ids) - team_user_ids:
        raise ServiceError(_("Bare medlemmer av teamet kan føres opp som deltakere fra teamet."), "attendee_user_ids")
    family_member_ids = {m.id for m in family_members(family_id)}
    if set(member_ids) - family_member_ids:
        raise ServiceError(_("Deltakeren hører ikke til familien."), "attendee_member_ids")
    return ([MeetingAttendee(user_id=u) for u in user_ids] + [MeetingAttendee(member_id=m) for m in member_ids])


def _meeting_fields(enrolment: Enrolment, held_on, notes, decisions, next_meeting_on) -> dict:
    held_on = _not_future(held_on, "held_on", _("Møtedatoen kan ikke være fram i tid."))
    if held_on < enrolment.referred_on:
        raise ServiceError(_("Møtet kan ikke være før familien ble henvist."), "held_on")
    if next_meeting_on is not None and next_meeting_on <= held_on:
        raise ServiceError(_("Neste møte må være etter dette møtet."), "next_meeting_on")
    return {"held_on": held_on, "notes": _text(notes, "notes", max_length=20000),
            "decisions": _text(decisions, "decisions", max_length=20000), "next_meeting_on": next_meeting_on}


def _team_user_ids(family_id: int, on: date) -> set[int]:
    team = teams.current_team(family_id)
    return teams.current_member_ids(team.id, on) | teams.current_member_ids(team.id, today_local()) if team else set()


def record_meeting(access: Access, *, actor: User, held_on: date | None, attendee_user_ids: Iterable[int] = (),
                   attendee_member_ids: Iterable[int] = (), notes: str | None = None, decisions: str | None = None,
                   next_meeting_on: date | None = None, assessment: dict | None = None,
                   action_updates: Iterable[dict] = (), new_actions: Iterable[dict] = ()) -> Meeting:
    """A meeting's whole work in one call: who came, notes and decisions, that day's assessment, and
    new or updated actions. Any refusal undoes all of it (the request rolls back)."""
    access.require_consent()
    family_id = access.family.id
    enrolment = current_enrolment(family_id)
    if enrolment is None:
        raise ServiceError(_("Familien har ingen deltakelse."), "held_on")
    fields = _meeting_fields(enrolment, held_on, notes, decisions, next_meeting_on)
    attendees = _attendees(family_id, _team_user_ids(family_id, fields["held_on"]), attendee_user_ids,
                           attendee_member_ids)
    meeting = Meeting(family_id=family_id, enrolment_id=enrolment.id, created_by_id=actor.id, **fields)
    meeting.attendees = attendees
    db.session.add(meeting)
    db.session.flush()
    audit.record("meeting.create", actor=actor, family_id=family_id, object_type="meeting", object_id=meeting.id,
                 summary={"attendees": len(attendees), "has_notes": bool(fields["notes"]),
                          "has_decisions": bool(fields["decisions"])})
    if assessment:
        create_assessment(access, actor=actor, assessed_on=fields["held_on"], meeting_id=meeting.id, **assessment)
    for change in action_updates:
        change = dict(change)
        action_id = change.pop("id", None)
        action = db.session.get(Action, action_id) if action_id is not None else None
        if action is None or action.family_id != family_id:
            raise ServiceError(_("Tiltaket finnes ikke i familiens plan."), "action_updates")
        with _row_errors(f"actions.{action.id}"):
            update_action(access, action, actor=actor, **change)
    for index, spec in enumerate(new_actions):
        with _row_errors(f"new_actions.{index}"):
            create_action(access, actor=actor, meeting_id=meeting.id, **spec)
    return meeting


@contextmanager
def _row_errors(prefix: str):
    """Name the row a refusal belongs to: ``new_actions.1.owner`` rather than ``owner``."""
    try:
        yield
    except ServiceError as error:
        error.field = f"{prefix}.{error.field}"
        raise


def update_meeting(access: Access, meeting: Meeting, *, actor: User, held_on: date | None,
                   attendee_user_ids: Iterable[int] = (), attendee_member_ids: Iterable[int] = (),
                   notes: str | None = None, decisions: str | None = None,
                   next_meeting_on: date | None = None) -> Meeting:
    access.require_consent()
    if meeting.family_id != access.family.id:
        raise ServiceError(_("Møtet hører ikke til familien."), "meeting_id", status=404)
    enrolment = db.session.get(Enrolment, meeting.enrolment_id)
    fields = _meeting_fields(enrolment, held_on, notes, decisions, next_meeting_on)
    attendees = _attendees(meeting.family_id, _team_user_ids(meeting.family_id, fields["held_on"]) |
                           {a.user_id for a in meeting.attendees if a.user_id}, attendee_user_ids,
                           attendee_member_ids)
    changed = [k for k, v in fields.items() if getattr(meeting, k) != v]
    for key, value in fields.items():
        setattr(meeting, key, value)
    meeting.attendees.clear()
    db.session.flush()
    meeting.attendees.extend(attendees)
    db.session.flush()
    audit.record("meeting.update", actor=actor, family_id=meeting.family_id, object_type="meeting",
                 object_id=meeting.id, summary={"fields": changed, "attendees": len(attendees)})
    return meeting
