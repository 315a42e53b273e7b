"""Read models for the family page and *Mine familier*, each in a fixed number of SQL statements.

Whatever the length of a family's history (three years: 36 assessments × 7 themes × 2
perspectives, 200 actions, 40 meetings), a page costs the same statements as a family of one
month: every collection is one query, and nothing is lazy-loaded in a loop. For a gated member
(no valid consent for their agency) the queries for assessments, goals and actions are never run
and meeting notes are never selected: the consent gate is in the queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cache

from markupsafe import Markup
from sqlalchemy import BindParameter, Date, Select, bindparam, case, func, select
from sqlalchemy.orm import load_only

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction, Purpose
from velferdslab.cases.access import Access, prime_scopes, unique_reasons
from velferdslab.cases.consent import services as consent_services
from velferdslab.cases.consent.models import Consent
from velferdslab.cases.enrolment import queries as enrolment_queries
from velferdslab.cases.enrolment import services as enrolment_services
from velferdslab.cases.enrolment.models import Enrolment
from velferdslab.cases.gate import accessible_families, valid_consent_clause
from velferdslab.cases.household import services as household_services
from velferdslab.cases.household.models import FamilyMember
from velferdslab.cases.journey import queries as journey_queries
from velferdslab.cases.journey import services as journey_services
from velferdslab.cases.journey.models import FamilyTheme, JourneyAssessment
from velferdslab.cases.journey.queries import JourneyHistory
from velferdslab.cases.meetings import queries as meeting_queries
from velferdslab.cases.meetings.models import Meeting
from velferdslab.cases.meetings.queries import MeetingRow
from velferdslab.cases.plan import queries as plan_queries
from velferdslab.cases.plan import services as plan_services
from velferdslab.cases.plan.models import Action, Goal
from velferdslab.core.models import today_local
from velferdslab.extensions import db
from velferdslab.teams.models import TeamMembership

MEETINGS_ON_PAGE = 12


@dataclass
class FamilyPage:
    access: Access
    members: list[FamilyMember]
    enrolments: list[Enrolment]
    team: list[TeamMembership]
    consents: list[Consent]
    superseded_consent_ids: set[int]
    themes: list[str]
    overrides: dict[str, bool]
    meetings: list[MeetingRow]
    meeting_count: int
    history: JourneyHistory | None = None
    goals: list[Goal] = field(default_factory=list)
    open_actions: list[Action] = field(default_factory=list)
    today: date = field(default_factory=today_local)
    # Why some case content is not shown (issue 15): the missing consents, once each, no content.
    hidden: list[str] = field(default_factory=list)
    # The journey section's HTML (charts and table), when the caller's ``journey`` gave one.
    journey_html: Markup | None = None

    @property
    def family(self):
        return self.access.family

    @property
    def gated(self) -> bool:
        return self.access.gated

    @property
    def enrolment(self) -> Enrolment | None:
        return self.enrolments[-1] if self.enrolments else None

    @property
    def current_team(self) -> list[TeamMembership]:
        return [m for m in self.team if m.is_current(self.today)]

    @property
    def former_team(self) -> list[TeamMembership]:
        return [m for m in self.team if not m.is_current(self.today)]

    @property
    def current_consents(self) -> list[Consent]:
        return [c for c in self.consents if c.id not in self.superseded_consent_ids]

    def consent_valid(self, consent: Consent) -> bool:
        return consent_services.consent_is_valid(consent, self.today, self.superseded_consent_ids)

    @property
    def trend(self) -> str | None:
        return journey_queries.trend([p.overall_level for p in self.history.points[-2:]]) if self.history else None

    @property
    def contact(self) -> FamilyMember | None:
        return next((m for m in self.members if m.is_contact), None)

    @property
    def overdue_actions(self) -> list[Action]:
        return [a for a in self.open_actions if plan_services.is_overdue(a, self.today)]

    def is_overdue(self, action: Action) -> bool:
        return plan_services.is_overdue(action, self.today)

    next_meeting_on: date | None = None  # the planned one: see meeting_queries.planned_next_meeting_column

    @property
    def goals_by_theme(self) -> dict[str, dict[str, list[Goal]]]:
        board: dict[str, dict[str, list[Goal]]] = {t: {"short": [], "long": [], "dream": []} for t in self.themes}
        for goal in self.goals:
            board.setdefault(goal.theme, {"short": [], "long": [], "dream": []})[goal.horizon].append(goal)
        return board

    @property
    def assessment_due(self) -> list[tuple[str, date]]:
        if self.gated or self.enrolment is None:
            return []
        return journey_queries.assessment_due(self.enrolment, self.history.points if self.history else [], self.today)


JourneyLoader = Callable[[Access, list[str]], tuple[JourneyHistory, Markup | None]]


def _plain_journey(access: Access, themes: list[str]) -> tuple[JourneyHistory, Markup | None]:
    return journey_queries.journey_history(access.family.id, themes, access), None


def family_page(access: Access, journey: JourneyLoader = _plain_journey) -> FamilyPage:
    """Everything on the family page, in a fixed number of statements. ``journey`` loads the reader's
    journey history and, if it renders one, the section's HTML (the page's: ``journey.section``)."""
    family_id, gated = access.family.id, access.gated
    members = household_services.family_members(family_id)
    enrolment_query = select(Enrolment).where(Enrolment.family_id == family_id) \
        .order_by(Enrolment.referred_on, Enrolment.id)
    if gated:  # why the family was referred is case content
        enrolment_query = enrolment_query.options(load_only(Enrolment.id, Enrolment.family_id, Enrolment.lab_id,
                                                            Enrolment.status, Enrolment.referred_on,
                                                            Enrolment.started_on, Enrolment.closed_on))
    enrolments = list(db.session.scalars(enrolment_query))
    # The page shows each consent's agency and dates, not what it covers: its categories are not read.
    consents = consent_services.consents(family_id, categories=False)
    overrides = {r.theme: r.applicable for r in
                 db.session.scalars(select(FamilyTheme).where(FamilyTheme.family_id == family_id))}
    themes = journey_services.applicable_theme_codes(members, overrides)
    today = today_local()
    meetings, totals = meeting_queries.latest_meetings(access, MEETINGS_ON_PAGE, today)
    page = FamilyPage(
        access=access, members=members, enrolments=enrolments,
        team=enrolment_queries.team_rows(family_id, enrolments[-1].id if enrolments else None),
        consents=consents, superseded_consent_ids={c.supersedes_id for c in consents if c.supersedes_id},
        themes=themes, overrides=overrides, meetings=meetings,
        meeting_count=totals.count, next_meeting_on=totals.next_meeting_on, today=today)
    if not gated:
        page.history, page.journey_html = journey(access, themes)
        goals = plan_queries.visible_goals(access, list(db.session.scalars(
            select(Goal).where(Goal.family_id == family_id).order_by(Goal.theme, Goal.horizon, Goal.id))))
        actions = plan_queries.visible_actions(access, plan_queries.open_actions(family_id))
        page.goals, page.open_actions = goals.items, actions.items
        page.hidden = unique_reasons(page.history.hidden, goals.hidden, actions.hidden,
                                     [row.hidden for row in page.meetings if row.hidden])
    return page


@dataclass
class FamilySummary:
    access: Access
    enrolment: Enrolment | None = None
    levels: list[int] = field(default_factory=list)  # the last two overall levels, oldest first
    last_assessed_on: date | None = None
    last_meeting_on: date | None = None
    next_meeting_on: date | None = None
    overdue_actions: int = 0
    open_actions: int = 0
    due: list[tuple[str, date]] = field(default_factory=list)
    # What the agency's consents do not cover (issue 15): the level is hidden, actions of unseen
    # themes are not counted; ``hidden`` says why, without the content.
    level_hidden: bool = False
    hidden: list[str] = field(default_factory=list)

    @property
    def family(self):
        return self.access.family

    @property
    def level(self) -> int | None:
        return self.levels[-1] if self.levels else None

    @property
    def trend(self) -> str | None:
        return journey_queries.trend(self.levels)

    @property
    def status(self) -> str | None:
        return self.enrolment.status if self.enrolment else None

    @property
    def closed(self) -> bool:
        return self.status == "closed"


# The list's statements are built once, with the families (an expanding parameter) and the day as
# parameters (issue 19: building and keying them on every request cost more CPU than running them).
_FAMILY_IDS: BindParameter[int] = bindparam("family_ids", expanding=True)
_TODAY = bindparam("today", type_=Date)


@cache
def _enrolments_query() -> Select[Enrolment]:
    return (select(Enrolment).where(Enrolment.family_id.in_(_FAMILY_IDS))
            .options(load_only(Enrolment.id, Enrolment.family_id, Enrolment.status, Enrolment.referred_on,
                               Enrolment.started_on, Enrolment.closed_on, Enrolment.close_reason))
            .order_by(Enrolment.referred_on, Enrolment.id))


def _latest_enrolments(family_ids: list[int]) -> dict[int, Enrolment]:
    latest: dict[int, Enrolment] = {}
    for row in db.session.scalars(_enrolments_query(), {"family_ids": family_ids}):
        latest[row.family_id] = row
    return latest


def _assessment_facts(family_ids: list[int]) -> tuple[dict[int, list[tuple[date, int, str]]],
                                                        dict[int, list[tuple[date, str]]]]:
    """In one statement: the last two current assessments of each family — (date, overall level,
    kind), oldest first — and every current follow-up assessment — (date, kind)."""
    follow_up_kinds = tuple(enrolment_services.FOLLOW_UP_MONTHS)
    latest: dict[int, list] = defaultdict(list)
    follow_ups: dict[int, list] = defaultdict(list)
    for family_id, assessed_on, level, kind, row_rank in db.session.execute(_assessment_facts_query(),
                                                                            {"family_ids": family_ids}):
        if row_rank <= 2:
            latest[family_id].append((assessed_on, level, kind))
        if kind in follow_up_kinds:
            follow_ups[family_id].append((assessed_on, kind))
    return latest, follow_ups


@cache
def _assessment_facts_query() -> Select:
    rank = func.row_number().over(partition_by=JourneyAssessment.family_id,
                                  order_by=(JourneyAssessment.assessed_on.desc(), JourneyAssessment.id.desc()))
    inner = (select(JourneyAssessment.family_id, JourneyAssessment.assessed_on, JourneyAssessment.overall_level,
                    JourneyAssessment.kind, rank.label("rank"))
             .where(JourneyAssessment.family_id.in_(_FAMILY_IDS), JourneyAssessment.is_current.is_(True))
             .subquery())
    return (select(inner).where((inner.c.rank <= 2) | inner.c.kind.in_(tuple(enrolment_services.FOLLOW_UP_MONTHS)))
            .order_by(inner.c.family_id, inner.c.rank.desc()))


def _latest_meetings(family_ids: list[int], today: date) -> dict[int, tuple[date, date | None]]:
    """Each family's last meeting and its planned next one (the earliest future date, as on the
    family page and in the progress report)."""
    return {family_id: (held_on, next_on) for family_id, held_on, next_on in db.session.execute(
        _latest_meetings_query(), {"family_ids": family_ids, "today": today})}


@cache
def _latest_meetings_query() -> Select:
    return (select(Meeting.family_id, func.max(Meeting.held_on), meeting_queries.planned_next_meeting_column(_TODAY))
            .where(Meeting.family_id.in_(_FAMILY_IDS)).group_by(Meeting.family_id))


def _action_counts(family_ids: list[int], today: date) -> dict[int, dict[str | None, tuple[int, int]]]:
    """Open and overdue actions per family and per theme of their goal (None: no goal), so each
    reader counts only the themes their agency's consents cover."""
    found: dict[int, dict[str | None, tuple[int, int]]] = defaultdict(dict)
    for family_id, theme, open_count, overdue_count in db.session.execute(
            _action_counts_query(), {"family_ids": family_ids, "today": today}):
        found[family_id][theme] = (int(open_count or 0), int(overdue_count or 0))
    return found


