"""The family API read (issue 19): exactly what ``GET /api/v1/families/<id>`` returns, and nothing else.

The family page needs the whole journey (every rating of every assessment), the board, the open
actions with their owners and the latest meetings; the API read returns a summary of 2–3 KB: the
members, the latest enrolment, the current team and consents, the applicable themes, the latest
overall level and its trend, how many open actions are overdue, the next meeting and why some case
content is hidden. So it reads that: the last two assessments' levels (not every rating), which
(member, theme) pairs have been rated at all (for the hidden reasons; never a level or a note), the
goal themes, the open actions' due dates and goal themes. A fixed number of statements whatever the
history, none of them returning more rows as the history grows except the open actions (the
current plan, not its history).

The output is the same as the family page's read model gives (``tests/cases/test_family_read.py``
compares them); the consent filtering is the same calls of :class:`~velferdslab.cases.access.Access`
(``may_see``/``hidden_reason``), in the same order, so the hidden reasons come out the same.

All of it is **one statement** (issue 19: the read is round trips, not Python work): a ``UNION ALL``
of one branch per kind of row (``kind``), in generic columns, each branch numbering its rows in the
order the separate reads had (``ord``: ``row_number()`` over their ``ORDER BY``, so the database's
collation and NULL order still decide). It also carries what the reader's agency's consents cover
(the ``scope`` that :meth:`Access.may_see` would read in a statement of its own). The answer is built
as plain dicts (no ORM objects); the statement is built once per variant and its compiled form
reused (only the family, the day and the agency are parameters). Portable: PostgreSQL and SQLite.
"""


from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Integer,
    String,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import aliased

from velferdslab.auth.models import Agency, User
from velferdslab.cases.access import Access, ConsentScope, unique_reasons
from velferdslab.cases.consent.models import CATEGORY_CODES, Consent, ConsentCategory
from velferdslab.cases.enrolment.models import Enrolment
from velferdslab.cases.enrolment.services import FOLLOW_UP_MONTHS
from velferdslab.cases.household.models import FamilyMember
from velferdslab.cases.journey import queries as journey_queries
from velferdslab.cases.journey.models import FamilyTheme, JourneyAssessment, ThemeRating
from velferdslab.cases.journey.services import default_applicable
from velferdslab.cases.meetings import queries as meeting_queries
from velferdslab.cases.meetings.models import Meeting
from velferdslab.cases.plan.models import OPEN_ACTION_STATUSES, Action, Goal
from velferdslab.cases.rules import add_months
from velferdslab.cases.themes import THEMES
from velferdslab.core.models import today_local
from velferdslab.extensions import db
from velferdslab.teams.models import InvestmentTeam, TeamMembership


@dataclass
class FamilyRead:
    """What the API returns about one family (``overview.api._family_out``), as plain values."""

    access: Access
    members: list[dict[str, Any]]
    enrolment: dict[str, Any] | None
    current_team: list[dict[str, Any]]
    current_consents: list[dict[str, Any]]
    themes: list[str]
    next_meeting_on: date | None
    today: date
    overall_level: int | None = None
    trend: str | None = None
    overdue_actions: int = 0
    hidden: list[str] = field(default_factory=list)

    @property
    def gated(self) -> bool:
        return self.access.gated


def _reasons(access: Access, pairs, kind: str) -> list[str]:
    """The hidden reasons of items given as (subject member id, theme), in the items' order, once each."""
    reasons: list[str] = []
    for subject, theme in pairs:
        if not access.may_see(subject, theme, kind):
            reason = access.hidden_reason(subject, theme, kind)
            if reason not in reasons:
                reasons.append(reason)
    return reasons


# --- the one statement -------------------------------------------------------------------------------

# The generic columns of every branch, with their types (the first branch's types type the result).
_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("ord", Integer), ("i1", Integer), ("i2", Integer), ("i3", Integer), ("i4", Integer), ("i5", Integer),
    ("i6", Integer), ("s1", String), ("s2", String), ("s3", String), ("d1", Date), ("d2", Date), ("d3", Date),
    ("b1", Boolean))
_FAMILY = bindparam("family_id", type_=Integer)
_TODAY = bindparam("today", type_=Date)
_AGENCY = bindparam("agency_id", type_=Integer)


