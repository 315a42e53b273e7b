"""What the signed-in user may do with one family: the answer the family gate (``cases.gate``) gives.

An :class:`Access` is handed to every family-scoped handler and service. It says through which
door the user came in (a team membership, or an emergency-access grant) and whether their agency
lacks the family's consent (``gated``: they see the family's name, team and meeting dates only).
Services that touch the case content call :meth:`Access.require_consent`, so the consent gate holds
in the services too, not only in the routes.

Past the door, the case content is shown item by item (issue 15): :meth:`Access.may_see` says
whether the member's agency holds a valid consent about that person (or the household's, for shared
matters) covering that kind of information; :meth:`Access.hidden_reason` says, without the content,
why an item is hidden. Every read that shows ratings filters them with :func:`visible_ratings`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any, Generic, TypeVar

from flask_babel import gettext as _
from sqlalchemy import Date, Select, bindparam, exists, literal, select
from sqlalchemy.orm import aliased

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction
from velferdslab.audit.models import EmergencyAccess
from velferdslab.auth.models import Agency
from velferdslab.cases.consent.models import CATEGORY_LABELS, Consent, ConsentCategory, NoteCategory, valid_on
from velferdslab.cases.household.models import Family, FamilyMember, MemberRole
from velferdslab.core.errors import ForbiddenError
from velferdslab.core.models import today_local
from velferdslab.extensions import db
from velferdslab.teams.models import TeamMembership

T = TypeVar("T")

# What a kind of case content is, when it has no theme: meeting notes and decisions are their own
# category; an action without a goal, the overall level and a goal without a theme are the plan.
KIND_CATEGORY = {"note": NoteCategory.MEETING_NOTES.value, "meeting": NoteCategory.MEETING_NOTES.value}
KINDS = ("rating", "level", "note", "meeting", "goal", "action", "spend")


def category_of(theme: str | None, kind: str) -> str:
    """The kind of information an item is, as a consent names it: its theme, or a note category."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of case content: {kind!r}")
    return theme or KIND_CATEGORY.get(kind, NoteCategory.GENERAL.value)


@dataclass(frozen=True)
class ConsentScope:
    """What an agency's valid consents cover: per subject (a member's id, or None for the household)
    the kinds of information. ``everything``: emergency access (reviewed afterwards)."""

    covered: Mapping[int | None, frozenset[str]] = field(default_factory=dict)
    everything: bool = False

    def covers(self, subject_member_id: int | None, category: str) -> bool:
        return self.everything or category in self.covered.get(subject_member_id, frozenset())


@cache
def _scopes_query() -> Select:
    """The statement of :func:`_scopes`, built once with the families, agencies and day as parameters
    (issue 19: building and keying it on every family page cost more CPU than running it)."""
    newer = aliased(Consent)
    return (select(Consent.family_id, Consent.agency_id, Consent.subject_member_id, ConsentCategory.category)
            .join(ConsentCategory, ConsentCategory.consent_id == Consent.id)
            .where(Consent.family_id.in_(bindparam("family_ids", expanding=True)),
                   Consent.agency_id.in_(bindparam("agency_ids", expanding=True)),
                   *valid_on(bindparam("on", type_=Date)),
                   ~exists(select(literal(1)).select_from(newer).where(newer.supersedes_id == Consent.id))))


def _scopes(family_ids: Iterable[int], agency_ids: Iterable[int]) -> dict[tuple[int, int], ConsentScope]:
    """Per (family, agency): what the agency's current, valid consents cover — one statement."""
    rows = db.session.execute(_scopes_query(), {"family_ids": list(family_ids), "agency_ids": list(agency_ids),
                                                "on": today_local()})
    covered: dict[tuple[int, int], dict[int | None, set[str]]] = {}
    for family_id, agency_id, subject, category in rows:
        covered.setdefault((family_id, agency_id), {}).setdefault(subject, set()).add(category)
    return {key: ConsentScope({k: frozenset(v) for k, v in by_subject.items()}) for key, by_subject in covered.items()}


def consent_scope(family_id: int, agency_id: int | None) -> ConsentScope:
    """The kinds of information the agency's current, valid consents cover, per subject — one statement."""
    if agency_id is None:
        return ConsentScope()
    return _scopes([family_id], [agency_id]).get((family_id, agency_id), ConsentScope())


