"""Which themes apply to a family, and its journey assessments: create, correct (a new version),
and every version of one.

Services that touch the case content take an :class:`~velferdslab.cases.access.Access` and call
``access.require_consent()``: the consent gate holds here, not only in the templates.

Each service validates, changes, writes its audit row and flushes — it never commits (the request
does); a refusal is a :class:`ServiceError` naming the input at fault (see ``velferdslab.cases``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from flask_babel import gettext as _
from sqlalchemy import CursorResult, select, update

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction
from velferdslab.auth.models import User
from velferdslab.cases.access import Access, rating_subject
from velferdslab.cases.enrolment.models import Enrolment
from velferdslab.cases.enrolment.services import (
    FOLLOW_UP_MONTHS,
    FOLLOW_UP_WINDOW_MONTHS,
    current_enrolment,
    follow_up_window,
)
from velferdslab.cases.household.models import CHILD_ROLES, FamilyMember, MemberRole
from velferdslab.cases.household.services import family_members
from velferdslab.cases.journey.models import (
    ASSESSMENT_KINDS,
    PERSPECTIVES,
    SCALES,
    FamilyTheme,
    JourneyAssessment,
    Perspective,
    Scale,
    ThemeRating,
)
from velferdslab.cases.rules import _not_future, _text
from velferdslab.cases.themes import (
    CHILD_SCALE,
    CHILD_SCALE_BELOW_AGE,
    LEVELS,
    THEME_BY_CODE,
    THEMES,
    suggest_overall_level,
)
from velferdslab.core.errors import ConflictError, ServiceError
from velferdslab.core.models import today_local
from velferdslab.extensions import db


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


def applicable_themes(family_id: int) -> list[str]:
    return applicable_theme_codes(family_members(family_id), theme_overrides(family_id))


def set_theme_applicability(access: Access, theme: str, applicable: bool, *, actor: User) -> None:
    """Override whether a theme applies; an override equal to the default rule is removed."""
    access.require_consent()
    if theme not in THEME_BY_CODE:
        raise ServiceError(_("Ukjent tema."), "theme")
    family_id = access.family.id
    row = db.session.get(FamilyTheme, (family_id, theme))
    default = default_applicable(theme, family_members(family_id))
    if applicable != (row.applicable if row is not None else default):
        # Turning a theme on or off is a statement about the family in that theme (issue 15): the
        # agency needs the household's consent for it. Unchanged themes of a form pass.
        access.require_may_write(None, theme, "rating", "theme")
    if applicable == default:
        if row is not None:
            db.session.delete(row)
    elif row is None:
        db.session.add(FamilyTheme(family_id=family_id, theme=theme, applicable=applicable))
    else:
        row.applicable = applicable
    db.session.flush()
    audit.record(AuditAction.FAMILY_THEME, actor=actor, family_id=family_id, object_type="family", object_id=family_id,
                 summary={"theme": theme, "applicable": applicable})


def _perspectives_allowed(members: list[FamilyMember]) -> tuple[str, ...]:
    """Whose ratings a family can have: the team's and the family's, and a young person's own when
    the household has one."""
    if any(m.role == MemberRole.YOUNG_PERSON for m in members):
        return PERSPECTIVES
    return (Perspective.TEAM.value, Perspective.FAMILY.value)


@dataclass(frozen=True)
class FormVoice:
    """One column of the rating form: whose view it is (``key`` is the field prefix, see
    :func:`voice_field`), on which scale, and whether it says whom the rating is about."""

    key: str
    label: str
    perspective: str
    given_by: int | None = None
    child_scale: bool = False
    choose_subject: bool = False  # a "Gjelder" choice: the household or one member
    subject_required: bool = False  # the team's rating about one member

    @property
    def is_team(self) -> bool:
        """The team's household rating: the one the suggested overall level is computed from."""
        return self.key == Perspective.TEAM


def member_voice_label(member: FamilyMember, year: int) -> str:
    role = str(MemberRole.lazy_labels().get(member.role, member.role)).lower()
    return _("%(name)s (%(role)s, %(age)s år)", name=member.first_name, role=role, age=member.age_in(year))


def form_voices(members: list[FamilyMember], year: int) -> list[FormVoice]:
    """The form's columns: the team, the family, a young person (as before), the team about one
    member, and every member's own view (children under 12 on the children's scale)."""
    labels = Perspective.lazy_labels()
    voices = [FormVoice(p, str(labels[p]), p) for p in _perspectives_allowed(members)]
    if members:
        voices.append(FormVoice("about", _("Teamet om én person"), Perspective.TEAM.value, choose_subject=True,
                                subject_required=True))
    voices += [FormVoice(f"m{m.id}", member_voice_label(m, year), Perspective.MEMBER.value, given_by=m.id,
                         child_scale=m.age_in(year) < CHILD_SCALE_BELOW_AGE, choose_subject=True)
               for m in members]
    return voices


def assessment_context(family_id: int, year: int | None = None) -> tuple[list[str], list[FormVoice]]:
    """The themes that apply to the family and the voices it is rated from (ages in ``year``)."""
    members = family_members(family_id)
    themes = applicable_theme_codes(members, theme_overrides(family_id))
    return themes, form_voices(members, year if year is not None else today_local().year)