def _branch(kind: str, **values: Any):
    """``SELECT 'kind', <the values in the generic columns, NULL elsewhere>`` (FROM: the values' tables)."""
    columns = [literal_column(f"'{kind}'", String).label("kind")]
    for name, type_ in _COLUMNS:
        value = values.pop(name, None)
        if value is None:
            value = cast(null(), type_)  # typed: PostgreSQL matches a UNION's types pair by pair
        elif name.startswith("i") or name == "ord":
            value = cast(value, Integer)  # one integer type down every column (count, row_number: bigint)
        columns.append(value.label(name))
    assert not values, values
    return select(*columns)


def _ord(*order_by: Any):
    return func.row_number().over(order_by=order_by)


def _current(consent: Any) -> Any:
    newer = aliased(Consent)
    return ~exists(select(literal(1)).select_from(newer).where(newer.supersedes_id == consent.id))


def _statement(gated: bool, with_scope: bool):
    """The family API read's one statement (see the module docstring)."""
    latest_enrolment = (select(Enrolment.id).where(Enrolment.family_id == _FAMILY)
                        .order_by(Enrolment.referred_on.desc(), Enrolment.id.desc()).limit(1).scalar_subquery())
    branches = [
        _branch("member", ord=_ord(FamilyMember.birth_year, FamilyMember.id), i1=FamilyMember.id,
                i2=FamilyMember.birth_year, s1=FamilyMember.first_name, s2=FamilyMember.last_name,
                s3=FamilyMember.role, b1=FamilyMember.is_contact).where(FamilyMember.family_id == _FAMILY),
        # Why the family was referred is case content: a gated reader's statement does not read it.
        _branch("enrolment", i1=Enrolment.id, i2=Enrolment.referred_by_agency_id, s1=Enrolment.status,
                s2=Enrolment.close_reason, s3=None if gated else Enrolment.referral_reason, d1=Enrolment.referred_on,
                d2=Enrolment.started_on, d3=Enrolment.closed_on).where(Enrolment.id == latest_enrolment),
        _branch("consent", ord=_ord(Consent.recorded_at, Consent.id), i1=Consent.id, i2=Consent.agency_id,
                i3=Consent.given_by_member_id, i4=Consent.subject_member_id, i5=Consent.supersedes_id,
                i6=Consent.withdrawn_by_member_id, s1=Consent.purpose, s2=Consent.method, s3=Consent.witness_name,
                d1=Consent.given_on, d2=Consent.expires_on, d3=Consent.withdrawn_on,
                b1=Consent.awaiting_confirmation).where(Consent.family_id == _FAMILY, _current(Consent)),
        _branch("category", i1=ConsentCategory.consent_id, s1=ConsentCategory.category)
        .join(Consent, Consent.id == ConsentCategory.consent_id).where(Consent.family_id == _FAMILY, _current(Consent)),
        _branch("theme", s1=FamilyTheme.theme, b1=FamilyTheme.applicable).where(FamilyTheme.family_id == _FAMILY),
        _branch("team", ord=_ord(TeamMembership.role, TeamMembership.start_date, TeamMembership.id),
                i1=TeamMembership.id, i2=TeamMembership.user_id, i3=TeamMembership.agency_id, s1=TeamMembership.role,
                s2=User.name, s3=Agency.name, d1=TeamMembership.start_date, d2=TeamMembership.end_date)
        .select_from(TeamMembership).join(InvestmentTeam, InvestmentTeam.id == TeamMembership.team_id)
        .join(User, User.id == TeamMembership.user_id).outerjoin(Agency, Agency.id == TeamMembership.agency_id)
        .where(InvestmentTeam.family_id == _FAMILY, InvestmentTeam.enrolment_id == latest_enrolment,
               TeamMembership.start_date <= _TODAY,
               or_(TeamMembership.end_date.is_(None), TeamMembership.end_date >= _TODAY)),
        # The one rule of the next meeting, with the day as a parameter of the reused statement.
        _branch("meeting", i1=func.count(),
                d1=meeting_queries.planned_next_meeting_column(_TODAY))
        .select_from(Meeting).where(Meeting.family_id == _FAMILY),
    ]
    if not gated:
        last_two = (select(JourneyAssessment.id)
                    .where(JourneyAssessment.family_id == _FAMILY, JourneyAssessment.is_current.is_(True))
                    .order_by(JourneyAssessment.assessed_on.desc(), JourneyAssessment.id.desc()).limit(2))
        first = func.min(ThemeRating.id)
        branches += [
            # The last two current assessments' overall levels, newest first.
            _branch("level", ord=_ord(JourneyAssessment.assessed_on.desc(), JourneyAssessment.id.desc()),
                    i1=JourneyAssessment.overall_level).where(JourneyAssessment.id.in_(last_two)),
            # Which (subject, theme) pairs are rated at all, in the order of their first rating.
            _branch("rated", ord=_ord(first), i1=ThemeRating.subject_member_id, s1=ThemeRating.theme)
            .join(JourneyAssessment, JourneyAssessment.id == ThemeRating.assessment_id)
            .where(JourneyAssessment.family_id == _FAMILY, JourneyAssessment.is_current.is_(True))
            .group_by(ThemeRating.subject_member_id, ThemeRating.theme),
            # The goals' themes (a goal is the household's), in theme order.
            _branch("goal", ord=_ord(Goal.theme), s1=Goal.theme).where(Goal.family_id == _FAMILY).group_by(Goal.theme),
            # The open actions' themes and due dates, in the page's order: by due date, undated last.
            _branch("action", ord=_ord(case((Action.due_on.is_(None), 1), else_=0), Action.due_on, Action.id),
                    s1=Goal.theme, d1=Action.due_on)
            .select_from(Action).outerjoin(Goal, Goal.id == Action.goal_id)
            .where(Action.family_id == _FAMILY, Action.status.in_(OPEN_ACTION_STATUSES)),
        ]
        if with_scope:
            # What the reader's agency's current, valid consents cover (``access.consent_scope``).
            branches.append(
                _branch("scope", i1=Consent.subject_member_id, s1=ConsentCategory.category)
                .select_from(Consent).join(ConsentCategory, ConsentCategory.consent_id == Consent.id)
                .where(Consent.family_id == _FAMILY, Consent.agency_id == _AGENCY, Consent.given_on <= _TODAY,
                       or_(Consent.expires_on.is_(None), Consent.expires_on >= _TODAY),
                       Consent.withdrawn_on.is_(None), Consent.awaiting_confirmation.is_(False),
                       _current(Consent)))
    return union_all(*branches)