@cache
def _action_counts_query() -> Select:
    overdue = func.sum(case((Action.due_on < _TODAY, 1), else_=0))
    return (select(Action.family_id, Goal.theme, func.count(), overdue)
            .outerjoin(Goal, Goal.id == Action.goal_id)
            .where(Action.family_id.in_(_FAMILY_IDS), Action.status.in_(plan_services.OPEN_ACTION_STATUSES))
            .group_by(Action.family_id, Goal.theme))


def _seen_counts(access: Access, by_theme: dict[str | None, tuple[int, int]]) -> tuple[int, int, list[str]]:
    """(open, overdue, reasons): the counts of the themes the reader may see, and why others are left out."""
    open_count = overdue_count = 0
    reasons: list[str] = []
    for theme, (open_n, overdue_n) in by_theme.items():
        if access.may_see(None, theme, "action"):
            open_count, overdue_count = open_count + open_n, overdue_count + overdue_n
        else:
            reasons.append(access.hidden_reason(None, theme, "action"))
    return open_count, overdue_count, reasons


class _Point:  # the shape ``assessment_due`` reads
    def __init__(self, assessed_on: date, kind: str) -> None:
        self.assessed_on, self.kind = assessed_on, kind


def my_families(user, today: date | None = None) -> list[FamilySummary]:
    """*Mine familier*: the user's families with level, trend, next meeting, overdue actions and
    assessments due — six statements (the families, their consents, enrolments, meetings, assessments,
    actions) whatever the number of families or the length of history.
    Gated families show only their name and meeting dates."""
    today = today or today_local()
    summaries = [FamilySummary(access=a) for a in accessible_families(user)]
    if not summaries:
        return []
    prime_scopes(s.access for s in summaries)
    ids = [s.family.id for s in summaries]
    open_ids = [s.family.id for s in summaries if not s.access.gated] or [-1]
    enrolments = _latest_enrolments(ids)
    meetings_ = _latest_meetings(ids, today)
    levels, follow_ups = _assessment_facts(open_ids)
    counts = _action_counts(open_ids, today)
    for summary in summaries:
        family_id = summary.family.id
        summary.enrolment = enrolments.get(family_id)
        summary.last_meeting_on, summary.next_meeting_on = meetings_.get(family_id, (None, None))
        if summary.access.gated:
            continue
        rows = levels.get(family_id, [])
        hidden: list[str] = []
        if summary.access.may_see(None, None, "level"):
            summary.levels = [level for _d, level, _k in rows]
        elif rows:
            summary.level_hidden = True
            hidden.append(summary.access.hidden_reason(None, None, "level"))
        summary.last_assessed_on = rows[-1][0] if rows else None
        summary.open_actions, summary.overdue_actions, reasons = _seen_counts(summary.access,
                                                                              counts.get(family_id, {}))
        summary.hidden = unique_reasons(hidden, reasons)
        if summary.enrolment is not None:
            points = [_Point(d, k) for d, _l, k in rows] + [_Point(d, k) for d, k in follow_ups.get(family_id, [])]
            points.sort(key=lambda p: p.assessed_on)
            summary.due = journey_queries.assessment_due(summary.enrolment, points, today)
    status_order = {"active": 0, "referred": 1, "closed": 2}
    summaries.sort(key=lambda s: (status_order.get(s.enrolment.status if s.enrolment else "", 3),
                                  s.family.household_name))
    return summaries