def voice_key(perspective: str | None, given_by: int | None = None, subject: int | None = None) -> str:
    """The form voice of a rating: the household perspectives by their code, ``m12`` for member
    12's own view, ``about`` for the team's rating about one member."""
    if given_by is not None:
        return f"m{given_by}"
    if perspective == Perspective.TEAM and subject is not None:
        return "about"
    return str(perspective)


def voice_field(theme: str, perspective: str | None, given_by: int | None = None, subject: int | None = None) -> str:
    """The form field of one rating (also the field a refusal names): ``team_bolig``, ``m12_skole``,
    ``about_skole``."""
    return f"{voice_key(perspective, given_by, subject)}_{theme}"


def _check_voice(index: int, rating: dict, members: dict[int, FamilyMember],
                 year: int) -> tuple[str | None, int | None, int | None, str]:
    """Who gives the rating, whom it is about, and on which scale: (perspective, given_by, subject,
    scale), each checked against the family."""
    perspective, given_by, subject = rating.get("perspective"), rating.get("given_by"), rating.get("subject")
    scale = str(rating.get("scale") or Scale.FOUR_STEP.value)
    if given_by is not None:
        if given_by not in members:
            raise ServiceError(_("Den som vurderer, er ikke med i familien."), f"ratings.{index}.given_by")
        if perspective not in (None, Perspective.MEMBER):
            raise ServiceError(_("Et familiemedlems eget syn har perspektivet «member»."),
                               f"ratings.{index}.perspective")
        perspective = Perspective.MEMBER.value
    elif perspective == Perspective.MEMBER:
        raise ServiceError(_("Velg hvilket familiemedlem som gir vurderingen."), f"ratings.{index}.given_by")
    if subject is not None and subject not in members:
        raise ServiceError(_("Personen vurderingen gjelder, er ikke med i familien."), f"ratings.{index}.subject")
    if scale not in SCALES:
        raise ServiceError(_("Ukjent skala."), f"ratings.{index}.scale")
    if scale == Scale.CHILD:
        child = members.get(given_by) if given_by is not None else None
        if child is None or child.age_in(year) >= CHILD_SCALE_BELOW_AGE:
            raise ServiceError(_("Barnas skala er for barn under %(age)s år som gir sitt eget syn.",
                                 age=CHILD_SCALE_BELOW_AGE), f"ratings.{index}.scale")
    return perspective, given_by, subject, scale


def _clean_ratings(family_id: int, ratings: Iterable[dict], on: date) -> list[dict]:
    """Check every rating: a known, applicable theme; a perspective the family has; a giver and a
    subject who are in the family; a scale that suits the giver; a level 1–4 (1–3 on the
    children's scale).

    The team's perspective must rate every applicable theme about the household; every other
    rating (the family's, a young person's, a member's own, the team's about one member) may cover
    some themes only.
    """
    members = family_members(family_id)
    by_id = {m.id: m for m in members}
    themes = applicable_theme_codes(members, theme_overrides(family_id))
    perspectives = _perspectives_allowed(members) + (Perspective.MEMBER.value,)
    seen: set[tuple] = set()
    clean = []
    for index, rating in enumerate(ratings):
        theme, level = rating.get("theme"), rating.get("level")
        if theme not in THEME_BY_CODE:
            raise ServiceError(_("Ukjent tema."), "ratings")
        perspective, given_by, subject, scale = _check_voice(index, rating, by_id, on.year)
        field = voice_field(theme, perspective, given_by, subject)
        if perspective not in perspectives:
            raise ServiceError(_("Ukjent perspektiv, eller familien har ingen ungdom som kan vurdere selv."),
                               "ratings" if perspective not in PERSPECTIVES else field)
        if theme not in themes:
            raise ServiceError(_("Temaet «%(theme)s» gjelder ikke for denne familien.",
                                 theme=THEME_BY_CODE[theme].name), field)
        if isinstance(level, bool) or level not in LEVELS:
            raise ServiceError(_("Nivået må være 1 (uholdbar), 2 (utsatt), 3 (stabil) eller 4 (bærekraftig)."),
                               field)
        if scale == Scale.CHILD and level not in CHILD_SCALE:
            raise ServiceError(_("På barnas skala er svaret 1 (ikke bra), 2 (sånn passe) eller 3 (bra)."), field)
        key = (theme, perspective, given_by, subject)
        if key in seen:
            raise ServiceError(_("Temaet er vurdert to ganger fra samme perspektiv."), field)
        seen.add(key)
        clean.append({"theme": theme, "perspective": perspective, "level": level, "scale": scale,
                      "given_by_member_id": given_by, "subject_member_id": subject,
                      "note": _text(rating.get("note"), field + "_note", max_length=500)})
    missing = [t for t in themes if (t, "team", None, None) not in seen]
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
        if enrolment.status != "closed" or enrolment.closed_on is None:
            raise ServiceError(_("Oppfølgingsvurderinger gjøres etter at deltakelsen er avsluttet."), "kind")
        first, last = follow_up_window(enrolment.closed_on, kind)
        if not first <= assessed_on <= last:
            raise ServiceError(_("En oppfølging etter %(months)s måneder dateres mellom %(first)s og %(last)s "
                                 "(%(months)s måneder etter avslutningen, med %(window)s måneder slingringsmonn).",
                                 months=FOLLOW_UP_MONTHS[kind], first=first.strftime("%d.%m.%Y"),
                                 last=last.strftime("%d.%m.%Y"), window=FOLLOW_UP_WINDOW_MONTHS), "assessed_on")
    elif enrolment.closed_on is not None and assessed_on > enrolment.closed_on:
        raise ServiceError(_("Etter avslutning gjøres bare oppfølgingsvurderinger (6 og 12 måneder)."), "kind")
    return assessed_on