_STATEMENTS: dict[tuple[bool, bool], Any] = {}


def _rows(family_id: int, gated: bool, agency_id: int | None, today: date) -> dict[str, list]:
    """The statement's rows by kind, each kind in its own order."""
    key = (gated, agency_id is not None)
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = _statement(*key)
    params: dict[str, Any] = {"family_id": family_id, "today": today}
    if agency_id is not None:
        params["agency_id"] = agency_id
    by_kind: dict[str, list] = {}
    for row in db.session.execute(statement, params):
        by_kind.setdefault(row.kind, []).append(row)
    for rows in by_kind.values():
        rows.sort(key=lambda r: r.ord or 0)
    return by_kind


def _member_out(row: Any, gated: bool) -> dict[str, Any]:
    """As ``household.schemas._member_out``."""
    out = {"id": row.i1, "first_name": row.s1, "last_name": row.s2, "role": row.s3, "is_contact": row.b1}
    if not gated:
        out["birth_year"] = row.i2
    return out


def _enrolment_out(row: Any, gated: bool) -> dict[str, Any]:
    """As ``enrolment.schemas._enrolment_out`` (with ``enrolment.services.follow_up_dates``)."""
    status, closed_on = row.s1, row.d3
    out = {"id": row.i1, "status": status, "referred_on": row.d1, "referred_by_agency_id": row.i2,
           "started_on": row.d2, "closed_on": closed_on, "close_reason": row.s2}
    if not gated:
        out["referral_reason"] = row.s3
    out["follow_ups"] = ({kind: add_months(closed_on, months) for kind, months in FOLLOW_UP_MONTHS.items()}
                         if status == "closed" and closed_on is not None else {})
    return out