def prime_scopes(accesses: Iterable[Access]) -> None:
    """Read what each Access's agency may see for many families at once (one statement), so a list of
    families (*Mine familier*, *Mine oppgaver*) asks :meth:`Access.may_see` without a query per family."""
    todo = [(a, a.membership.agency_id) for a in accesses if a.emergency is None and not a.gated
            and a.membership is not None and a.membership.agency_id is not None and "scope" not in a.__dict__]
    if not todo:
        return
    found = _scopes({a.family.id for a, _agency in todo},
                    {agency_id for _a, agency_id in todo if agency_id is not None})
    for access, agency_id in todo:
        # The cached property's slot: set once here, as ``scope`` would on its first read.
        access.__dict__["scope"] = found.get((access.family.id, agency_id or 0), ConsentScope())


@dataclass(frozen=True)
class Access:
    """What the signed-in user may do with one family."""

    family: Family
    membership: TeamMembership | None  # None under emergency access (``emergency`` is the grant)
    gated: bool
    emergency: EmergencyAccess | None = None

    @property
    def is_lead(self) -> bool:
        """On the team as its investment lead (the team role; ``core.policy`` adds the user's)."""
        return self.membership is not None and self.membership.is_lead

    @property
    def read_only(self) -> bool:
        """Emergency access is for looking: the gate refuses its writes, the pages hide them."""
        return self.membership is None

    @property
    def user_id(self) -> int:
        if self.membership is not None:
            return self.membership.user_id
        assert self.emergency is not None  # one of the two doors is always set
        return self.emergency.user_id

    def require_consent(self) -> None:
        """Refuse (403, audited) anything beyond name, team and meeting dates for a gated member."""
        if self.gated:
            audit.record_even_if_request_fails(AuditAction.FAMILY_GATED_DENIED, family_id=self.family.id,
                                               lab_id=self.family.lab_id, object_type="family",
                                               object_id=self.family.id, summary={"outcome": "no_consent"})
            raise ForbiddenError(_("Familien har ikke gitt samtykke til at din etat ser dette."), "consent")

    # --- to the field (issue 15) -------------------------------------------------------------------

    @cached_property
    def scope(self) -> ConsentScope:
        """What this user's agency may see of the family, read once (the first time it is asked)."""
        if self.emergency is not None:
            return ConsentScope(everything=True)
        if self.gated or self.membership is None:
            return ConsentScope()
        return consent_scope(self.family.id, self.membership.agency_id)

    def may_see(self, subject_member_id: int | None, theme: str | None, kind: str) -> bool:
        """Whether an item of case content — about a member (or the household: None), in a theme (or
        none), of a ``kind`` (``KINDS``) — is covered by a valid consent of the user's agency."""
        return self.scope.covers(subject_member_id, category_of(theme, kind))

    @cached_property
    def _members(self) -> dict[int, FamilyMember]:
        return {m.id: m for m in db.session.scalars(select(FamilyMember)
                                                    .where(FamilyMember.family_id == self.family.id))}

    def hidden_reason(self, subject_member_id: int | None, theme: str | None, kind: str) -> str:
        """Why an item is hidden, in words that name whose consent is missing, never the content."""
        return self._missing(subject_member_id, theme, kind, write=False)

    def refusal_reason(self, subject_member_id: int | None, theme: str | None, kind: str) -> str:
        """Why a write about such an item is refused (the same words as :meth:`hidden_reason`)."""
        return self._missing(subject_member_id, theme, kind, write=True)

    @cached_property
    def _agency(self) -> Agency | None:
        """The reader's agency, held here: the session's identity map keeps an object only while
        something refers to it, so a list asking every family's reasons would read it once per reason."""
        agency_id = self.membership.agency_id if self.membership is not None else None
        return db.session.get(Agency, agency_id) if agency_id is not None else None

    @cached_property
    def _reasons(self) -> dict[tuple[int | None, str, bool], str]:
        return {}

    def _missing(self, subject_member_id: int | None, theme: str | None, kind: str, *, write: bool) -> str:
        """The reason, worded once per member, category and read or write: a family page hides
        hundreds of ratings for a handful of reasons (the language does not change within a request)."""
        key = (subject_member_id, category_of(theme, kind), write)
        reason = self._reasons.get(key)
        if reason is None:
            reason = self._reasons[key] = self._word_missing(subject_member_id, theme, kind, write=write)
        return reason

    def _word_missing(self, subject_member_id: int | None, theme: str | None, kind: str, *, write: bool) -> str:
        agency = self._agency
        agency_name = agency.name if agency is not None else _("din etat")
        category = str(CATEGORY_LABELS[category_of(theme, kind)])
        member = self._members.get(subject_member_id) if subject_member_id is not None else None
        if member is None:
            if write:
                return _("Ikke lagret: mangler samtykke fra husstanden til %(agency)s for %(category)s.",
                         agency=agency_name, category=category)
            return _("Skjult: mangler samtykke fra husstanden til %(agency)s for %(category)s.", agency=agency_name,
                     category=category)
        role = MemberRole.get(member.role)
        role_label = role.label if role else member.role
        if write:
            return _("Ikke lagret: mangler samtykke fra %(name)s (%(role)s) til %(agency)s for %(category)s.",
                     name=member.full_name, role=role_label, agency=agency_name, category=category)
        return _("Skjult: mangler samtykke fra %(name)s (%(role)s) til %(agency)s for %(category)s.",
                 name=member.full_name, role=role_label, agency=agency_name, category=category)

    def require_may_see(self, subject_member_id: int | None, theme: str | None, kind: str) -> None:
        """Refuse (403, audited, with the reason) an item no consent of the user's agency covers."""
        if not self.may_see(subject_member_id, theme, kind):
            self._audit_not_covered("not_covered", theme, kind)
            raise ForbiddenError(self.hidden_reason(subject_member_id, theme, kind), "consent")

    def require_may_write(self, subject_member_id: int | None, theme: str | None, kind: str, field: str) -> None:
        """Refuse (403, audited) a write — a rating, goal, action, note, spend — about a member or a
        theme no consent of the user's agency covers: ``field`` names the input at fault, the message
        whose consent is missing. Services call it before they store anything (issue 15)."""
        if not self.may_see(subject_member_id, theme, kind):
            self._audit_not_covered("write_not_covered", theme, kind)
            raise ForbiddenError(self.refusal_reason(subject_member_id, theme, kind), field)

    def _audit_not_covered(self, outcome: str, theme: str | None, kind: str) -> None:
        audit.record_even_if_request_fails(AuditAction.FAMILY_GATED_DENIED, family_id=self.family.id,
                                           lab_id=self.family.lab_id, object_type="family",
                                           object_id=self.family.id,
                                           summary={"outcome": outcome, "kind": kind,
                                                    "category": category_of(theme, kind)})

    def hide(self, items: Iterable[T], kind: str, *, theme: Any = None, subject: Any = None) -> Shown[T]:
        """Split ``items`` into those shown and the reasons for those hidden. ``theme`` and ``subject``
        read an item's theme and subject (default: its ``theme`` and ``subject_member_id`` attributes)."""
        shown: list[T] = []
        reasons: list[str] = []
        for item in items:
            item_theme = theme(item) if theme is not None else getattr(item, "theme", None)
            item_subject = subject(item) if subject is not None else getattr(item, "subject_member_id", None)
            if self.may_see(item_subject, item_theme, kind):
                shown.append(item)
            else:
                reason = self.hidden_reason(item_subject, item_theme, kind)
                if reason not in reasons:
                    reasons.append(reason)
        return Shown(shown, reasons)


@dataclass
class Shown(Generic[T]):
    """The items a reader may see, and (once each) why the others are hidden."""

    items: list[T]
    hidden: list[str]


def rating_subject(rating: Any) -> int | None:
    """Whom a theme rating is about: its ``subject_member_id`` (None, or no such column: the household)."""
    return getattr(rating, "subject_member_id", None)


def visible_ratings(access: Access, ratings: Iterable[T]) -> Shown[T]:
    """THE filter for theme ratings (issue 15): a rating is about :func:`rating_subject`, in its theme.
    Every read that shows ratings goes through here."""
    return access.hide(ratings, "rating", subject=rating_subject)


def unique_reasons(*groups: Iterable[str]) -> list[str]:
    """The reasons of several reads, each once, in order."""
    return list(dict.fromkeys(reason for group in groups for reason in group))