def _overall(ratings: list[dict], overall_level: int | None,
             override_reason: str | None) -> tuple[int, int, str | None]:
    suggested = suggest_overall_level([r["level"] for r in ratings
                                       if r["perspective"] == "team" and r["subject_member_id"] is None])
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


def _require_may_write(access: Access, ratings: list[dict]) -> None:
    """Refuse (403) an assessment with a rating about a member or theme, or the overall level, that
    no consent of the actor's agency covers (issue 15): the field names the rating, nothing is stored."""
    for r in ratings:
        access.require_may_write(r["subject_member_id"], r["theme"], "rating",
                                 voice_field(r["theme"], r["perspective"], r["given_by_member_id"],
                                             r["subject_member_id"]))
    access.require_may_write(None, None, "level", "overall_level")


def _add_ratings(assessment: JourneyAssessment, ratings: list[dict]) -> None:
    db.session.add_all([ThemeRating(assessment_id=assessment.id, **r) for r in ratings])
    db.session.flush()


def _assessment_summary(row: JourneyAssessment, ratings: list[dict]) -> dict:
    return {"kind": row.kind, "version": row.version, "overall_level": row.overall_level,
            "suggested_level": row.suggested_level, "overridden": row.overall_level != row.suggested_level,
            "ratings": len(ratings), "perspectives": sorted({r["perspective"] for r in ratings}),
            "given_by": sorted({r["given_by_member_id"] for r in ratings if r["given_by_member_id"] is not None}),
            "subjects": sorted({r["subject_member_id"] for r in ratings if r["subject_member_id"] is not None})}


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
    clean = _clean_ratings(family.id, ratings, assessed_on)
    _require_may_write(access, clean)
    overall, suggested, reason = _overall(clean, overall_level, override_reason)
    row = JourneyAssessment(family_id=family.id, enrolment_id=enrolment.id, meeting_id=meeting_id,
                            assessed_on=assessed_on, kind=kind, version=1, is_current=True, overall_level=overall,
                            suggested_level=suggested, override_reason=reason, created_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    _add_ratings(row, clean)
    audit.record(AuditAction.ASSESSMENT_CREATE, actor=actor, family_id=family.id, object_type="journey_assessment",
                 object_id=row.id, summary=_assessment_summary(row, clean))
    return row


def correct_assessment(access: Access, assessment: JourneyAssessment, *, actor: User, correction_reason: str | None,
                       assessed_on: date | None, ratings: Iterable[dict], overall_level: int | None = None,
                       override_reason: str | None = None) -> JourneyAssessment:
    """A correction is a new version; the old one stays in the history, no longer current. It replaces
    every rating, so only a reader whose consents cover all of them (and the overall level) makes it."""
    access.require_consent()
    if assessment.family_id != access.family.id:
        raise ServiceError(_("Vurderingen hører ikke til familien."), "assessment_id", status=404)
    access.require_may_see(None, None, "level")
    for rating in assessment.ratings:
        access.require_may_see(rating_subject(rating), rating.theme, "rating")
    reason = _text(correction_reason, "correction_reason", max_length=500, required=True,
                   label_missing=_("Skriv hva som rettes og hvorfor."))
    # get_one: assessment.enrolment_id is a NOT NULL foreign key, so the enrolment is there.
    enrolment = db.session.get_one(Enrolment, assessment.enrolment_id)
    assessed_on = _check_assessment_date(enrolment, assessed_on, assessment.kind)
    clean = _clean_ratings(access.family.id, ratings, assessed_on)
    _require_may_write(access, clean)
    overall, suggested, override = _overall(clean, overall_level, override_reason)
    # Only the current version may be corrected; the conditional update makes a concurrent
    # correction of the same version lose cleanly instead of forking the history.
    retire = (update(JourneyAssessment).where(JourneyAssessment.id == assessment.id,
                                              JourneyAssessment.is_current.is_(True))
              .values(is_current=False).execution_options(synchronize_session=False))
    # cast: Session.execute() is typed as returning Result, but an UPDATE gives a CursorResult (rowcount).
    done = cast(CursorResult[Any], db.session.execute(retire))
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
    audit.record(AuditAction.ASSESSMENT_CORRECT, actor=actor, family_id=row.family_id, object_type="journey_assessment",
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