def search_families(user, text: str, limit: int = 50) -> list[Access]:
    """Families the user may see whose household name or a member's name contains ``text``."""
    needle = (text or "").strip().lower()
    if not needle:
        return []
    candidates = {a.family.id: a for a in accessible_families(user)}
    if not candidates:
        return []
    # Matched in Python, not with SQL LIKE: SQLite lower-cases ASCII only, and names have æ, ø, å.
    by_member = {family_id for family_id, first, last in db.session.execute(
        select(FamilyMember.family_id, FamilyMember.first_name, FamilyMember.last_name)
        .where(FamilyMember.family_id.in_(list(candidates)))) if needle in f"{first} {last}".lower()}
    hits = [a for fid, a in candidates.items() if needle in a.family.household_name.lower() or fid in by_member]
    hits.sort(key=lambda a: a.family.household_name)
    return hits[:limit]


# --- the reads of lists of families: the query and its audit, one call each ---------------------

def read_my_families_matching(user, text: str | None) -> list[FamilySummary]:
    """The API's list: *Mine familier*, narrowed to a name search when ``text`` is given."""
    summaries = my_families(user)
    if text:
        hits = {a.family.id for a in search_families(user, text)}
        summaries = [s for s in summaries if s.family.id in hits]
    audit.record_for_families(AuditAction.FAMILY_LIST, {s.family.id: {"gated": s.access.gated} for s in summaries},
                              purpose=Purpose.API)
    return summaries