def _consent_out(row: Any, categories: set[str], today: date) -> dict[str, Any]:
    """As ``consent.schemas._consent_out`` for a current consent (nothing supersedes it), with
    ``consent.models.consent_is_valid``."""
    given_on, expires_on, withdrawn_on, awaiting = row.d1, row.d2, row.d3, bool(row.b1)
    return {"id": row.i1, "agency_id": row.i2, "purpose": row.s1, "given_by_member_id": row.i3, "given_on": given_on,
            "expires_on": expires_on, "withdrawn_on": withdrawn_on, "supersedes_id": row.i5, "method": row.s2,
            "witness_name": row.s3, "categories": [code for code in CATEGORY_CODES if code in categories],
            "awaiting_confirmation": awaiting, "subject": row.i4, "given_by": row.i3, "agency": row.i2,
            "valid_from": given_on, "valid_to": expires_on, "withdrawn_by": row.i6, "current": True,
            "valid": (given_on <= today and withdrawn_on is None and not awaiting
                      and (expires_on is None or expires_on >= today))}


def _membership_out(row: Any) -> dict[str, Any]:
    """As ``overview.api._membership_out``."""
    return {"id": row.i1, "user_id": row.i2, "name": row.s2, "agency_id": row.i3, "agency": row.s3, "role": row.s1,
            "start_date": row.d1, "end_date": row.d2}


class _Role:
    """What the theme rule reads of a member (``journey.services.default_applicable``)."""

    __slots__ = ("role",)

    def __init__(self, role: str) -> None:
        self.role = role


def _wants_scope(access: Access) -> int | None:
    """The agency whose consent scope the statement should carry, if ``access.scope`` is still to be read."""
    membership = access.membership
    if access.emergency is not None or access.gated or membership is None or "scope" in access.__dict__:
        return None
    return membership.agency_id


def family_read(access: Access) -> FamilyRead:
    """The family API read, in one statement (see the module's docstring)."""
    family_id, gated = access.family.id, access.gated
    today = today_local()
    agency_id = _wants_scope(access)
    rows = _rows(family_id, gated, agency_id, today)
    if agency_id is not None:
        covered: dict[int | None, set[str]] = {}
        for row in rows.get("scope", ()):
            covered.setdefault(row.i1, set()).add(row.s1)
        # The cached property's slot, as ``access.prime_scopes`` sets it.
        access.__dict__["scope"] = ConsentScope({k: frozenset(v) for k, v in covered.items()})
    member_rows = rows.get("member", [])
    enrolment_rows = rows.get("enrolment", [])
    categories: dict[int, set[str]] = {}
    for row in rows.get("category", ()):
        categories.setdefault(row.i1, set()).add(row.s1)
    overrides = {row.s1: bool(row.b1) for row in rows.get("theme", ())}
    roles = [_Role(row.s3) for row in member_rows]
    meeting = rows["meeting"][0]
    themes = [t.code for t in THEMES
              if overrides.get(t.code, default_applicable(t.code, roles))]  # type: ignore[arg-type]
    read = FamilyRead(
        access=access, members=[_member_out(row, gated) for row in member_rows],
        enrolment=_enrolment_out(enrolment_rows[0], gated) if enrolment_rows else None,
        current_team=[_membership_out(row) for row in rows.get("team", ())],
        current_consents=[_consent_out(row, categories.get(row.i1, set()), today) for row in rows.get("consent", ())],
        themes=themes,
        next_meeting_on=meeting.d1, today=today)
    if gated:
        return read

    # The journey: the last two current assessments' overall levels (oldest first), and the hidden
    # reasons of the rated (subject, theme) pairs.
    levels: list[int | None] = [row.i1 for row in reversed(rows.get("level", []))]
    history_hidden: list[str] = []
    if levels:
        history_hidden = _reasons(access, [(row.i1, row.s1) for row in rows.get("rated", ())], "rating")
        if not access.may_see(None, None, "level"):
            history_hidden.append(access.hidden_reason(None, None, "level"))
            levels = [None for _level in levels]
    read.overall_level = levels[-1] if levels else None
    read.trend = journey_queries.trend(levels)

    # The plan: the goals' themes, the open actions' themes and due dates.
    goals_hidden = _reasons(access, [(None, row.s1) for row in rows.get("goal", ())], "goal")
    actions = [(row.s1, row.d1) for row in rows.get("action", ())]
    actions_hidden = _reasons(access, [(None, theme) for theme, _due in actions], "action")
    read.overdue_actions = sum(1 for theme, due_on in actions
                               if due_on is not None and due_on < today and access.may_see(None, theme, "action"))
    notes = meeting_queries.notes_hidden(access) if meeting.i1 else None
    read.hidden = unique_reasons(history_hidden, goals_hidden, actions_hidden, [notes] if notes else [])
    return read
