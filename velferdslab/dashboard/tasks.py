"""*Mine oppgaver* (issue 13): what the signed-in caseworker or team lead has to do, across every
family the gate lets them see — their own actions, assessments due, next meetings and their spend
requests with whom each waits for — and, for a team lead, the caseload of the families they lead.

The page sits here because it reads two domains: the case side from ``cases.overview.queries``
(``my_case_tasks``, the rules and queries of *Mine familier*) and the money from
``budget.queries`` (``my_spend_requests``, ``budget_left``, ``lead_queue_count``). A gated family
shows no case content: the case side never queries its actions or assessments, and its spend
requests are not asked for; only its planned meeting is listed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction, Purpose
from velferdslab.budget import queries as budget_queries
from velferdslab.cases.overview import queries as overview_queries
from velferdslab.cases.overview.queries import FamilySummary, TaskItem
from velferdslab.core.permissions import Permission
from velferdslab.notify import services as notify_services

TASK_KINDS = ("tiltak", "vurdering", "mote", "utgift")
TASK_SORTS = ("frist", "familie", "type")
ORDERS = overview_queries.ORDERS


@dataclass(frozen=True)
class TaskListing:
    """How *Mine oppgaver* is sorted and filtered, from the query string (unknown values ignored)."""

    sort: str = "frist"
    order: str = "stigende"
    kind: str | None = None     # one of TASK_KINDS
    overdue: bool = False       # only what is overdue

    @classmethod
    def from_args(cls, args) -> TaskListing:
        sort, order, kind = args.get("sorter"), args.get("rekkefolge"), args.get("type")
        return cls(sort=sort if sort in TASK_SORTS else "frist",
                   order=order if order in ORDERS else "stigende",
                   kind=kind if kind in TASK_KINDS else None,
                   overdue=args.get("forfalt") == "1")

    @property
    def descending(self) -> bool:
        return self.order == "synkende"

    def params(self, **changes) -> dict[str, str]:
        values = {"sorter": self.sort, "rekkefolge": self.order, "type": self.kind or "",
                  "forfalt": "1" if self.overdue else ""}
        values.update({k: str(v) for k, v in changes.items()})
        defaults = {"sorter": "frist", "rekkefolge": "stigende"}
        return {k: v for k, v in values.items() if v and defaults.get(k) != v}


def _sort_value(item: TaskItem, sort: str):
    if sort == "familie":
        return item.family.household_name.lower()
    if sort == "type":
        return TASK_KINDS.index(item.kind)
    return item.on


def arrange_tasks(items: list[TaskItem], listing: TaskListing) -> list[TaskItem]:
    """The items filtered and sorted as the listing says; ties by date, then family. An item
    without a date (an action with no due date) sorts last either way."""
    kept = [i for i in items if (listing.kind is None or i.kind == listing.kind)
            and (not listing.overdue or i.overdue)]
    kept.sort(key=lambda i: (i.on or date.max, i.family.household_name.lower(), TASK_KINDS.index(i.kind)))
    known = [i for i in kept if _sort_value(i, listing.sort) is not None]
    unknown = [i for i in kept if _sort_value(i, listing.sort) is None]
    known.sort(key=lambda i: _sort_value(i, listing.sort), reverse=listing.descending)
    return known + unknown


@dataclass
class CaseloadRow:
    summary: FamilySummary
    budget_left: int | None     # øre available this year; None for a gated family
    consent_gaps: int           # members of the current team without valid consent for their agency

    @property
    def family(self):
        return self.summary.family


@dataclass
class Caseload:
    """A team lead's families: by level and trend, overdue items, budget left, consent gaps."""

    rows: list[CaseloadRow]
    by_level: dict[int | None, int]
    by_trend: dict[str | None, int]
    queue_count: int | None     # requests waiting in the lead's approval queue

    @property
    def overdue_families(self) -> int:
        return sum(1 for r in self.rows if overview_queries.has_overdue(r.summary))

    @property
    def with_consent_gaps(self) -> int:
        return sum(1 for r in self.rows if r.consent_gaps)


@dataclass
class TasksPage:
    listing: TaskListing
    items: list[TaskItem]
    total: int
    today: date
    gated_families: list[FamilySummary] = field(default_factory=list)
    caseload: Caseload | None = None
    notifications: list = field(default_factory=list)  # the newest unread (issue 18), no family content

    @property
    def overdue_count(self) -> int:
        return sum(1 for i in self.items if i.overdue)


def _caseload(user, summaries: list[FamilySummary], today: date) -> Caseload:
    led = [s for s in summaries if s.access.is_lead and not s.closed]
    ids = [s.family.id for s in led]
    open_ids = [s.family.id for s in led if not s.access.gated]
    gaps = overview_queries.consent_gaps(ids, today)
    left = budget_queries.budget_left(open_ids) if open_ids else {}
    rows = [CaseloadRow(s, left.get(s.family.id) if not s.access.gated else None, gaps.get(s.family.id, 0))
            for s in led]
    rows.sort(key=lambda r: (r.summary.level or 9, r.family.household_name.lower()))
    queue = budget_queries.lead_queue_count(user) if user.has_permission(Permission.SPEND_DECIDE_AS_LEAD) else None
    return Caseload(rows=rows, by_level=dict(Counter(None if s.access.gated else s.level for s in led)),
                    by_trend=dict(Counter(s.trend for s in led if not s.access.gated)), queue_count=queue)


def read_my_tasks(user, listing: TaskListing) -> TasksPage:
    """*Mine oppgaver* as shown, in a fixed number of statements, with one bulk audit write: a
    list read (purpose *Mine familier*) for every family that appears on the page."""
    case = overview_queries.my_case_tasks(user)
    by_id = {s.family.id: s for s in case.summaries}
    items = list(case.items)
    for row in budget_queries.my_spend_requests(user, [s.family.id for s in case.summaries if not s.access.gated]):
        access = by_id[row.spend.family_id].access
        # A spend is in its theme: without consent for it, the line says so instead of payee and amount.
        hidden = None if access.may_see(None, row.spend.theme, "spend") else \
            access.hidden_reason(None, row.spend.theme, "spend")
        items.append(TaskItem("utgift", access, row.spend.wanted_on, overdue=False, spend=row, hidden=hidden))
    shown = arrange_tasks(items, listing)
    caseload = _caseload(user, case.summaries, case.today) if user.has_permission(Permission.TEAMS_MANAGE) else None
    gated = [s for s in case.summaries if s.access.gated and not s.closed]
    listed: dict[int, dict] = {}
    for item in shown:
        entry = listed.setdefault(item.family.id, {"gated": item.access.gated, "count": 0})
        entry["count"] += 1
    for summary in gated + ([r.summary for r in caseload.rows] if caseload else []):
        listed.setdefault(summary.family.id, {"gated": summary.access.gated, "count": 0})
    audit.record_for_families(AuditAction.FAMILY_LIST, listed, purpose=Purpose.MY_FAMILIES)
    return TasksPage(listing=listing, items=shown, total=len(items), today=case.today, gated_families=gated,
                     caseload=caseload, notifications=notify_services.list_for(user, unread_only=True, limit=5))
