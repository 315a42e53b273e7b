"""The journey history: the current version of every assessment of a family with its ratings, in
two statements (also read by the progress report), the trend, and which assessments are due."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache

from sqlalchemy import Integer, Select, bindparam, select

from velferdslab.cases.access import Access, rating_subject, visible_ratings
from velferdslab.cases.enrolment import services as enrolment_services
from velferdslab.cases.enrolment.models import Enrolment
from velferdslab.cases.journey.models import JourneyAssessment, ThemeRating
from velferdslab.cases.themes import DISAGREEMENT_STEPS, THEME_BY_CODE
from velferdslab.extensions import db

ASSESSMENT_INTERVAL_DAYS = 56  # a regular assessment is due 8 weeks after the last one


@dataclass(frozen=True)
class Voice:
    """One rating with whose view it is and whom it is about (``None``: the household)."""

    theme: str
    perspective: str
    level: int
    note: str | None = None
    given_by_member_id: int | None = None
    subject_member_id: int | None = None
    scale: str = "four_step"
    assessment_id: int | None = None

    @property
    def key(self) -> str:
        """Whose view: ``team``, ``family``, ``young_person`` or ``m<member id>``."""
        return f"m{self.given_by_member_id}" if self.given_by_member_id is not None else self.perspective


@dataclass
class VoiceRow:
    """Every view of one theme about one subject (None: the household), side by side."""

    theme: str
    subject_member_id: int | None
    voices: list  # Voice or ThemeRating

    @property
    def spread(self) -> int:
        levels = [v.level for v in self.voices]
        return max(levels) - min(levels) if levels else 0

    @property
    def differ(self) -> bool:
        """"Ulike syn": two views of the same theme and subject at least two steps apart."""
        return self.spread >= DISAGREEMENT_STEPS


def voice_rows(ratings, themes: list[str]) -> list[VoiceRow]:
    """Per theme (in ``themes`` order, then any other) and subject (the household first), every view
    of it side by side. ``ratings``: ``Voice`` or ``ThemeRating`` rows (the same attributes)."""
    rows: dict[tuple[str, int | None], VoiceRow] = {}
    order = {code: i for i, code in enumerate(themes or THEME_BY_CODE)}
    for v in sorted(ratings, key=lambda v: (order.get(v.theme, len(order)), v.subject_member_id or 0)):
        rows.setdefault((v.theme, v.subject_member_id), VoiceRow(v.theme, v.subject_member_id, [])).voices.append(v)
    return list(rows.values())


def member_voice_rows(ratings, themes: list[str]) -> list[VoiceRow]:
    """:func:`voice_rows` when a rating is by or about a member (else none: the household's
    perspectives table shows them all)."""
    ratings = list(ratings)
    return voice_rows(ratings, themes) if has_member_voices(ratings) else []


def has_member_voices(ratings) -> bool:
    return any(v.given_by_member_id is not None or v.subject_member_id is not None for v in ratings)


def household_ratings(ratings) -> dict:
    """{(theme, perspective): rating} of the household's own ratings (the shape before issue 15)."""
    return {(r.theme, r.perspective): r for r in ratings
            if r.given_by_member_id is None and r.subject_member_id is None}


@dataclass
class AssessmentPoint:
    id: int
    assessed_on: date
    kind: str
    version: int
    overall_level: int | None  # None: hidden from this reader (no consent covers the overall level)
    suggested_level: int | None
    override_reason: str | None
    meeting_id: int | None
    # (theme, perspective) -> (level, note): the household's own ratings from the team, the family
    # and the young person (the shape the charts and reports read).
    ratings: dict[tuple[str, str], tuple[int, str | None]] = field(default_factory=dict)
    # Every rating, also a member's own and those about one member.
    voices: list[Voice] = field(default_factory=list)
    # When the row was written: with the id, what tells this version from a row that reused its id
    # (a database restored from a backup, a test's rolled-back one) — the family page's cache key.
    created_at: datetime | None = None

    def voice_rows(self, themes: list[str]) -> list[VoiceRow]:
        return voice_rows(self.voices, themes)

    def voice_for(self, theme: str, key: str) -> Voice | None:
        """The rating of ``theme`` from a form voice: ``team``/``family``/``young_person`` (about
        the household), ``about`` (the team about one member) or ``m<id>`` (a member's own, about
        the household first)."""
        if key == "about":
            found = [v for v in self.voices if v.theme == theme and v.perspective == "team"
                     and v.subject_member_id is not None]
        elif key.startswith("m") and key[1:].isdigit():
            found = sorted((v for v in self.voices if v.theme == theme and v.given_by_member_id == int(key[1:])),
                           key=lambda v: v.subject_member_id is not None)
        else:
            found = [v for v in self.voices if v.theme == theme and v.perspective == key
                     and v.given_by_member_id is None and v.subject_member_id is None]
        return found[0] if found else None

    def voice_level(self, theme: str, key: str) -> int | None:
        found = self.voice_for(theme, key)
        return found.level if found else None

    def has_member_voices(self) -> bool:
        return has_member_voices(self.voices)

    def level(self, theme: str, perspective: str = "team") -> int | None:
        found = self.ratings.get((theme, perspective))
        return found[0] if found else None

    def disagrees(self, theme: str) -> bool:
        """The perspectives that rated this theme did not all give the same level."""
        levels = {lvl for (t, _p), (lvl, _n) in self.ratings.items() if t == theme}
        return len(levels) > 1