# --- Mine familier sorted and filtered (issue 13) ----------------------------------------------------

FAMILY_SORTS = ("familie", "status", "niva", "trend", "forfalt", "mote")
ORDERS = ("stigende", "synkende")
TREND_PARAMS = {"opp": "up", "uendret": "same", "ned": "down"}
STATUS_PARAMS = {"aktiv": "active", "henvist": "referred", "avsluttet": "closed"}
MEETING_PARAMS = ("planlagt", "ingen")
_STATUS_ORDER = {"active": 0, "referred": 1, "closed": 2}
_TREND_ORDER = {"down": 0, "same": 1, "up": 2}


def _one_of(value: str | None, allowed) -> str | None:
    return value if value in allowed else None


@dataclass(frozen=True)
class FamilyListing:
    """How *Mine familier* is sorted and filtered, read from the query string. Unknown values are
    ignored (the default list), never an error: the address is something people edit and share."""

    sort: str = "status"
    order: str = "stigende"
    level: int | None = None
    trend: str | None = None        # a TREND_PARAMS key
    overdue: bool = False           # only families with an overdue action or assessment
    meeting: str | None = None      # "planlagt": a next meeting is planned; "ingen": none is
    status: str | None = None       # a STATUS_PARAMS key

    @classmethod
    def from_args(cls, args) -> FamilyListing:
        level = args.get("niva", "")
        return cls(sort=_one_of(args.get("sorter"), FAMILY_SORTS) or "status",
                   order=_one_of(args.get("rekkefolge"), ORDERS) or "stigende",
                   level=int(level) if level in ("1", "2", "3", "4") else None,
                   trend=_one_of(args.get("trend"), TREND_PARAMS),
                   overdue=args.get("forfalt") == "1",
                   meeting=_one_of(args.get("mote"), MEETING_PARAMS),
                   status=_one_of(args.get("status"), STATUS_PARAMS))

    @property
    def descending(self) -> bool:
        return self.order == "synkende"

    @property
    def filtered(self) -> bool:
        return bool(self.level or self.trend or self.overdue or self.meeting or self.status)

    def params(self, **changes) -> dict[str, str]:
        """The query string of this listing (defaults left out), with ``changes`` applied."""
        values = {"sorter": self.sort, "rekkefolge": self.order, "niva": str(self.level or ""),
                  "trend": self.trend or "", "forfalt": "1" if self.overdue else "", "mote": self.meeting or "",
                  "status": self.status or ""}
        values.update({k: str(v) for k, v in changes.items()})
        defaults = {"sorter": "status", "rekkefolge": "stigende"}
        return {k: v for k, v in values.items() if v and defaults.get(k) != v}


