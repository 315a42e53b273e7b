"""The content of Min side (issue 16): the family's plan and journey, its own ratings before a
meeting, its consents, its access log and its export. Services flush, never commit.

What a member sees goes through :class:`~velferdslab.cases.minside.access.FamilyAccess` (the gate's
``Access`` with the policy's ``family_see`` rule); every change is audited with the member as actor
(:class:`~velferdslab.cases.minside.services.FamilyActor`). The family's own reads (access log,
export, progress report) never depend on a staff member's consent gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from velferdslab.audit import access_log
from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction, Purpose
from velferdslab.auth.models import Agency, Lab
from velferdslab.cases.access import visible_ratings
from velferdslab.cases.consent import services as consent_services
from velferdslab.cases.consent.models import (
    CATEGORY_LABELS,
    Consent,
    ConsentCategory,
    ConsentMethod,
    ConsentPurpose,
    consent_is_valid,
    purpose_label,
)
from velferdslab.cases.household.models import FamilyMember
from velferdslab.cases.journey import queries as journey_queries
from velferdslab.cases.journey import services as journey_services
from velferdslab.cases.journey.models import Perspective
from velferdslab.cases.meetings import queries as meeting_queries
from velferdslab.cases.minside.access import FamilyAccess
from velferdslab.cases.minside.models import ConsentSignature, FamilyOwnRating
from velferdslab.cases.minside.services import FamilyActor
from velferdslab.cases.plan import queries as plan_queries
from velferdslab.cases.plan.models import OPEN_ACTION_STATUSES, Action, ActionStatus
from velferdslab.cases.themes import CHILD_SCALE_BELOW_AGE, THEME_BY_CODE
from velferdslab.core.errors import ConflictError, ServiceError
from velferdslab.core.models import OSLO, today_local, utcnow
from velferdslab.extensions import db

EXPORT_FORMAT = "velferdslab-min-side-export/1"
SIGN_METHOD = "oidc"  # signed while signed in with the family's provider (ID-porten in production)


# --- the plan, the journey, the next meeting ------------------------------------------------------

@dataclass
class Overview:
    access: FamilyAccess
    goals: list
    actions: list
    family_actions: list
    history: journey_queries.JourneyHistory
    next_meeting_on: date | None
    themes: list[str]


def overview(access: FamilyAccess) -> Overview:
    family_id = access.family.id
    themes = journey_services.applicable_themes(family_id)
    goals = plan_queries.visible_goals(access, plan_queries.goals(family_id)).items
    actions = plan_queries.visible_actions(access, plan_queries.open_actions(family_id)).items
    return Overview(access=access, goals=goals, actions=actions,
                    family_actions=[a for a in actions if a.owner_is_family],
                    history=journey_queries.journey_history(family_id, themes, access),
                    next_meeting_on=meeting_queries.next_meeting_on(family_id, today_local()), themes=themes)


def mark_action_done(access: FamilyAccess, action_id: int) -> Action:
    """The family marks an action it owns as done (audited with the member as actor)."""
    action = db.session.get(Action, action_id)
    if action is None or action.family_id != access.family.id or not action.owner_is_family:
        raise ServiceError(_("Fant ikke tiltaket."), "action_id", status=404)
    access.require_may_see(None, action.goal.theme if action.goal is not None else None, "action")
    if action.status not in OPEN_ACTION_STATUSES:
        raise ConflictError(_("Tiltaket er allerede avsluttet."), "action_id")
    action.status = ActionStatus.DONE.value
    db.session.flush()
    audit.record(AuditAction.FAMILY_ACTION_DONE, actor=FamilyActor.of(access.member), family_id=access.family.id,
                 object_type="action", object_id=action.id, summary={"status": action.status})
    return action


# --- the family's own rating before a meeting -----------------------------------------------------

def uses_child_scale(member: FamilyMember) -> bool:
    return member.age_in(today_local().year) < CHILD_SCALE_BELOW_AGE


def own_ratings(member: FamilyMember) -> dict[str, FamilyOwnRating]:
    rows = db.session.scalars(select(FamilyOwnRating).where(FamilyOwnRating.given_by_member_id == member.id))
    return {row.theme: row for row in rows}


def save_own_ratings(access: FamilyAccess, levels: dict[str, int | None], notes: dict[str, str | None]) -> int:
    """The member's own ratings, one per theme (a new one replaces the older); about themself.
    Returns how many themes were rated."""
    member = access.member
    themes = journey_services.applicable_themes(access.family.id)
    child = uses_child_scale(member)
    top = 3 if child else 4
    existing = own_ratings(member)
    now = utcnow()
    rated = []
    for theme, level in levels.items():
        if theme not in themes:
            raise ServiceError(_("Ukjent tema."), theme)
        note = (notes.get(theme) or "").strip() or None
        if note is not None and len(note) > 500:
            raise ServiceError(_("Skriv høyst 500 tegn."), f"note_{theme}")
        if level is None:
            if note is not None:
                raise ServiceError(_("Velg et svar før du skriver en kommentar."), theme)
            continue
        if not 1 <= level <= top:
            raise ServiceError(_("Velg et av svarene."), theme)
        row = existing.get(theme) or FamilyOwnRating(family_id=access.family.id, given_by_member_id=member.id,
                                                     theme=theme)
        row.subject_member_id = member.id
        row.level, row.note, row.given_at = level, note, now
        row.scale = "child" if child else "four_step"
        db.session.add(row)
        rated.append(theme)
    if not rated:
        raise ServiceError(_("Velg et svar for minst ett tema."), themes[0] if themes else "theme")
    db.session.flush()
    audit.record(AuditAction.FAMILY_OWN_RATING, actor=FamilyActor.of(member), family_id=access.family.id,
                 object_type="member", object_id=member.id, summary={"themes": rated, "scale": rated and (
                     "child" if child else "four_step")})
    return len(rated)


def family_ratings_for_team(access) -> tuple[list[FamilyOwnRating], list[str]]:
    """The family's own ratings for the team's meeting form: each member's newest per theme, given
    after the family's latest assessment, filtered by the reader's consents (``visible_ratings``)."""
    family_id = access.family.id
    latest = journey_queries.journey_history(family_id).latest
    query = (select(FamilyOwnRating).where(FamilyOwnRating.family_id == family_id)
             .options(joinedload(FamilyOwnRating.given_by)).order_by(FamilyOwnRating.given_by_member_id,
                                                                     FamilyOwnRating.theme))
    rows = [r for r in db.session.scalars(query)
            if latest is None or r.given_at.astimezone(OSLO).date() >= latest.assessed_on]
    shown = visible_ratings(access, rows)
    return shown.items, shown.hidden


def prefill_family_own(form, ratings) -> None:
    """Start each member's own voice in a team's rating form at the rating the member gave on Min
    side (the field names of ``journey.forms``: ``m<id>_<theme>``, its note and its subject)."""
    for rating in ratings:
        voice = f"m{rating.given_by_member_id}"
        level, note = f"{voice}_{rating.theme}", f"{voice}_{rating.theme}_note"
        if level not in form:
            continue
        form[level].data = str(rating.level)
        if note in form and rating.note:
            form[note].data = rating.note
        subject = f"{voice}_{rating.theme}_subject"
        if subject in form and rating.subject_member_id is not None:
            form[subject].data = str(rating.subject_member_id)


# --- consents -------------------------------------------------------------------------------------

@dataclass
class ConsentLine:
    consent: Consent
    valid: bool
    may_withdraw: bool
    signed_at: datetime | None

    @property
    def categories(self) -> list[str]:
        return [str(CATEGORY_LABELS[c]) for c in self.consent.categories]

    @property
    def purpose(self) -> str:
        return purpose_label(self.consent.purpose)


def _about_me(access: FamilyAccess, consent: Consent) -> bool:
    return consent.subject_member_id is None or consent.subject_member_id in access.member_ids \
        or consent.given_by_member_id == access.member.id


def my_consents(access: FamilyAccess) -> list[ConsentLine]:
    """Every current consent about me (and the household's, and my younger children's for a parent)."""
    rows = consent_services.consents(access.family.id)
    superseded = {c.supersedes_id for c in rows if c.supersedes_id}
    today = today_local()
    signatures = dict(db.session.execute(select(ConsentSignature.consent_id, ConsentSignature.signed_at)
                                         .where(ConsentSignature.member_id == access.member.id)).all())
    lines = []
    for consent in rows:
        if consent.id in superseded or not _about_me(access, consent):
            continue
        valid = consent_is_valid(consent, today)
        lines.append(ConsentLine(consent, valid, valid and _may_decide(access, consent, today),
                                 _signed_at(consent, signatures, rows)))
    return sorted(lines, key=lambda line: (not line.valid, line.consent.agency.name, line.consent.id))


def _signed_at(consent: Consent, signatures: dict, rows: list[Consent]):
    by_id = {c.id: c for c in rows}
    row: Consent | None = consent
    while row is not None:  # a confirmation or renewal row keeps the signature of the row it supersedes
        if row.id in signatures:
            return signatures[row.id]
        row = by_id.get(row.supersedes_id) if row.supersedes_id else None
    return None


def _may_decide(access: FamilyAccess, consent: Consent, on: date) -> bool:
    try:
        consent_services._right_holder(access.family, consent.agency, consent.subject, access.member, on, "x")
    except ServiceError:
        return False
    return True


def _consent(access: FamilyAccess, consent_id: int) -> Consent:
    consent = db.session.get(Consent, consent_id)
    if consent is None or consent.family_id != access.family.id or not _about_me(access, consent):
        raise ServiceError(_("Fant ikke samtykket."), "consent_id", status=404)
    return consent


def consent_for_form(access: FamilyAccess, consent_id: int) -> Consent:
    """A consent about the member, for its form (the read is audited with the member as actor)."""
    consent = _consent(access, consent_id)
    audit.record(AuditAction.CONSENT_FORM_PDF, actor=FamilyActor.of(access.member), family_id=access.family.id,
                 object_type="consent", object_id=consent.id, purpose=Purpose.FAMILY_REQUEST)
    return consent


def give_own_consent(access: FamilyAccess, *, agency: int | None, purpose: str | None, subject: int | None,
                     categories: list[str]) -> Consent:
    """The member gives a consent themself (same rules as the team's record: who holds the right, the
    consent age), signed electronically now. A consent given by the family opens the agency's access at
    once: the family is not of the agency, so no second person needs to confirm it."""
    family, member = access.family, access.member
    if agency is None:
        raise ServiceError(_("Velg etaten samtykket gjelder."), "agency")
    agency_row = db.session.get(Agency, agency)
    if agency_row is None or agency_row.lab_id != family.lab_id:
        raise ServiceError(_("Velg etaten samtykket gjelder."), "agency")
    if ConsentPurpose.get(purpose) is None:
        raise ServiceError(_("Velg formålet fra listen."), "purpose")
    codes = consent_services._categories(categories)
    about = None
    if subject is not None:
        about = db.session.get(FamilyMember, subject)
        if about is None or about.family_id != family.id or about.id not in access.member_ids:
            raise ServiceError(_("Velg hvem i familien samtykket gjelder."), "subject")
    today = today_local()
    consent_services._right_holder(family, agency_row, about, member, today, "subject")
    previous = consent_services._current_consent(family.id, agency_row.id, str(purpose), about.id if about else None)
    row = Consent(family_id=family.id, agency_id=agency_row.id, purpose=str(purpose),
                  subject_member_id=about.id if about else None, given_by_member_id=member.id, given_on=today,
                  method=ConsentMethod.SIGNED.value, supersedes_id=previous.id if previous else None,
                  recorded_by_id=None, awaiting_confirmation=False)
    row.category_rows = [ConsentCategory(category=code) for code in codes]
    consent_services._insert_consent(row)
    actor = FamilyActor.of(member)
    audit.record(AuditAction.CONSENT_GIVE, actor=actor, family_id=family.id, object_type="consent", object_id=row.id,
                 summary={"agency_id": agency_row.id, "supersedes_id": row.supersedes_id,
                          "subject_member_id": row.subject_member_id, "categories": codes, "source": "min_side"})
    sign(access, row.id)
    return row


def withdraw_own_consent(access: FamilyAccess, consent_id: int) -> Consent:
    """The member withdraws a consent they hold the right to (``consent.services.check_withdrawal``):
    the agency's people lose access at once (the gate reads consents on every request)."""
    consent = _consent(access, consent_id)
    withdrawn_on, member = consent_services.check_withdrawal(access, consent, withdrawn_on=today_local(),
                                                             withdrawn_by=access.member.id)
    fields = {name: getattr(consent, name) for name in (
        "family_id", "agency_id", "purpose", "subject_member_id", "given_by_member_id", "given_on", "expires_on",
        "method", "witness_name", "awaiting_confirmation")}
    row = Consent(**fields, withdrawn_on=withdrawn_on, withdrawn_by_member_id=member.id, supersedes_id=consent.id,
                  recorded_by_id=None)
    row.category_rows = [ConsentCategory(category=code) for code in consent.categories]
    consent_services._insert_consent(row)
    audit.record(AuditAction.CONSENT_WITHDRAW, actor=FamilyActor.of(member), family_id=access.family.id,
                 object_type="consent", object_id=row.id,
                 summary={"agency_id": consent.agency_id, "supersedes_id": consent.id, "source": "min_side"})
    return row