@dataclass
class JourneyHistory:
    """The current version of every assessment of a family, oldest first."""

    points: list[AssessmentPoint]
    themes: list[str]
    # Why some of it is not shown to this reader (issue 15): one line per missing consent, no content.
    hidden: list[str] = field(default_factory=list)
    _rated_memo: tuple | None = field(default=None, init=False, repr=False, compare=False)
    # The family page's kept view (``journey.section``): only the latest point carries its ratings,
    # the earlier ones their dates, kinds and levels; ``rated`` is what rated_themes() gave for the
    # whole history. What needs every rating (perspectives, series) refuses such a history.
    latest_ratings_only: bool = False
    rated: list[str] | None = None

    def _require_all_ratings(self) -> None:
        if self.latest_ratings_only:
            raise RuntimeError("this journey history carries the latest assessment's ratings only")

    @property
    def latest(self) -> AssessmentPoint | None:
        return self.points[-1] if self.points else None

    @property
    def start(self) -> AssessmentPoint | None:
        """Where the journey started: the latest intake assessment, or else the first one."""
        intakes = [p for p in self.points if p.kind == "intake"]
        return intakes[-1] if intakes else (self.points[0] if self.points else None)

    @property
    def previous(self) -> AssessmentPoint | None:
        return self.points[-2] if len(self.points) > 1 else None

    def perspectives(self) -> list[str]:
        self._require_all_ratings()
        seen = {p for point in self.points for (_t, p) in point.ratings}
        return [p for p in ("team", "family", "young_person") if p in seen]

    def series(self, theme: str, perspective: str) -> list[tuple[date, int]]:
        self._require_all_ratings()
        return [(p.assessed_on, level) for p in self.points
                if (level := p.level(theme, perspective)) is not None]

    def overall_series(self) -> list[tuple[date, int]]:
        return [(p.assessed_on, p.overall_level) for p in self.points if p.overall_level is not None]

    def rated_themes(self) -> list[str]:
        """The applicable themes plus any theme rated in the past (so no history disappears).

        Memoised (issue 19: the journey table asks once per row, and it walked every rating each
        time). The memo is keyed by the list of points, its length and the themes, so points added
        or themes changed afterwards are walked again; it does not look into each point's ratings
        (a history's points are complete once :func:`journey_history` built them). A copy is
        returned, so a caller cannot change the memo."""
        if self.rated is not None:
            return list(self.rated)
        key = (id(self.points), len(self.points), tuple(self.themes))
        if self._rated_memo is None or self._rated_memo[0] != key:
            rated = {t for point in self.points for (t, _p) in point.ratings}
            self._rated_memo = (key, [code for code in THEME_BY_CODE if code in rated or code in self.themes])
        return list(self._rated_memo[1])


def assessment_points(family_id: int) -> list[AssessmentPoint]:
    """One statement: the family's current assessments, oldest first, without their ratings."""
    rows = db.session.execute(_points_query(), {"family_id": family_id})
    return [AssessmentPoint(id_, assessed_on, kind, version, overall, suggested, reason, meeting_id,
                            created_at=created_at)
            for id_, assessed_on, kind, version, overall, suggested, reason, meeting_id, created_at in rows]


@cache
def _points_query() -> Select:
    """:func:`assessment_points`'s columns (no ORM objects: a long history has hundreds), built once
    with the family as a parameter (issue 19)."""
    a = JourneyAssessment
    return (select(a.id, a.assessed_on, a.kind, a.version, a.overall_level, a.suggested_level, a.override_reason,
                   a.meeting_id, a.created_at)
            .where(a.family_id == bindparam("family_id", type_=Integer), a.is_current.is_(True))
            .order_by(a.assessed_on, a.id))