def has_overdue(summary: FamilySummary) -> bool:
    return bool(summary.overdue_actions or summary.due)


def _matches(summary: FamilySummary, listing: FamilyListing) -> bool:
    # A gated family has no level, trend or actions to show: a filter on them leaves it out.
    if listing.level is not None and summary.level != listing.level:
        return False
    if listing.trend is not None and summary.trend != TREND_PARAMS[listing.trend]:
        return False
    if listing.overdue and not has_overdue(summary):
        return False
    if listing.meeting is not None and (summary.next_meeting_on is not None) != (listing.meeting == "planlagt"):
        return False
    return listing.status is None or summary.status == STATUS_PARAMS[listing.status]


def _sort_value(summary: FamilySummary, sort: str):
    if sort == "status":
        return _STATUS_ORDER.get(summary.status or "", 3)
    if sort == "niva":
        return summary.level
    if sort == "trend":
        return _TREND_ORDER.get(summary.trend or "")
    if sort == "forfalt":
        return None if summary.access.gated else summary.overdue_actions + len(summary.due)
    if sort == "mote":
        return summary.next_meeting_on
    return summary.family.household_name.lower()


def arrange_families(summaries: list[FamilySummary], listing: FamilyListing) -> tuple[list[FamilySummary],
                                                                                      list[FamilySummary]]:
    """The families as listed: (open families, closed families), each filtered and sorted as the
    listing says. What a row cannot show (a gated family's level) sorts last either way; ties
    go by name."""
    kept = [s for s in summaries if _matches(s, listing)]
    known = [s for s in kept if _sort_value(s, listing.sort) is not None]
    unknown = [s for s in kept if _sort_value(s, listing.sort) is None]
    known.sort(key=lambda s: s.family.household_name.lower())
    known.sort(key=lambda s: _sort_value(s, listing.sort), reverse=listing.descending)
    unknown.sort(key=lambda s: s.family.household_name.lower())
    rows = known + unknown
    return [s for s in rows if not s.closed], [s for s in rows if s.closed]


@dataclass
class FamilyList:
    """*Mine familier* or a search, as the page shows it."""

    listing: FamilyListing
    active: list[FamilySummary]
    closed: list[FamilySummary]
    q: str = ""
    total: int = 0  # families before the filters