def sign(access: FamilyAccess, consent_id: int, acr: str | None = None) -> ConsentSignature:
    """The member signs a consent form electronically: the time and the method are recorded."""
    consent = _consent(access, consent_id)
    member = access.member
    if consent.given_by_member_id != member.id and not _may_decide(access, consent, today_local()):
        raise ServiceError(_("Bare den som gir samtykket kan signere det."), "consent_id", status=403)
    found = db.session.scalar(select(ConsentSignature).where(ConsentSignature.consent_id == consent.id,
                                                             ConsentSignature.member_id == member.id))
    if found is not None:
        return found
    row = ConsentSignature(consent_id=consent.id, member_id=member.id, signed_at=utcnow(), method=SIGN_METHOD,
                           acr=(acr or None))
    db.session.add(row)
    db.session.flush()
    audit.record(AuditAction.FAMILY_CONSENT_SIGN, actor=FamilyActor.of(member), family_id=access.family.id,
                 object_type="consent", object_id=consent.id, summary={"method": SIGN_METHOD})
    return row


# --- access log and export ------------------------------------------------------------------------

def _log_visible(access: FamilyAccess, entry_object: tuple[str | None, str | None],
                 consents: dict[int, Consent]) -> bool:
    """An event about another member (or a consent about one) that this member may not see is left out."""
    object_type, object_id = entry_object
    if not object_id or object_type not in ("member", "consent"):
        return True
    if not object_id.isdigit():
        return False
    if object_type == "member":
        return int(object_id) in access.member_ids
    consent = consents.get(int(object_id))
    return consent is None or _about_me(access, consent)