@dataclass
class HiddenRatings:
    """What :func:`attach_ratings` left out for a reader, as facts rather than words: the (subject,
    theme) of every hidden rating, once each in order, and whether the overall level is hidden."""

    ratings: list[tuple[int | None, str]] = field(default_factory=list)
    level: bool = False

    def reasons(self, access: Access) -> list[str]:
        """The reasons in the reader's words (what ``visible_ratings`` would have said, in its order)."""
        words = [access.hidden_reason(subject, theme, "rating") for subject, theme in self.ratings]
        if self.level:
            words.append(access.hidden_reason(None, None, "level"))
        return list(dict.fromkeys(words))


def attach_ratings(family_id: int, points: list[AssessmentPoint], access: Access | None = None) -> HiddenRatings:
    """One statement: every rating of the family's current assessments, put on ``points`` (from
    :func:`assessment_points`). With ``access``, only what the reader's consents cover
    (``cases.access.visible_ratings``; the overall level is the household's plan); what is left
    out is returned."""
    hidden = HiddenRatings()
    if not points:
        return hidden
    by_id = {point.id: point for point in points}
    voices: list[Voice] = [
        Voice(theme, perspective, level, note, given_by, subject, scale, assessment_id)
        for assessment_id, theme, perspective, level, note, given_by, subject, scale in db.session.execute(
            select(ThemeRating.assessment_id, ThemeRating.theme, ThemeRating.perspective, ThemeRating.level,
                   ThemeRating.note, ThemeRating.given_by_member_id, ThemeRating.subject_member_id,
                   ThemeRating.scale)
            .join(JourneyAssessment, JourneyAssessment.id == ThemeRating.assessment_id)
            .where(JourneyAssessment.family_id == family_id, JourneyAssessment.is_current.is_(True))
            .order_by(ThemeRating.id))]
    if access is not None:
        shown = visible_ratings(access, voices)
        if len(shown.items) < len(voices):
            kept = {id(voice) for voice in shown.items}
            hidden.ratings = list(dict.fromkeys((rating_subject(v), v.theme) for v in voices if id(v) not in kept))
        voices = shown.items
    for voice in voices:
        assert voice.assessment_id is not None
        point = by_id[voice.assessment_id]
        point.voices.append(voice)
        if voice.given_by_member_id is None and voice.subject_member_id is None:
            point.ratings[(voice.theme, voice.perspective)] = (voice.level, voice.note)
    if access is not None and not access.may_see(None, None, "level"):
        hidden.level = True
        for point in points:
            point.overall_level = point.suggested_level = point.override_reason = None
    return hidden


def journey_history(family_id: int, themes: list[str] | None = None, access: Access | None = None) -> JourneyHistory:
    """Two statements: the current assessments, and all their ratings. With ``access``, only what the
    reader's consents cover (``cases.access.visible_ratings``; the overall level is the household's
    plan), and why the rest is hidden."""
    points = assessment_points(family_id)
    hidden = attach_ratings(family_id, points, access)
    return JourneyHistory(points=points, themes=themes if themes is not None else [],
                          hidden=hidden.reasons(access) if access is not None else [])


def trend(history_levels: Sequence[int | None]) -> str | None:
    """'up', 'down' or 'same' from the last two overall levels; None with fewer than two."""
    if len(history_levels) < 2:
        return None
    last, before = history_levels[-1], history_levels[-2]
    if last is None or before is None:  # hidden from this reader
        return None
    return "up" if last > before else "down" if last < before else "same"


def assessment_due(enrolment: Enrolment, points: list, today: date) -> list[tuple[str, date]]:
    """Which assessments are due: (kind, due date) pairs."""
    due = []
    if enrolment.status == "active":
        mine = [p for p in points if p.assessed_on >= (enrolment.started_on or enrolment.referred_on)]
        when = (mine[-1].assessed_on + timedelta(days=ASSESSMENT_INTERVAL_DAYS)) if mine else enrolment.started_on
        if when is not None and when <= today:
            due.append(("regular", when))
    elif enrolment.status == "closed":
        done = {p.kind for p in points if enrolment.closed_on and p.assessed_on >= enrolment.closed_on}
        for kind, when in enrolment_services.follow_up_dates(enrolment).items():
            if when <= today and kind not in done:
                due.append((kind, when))
    return due


def all_versions(family_id: int) -> list[JourneyAssessment]:
    """Every assessment of the family with all its versions, newest first."""
    return list(db.session.scalars(select(JourneyAssessment).where(JourneyAssessment.family_id == family_id)
                                   .order_by(JourneyAssessment.assessed_on.desc(), JourneyAssessment.version.desc(),
                                             JourneyAssessment.id.desc())))