def read_family_list(user, listing: FamilyListing, q: str = "") -> FamilyList:
    """*Mine familier* (or the families matching the search ``q``), sorted and filtered, with one
    bulk audit write: a list read for the listed families, or a search hit per matching family."""
    summaries = my_families(user)
    if q:
        hits = {a.family.id for a in search_families(user, q)}
        summaries = [s for s in summaries if s.family.id in hits]
    active, closed = arrange_families(summaries, listing)
    shown = active + closed
    if q:
        audit.record_for_families(AuditAction.FAMILY_SEARCH_HIT, [s.family.id for s in shown], purpose=Purpose.SEARCH)
    else:
        audit.record_for_families(AuditAction.FAMILY_LIST, {s.family.id: {"gated": s.access.gated} for s in shown},
                                  purpose=Purpose.MY_FAMILIES)
    return FamilyList(listing=listing, active=active, closed=closed, q=q, total=len(summaries))


# --- what the caseworker has to do, across families (*Mine oppgaver*, issue 13) ---------------------

@dataclass
class TaskItem:
    """One line of *Mine oppgaver*: an action the user owns, an assessment due, a planned meeting,
    or (added by the budget) one of the user's spend requests."""

    kind: str                   # "tiltak", "vurdering", "mote", "utgift"
    access: Access
    on: date | None             # the due date, the meeting date, the date the spend is wanted
    overdue: bool = False
    title: str | None = None    # the action's title (never for a gated family, nor one hidden)
    hidden: str | None = None   # why the item's content is not shown (issue 15: no consent for its theme)
    code: str | None = None     # the assessment's kind
    action_id: int | None = None
    spend: object = None        # budget's row for a spend request

    @property
    def family(self):
        return self.access.family


def own_open_actions(user, family_ids: list[int]) -> list[tuple[Action, str | None]]:
    """The open actions ``user`` owns in the given families (the caller passes only families whose
    case content the user may see), each with its goal's theme (None: no goal), in one statement."""
    if not family_ids:
        return []
    return [(action, theme) for action, theme in db.session.execute(
        select(Action, Goal.theme).outerjoin(Goal, Goal.id == Action.goal_id)
        .options(load_only(Action.id, Action.family_id, Action.title, Action.due_on, Action.status,
                           Action.owner_user_id, Action.owner_is_family))
        .where(Action.family_id.in_(family_ids), Action.owner_user_id == user.id,
               Action.status.in_(plan_services.OPEN_ACTION_STATUSES))
        .order_by(Action.due_on, Action.id))]


@dataclass
class CaseTasks:
    summaries: list[FamilySummary]
    items: list[TaskItem]
    today: date


def my_case_tasks(user, today: date | None = None) -> CaseTasks:
    """The case side of *Mine oppgaver*, in a fixed number of statements: the user's own open
    actions, the assessments due (the rule of *Mine familier*) and the planned next meetings, in
    every family the gate lets them see. A gated family gives only its planned meeting: the
    queries for its actions and assessments are never run."""
    today = today or today_local()
    summaries = my_families(user, today)
    by_id = {s.family.id: s for s in summaries}
    items: list[TaskItem] = []
    for action, theme in own_open_actions(user, [s.family.id for s in summaries if not s.access.gated]):
        access = by_id[action.family_id].access
        if access.may_see(None, theme, "action"):
            items.append(TaskItem("tiltak", access, action.due_on, overdue=plan_services.is_overdue(action, today),
                                  title=action.title, action_id=action.id))
        else:  # the user's own task still shows, its date and why its title is not (issue 15)
            items.append(TaskItem("tiltak", access, action.due_on, overdue=plan_services.is_overdue(action, today),
                                  hidden=access.hidden_reason(None, theme, "action")))
    for summary in summaries:
        for kind, when in summary.due:
            items.append(TaskItem("vurdering", summary.access, when, overdue=when < today, code=kind))
        if summary.next_meeting_on is not None:
            items.append(TaskItem("mote", summary.access, summary.next_meeting_on))
    return CaseTasks(summaries=summaries, items=items, today=today)


def consent_gaps(family_ids: list[int], today: date | None = None) -> dict[int, int]:
    """Per family: how many of the current team are gated (their agency holds no valid consent, or
    they represent none) — one statement."""
    if not family_ids:
        return {}
    today = today or today_local()
    has_consent = (TeamMembership.agency_id.is_not(None)
                   & valid_consent_clause(TeamMembership.family_id, TeamMembership.agency_id, today))
    rows = db.session.execute(
        select(TeamMembership.family_id, func.count(func.distinct(TeamMembership.user_id)))
        .where(TeamMembership.family_id.in_(family_ids), TeamMembership.start_date <= today,
               (TeamMembership.end_date.is_(None)) | (TeamMembership.end_date >= today), ~has_consent)
        .group_by(TeamMembership.family_id))
    return {family_id: int(count) for family_id, count in rows}