def my_access_log(access: FamilyAccess, *, fmt: str) -> list[dict]:
    """Who (agency and role, never a staff name) saw or did what, when and why; without what is about
    another member this member may not see. The read itself is recorded first (so it is in the log)."""
    audit.record(AuditAction.FAMILY_ACCESS_LOG, actor=FamilyActor.of(access.member), family_id=access.family.id,
                 object_type="member", object_id=access.member.id, purpose=Purpose.FAMILY_REQUEST,
                 summary={"format": fmt})
    return _log(access)


def _log(access: FamilyAccess) -> list[dict]:
    from velferdslab.audit.models import AuditEvent

    objects = {row.id: (row.object_type, row.object_id) for row in db.session.execute(
        select(AuditEvent.id, AuditEvent.object_type, AuditEvent.object_id)
        .where(AuditEvent.family_id == access.family.id))}
    consents = {c.id: c for c in consent_services.consents(access.family.id)}
    return [e for e in access_log.entries(access.family.id)
            if _log_visible(access, objects.get(e["id"], (None, None)), consents)]


def _level_name(level: int | None) -> str | None:
    from velferdslab.cases.themes import LEVEL_NAMES

    return str(LEVEL_NAMES[level]) if level in LEVEL_NAMES else None


def export(access: FamilyAccess, *, fmt: str) -> dict:
    """What is stored about me, in plain-language sections (never a table dump)."""
    member, family = access.member, access.family
    audit.record(AuditAction.FAMILY_EXPORT, actor=FamilyActor.of(member), family_id=family.id, object_type="member",
                 object_id=member.id, purpose=Purpose.FAMILY_REQUEST, summary={"format": fmt})
    info = overview(access)
    members = {m.id: m for m in family.members}
    lab = db.session.get(Lab, family.lab_id)

    def name(member_id: int | None) -> str:
        if member_id is None:
            return _("Hele husstanden")
        return members[member_id].full_name if member_id in members else "?"

    sections = {
        "me": {"title": _("Om meg"), "name": member.full_name, "birth_year": member.birth_year,
               "role": member.role, "household": family.household_name},
        "household": {"title": _("Husstanden"),
                      "members": [{"name": m.first_name, "role": m.role} for m in family.members]},
        "plan": {"title": _("Planen (duken)"),
                 "goals": [{"theme": str(THEME_BY_CODE[g.theme].name) if g.theme in THEME_BY_CODE else g.theme,
                            "text": g.text, "status": g.status} for g in info.goals],
                 "open_actions": [{"title": a.title, "status": a.status, "due_on": a.due_on and a.due_on.isoformat(),
                                   "owned_by_family": a.owner_is_family} for a in info.actions]},
        "journey": {"title": _("Vurderingene"),
                    "assessments": [{"date": p.assessed_on.isoformat(), "overall_level": _level_name(p.overall_level),
                                     "ratings": [{"theme": str(THEME_BY_CODE[v.theme].name), "level": v.level,
                                                  "scale": v.scale, "about": name(v.subject_member_id),
                                                  "given_by": (name(v.given_by_member_id) if v.given_by_member_id
                                                               else str(Perspective.lazy_labels().get(
                                                                   v.perspective, v.perspective)))}
                                                 for v in p.voices]}
                                    for p in info.history.points]},
        "own_ratings": {"title": _("Mine egne vurderinger før møter"),
                        "ratings": [{"theme": str(THEME_BY_CODE[r.theme].name), "level": r.level, "scale": r.scale,
                                     "note": r.note, "given_at": r.given_at.isoformat()}
                                    for r in own_ratings(member).values()]},
        "consents": {"title": _("Samtykker"),
                     "consents": [{"agency": line.consent.agency.name, "purpose": line.purpose,
                                   "about": name(line.consent.subject_member_id),
                                   "given_by": name(line.consent.given_by_member_id),
                                   "given_on": line.consent.given_on.isoformat(),
                                   "withdrawn_on": line.consent.withdrawn_on and line.consent.withdrawn_on.isoformat(),
                                   "valid": line.valid, "categories": line.categories,
                                   "signed_electronically_at": line.signed_at and line.signed_at.isoformat()}
                                  for line in my_consents(access)]},
        "meetings": {"title": _("Møter"),
                     "meetings": [{"date": row.meeting.held_on.isoformat(), "notes": row.meeting.notes,
                                   "decisions": row.meeting.decisions} for row in meeting_queries.meetings(access)],
                     "next_meeting_on": info.next_meeting_on and info.next_meeting_on.isoformat()},
    }
    return {"format": EXPORT_FORMAT, "lab": lab.name if lab else None, "exported_at": utcnow().isoformat(),
            "sections": sections,
            "access_log": [{k: e[k] for k in ("time", "agency", "role", "what", "purpose")}
                           for e in _log(access)]}
