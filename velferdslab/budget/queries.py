"""Read side of the budget: the family's budget, the approval queues and management's overview.

Every figure comes from the ledger (account balances and transfers), never from a second
bookkeeping, so the family panel, the queues and the overview agree with it to the øre.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache

from sqlalchemy import Integer, Select, bindparam, case, exists, func, select, true
from sqlalchemy.orm import selectinload

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction, Purpose
from velferdslab.auth.models import Agency, User, UserRole
from velferdslab.budget import ledger
from velferdslab.budget import policy as spend_policy
from velferdslab.budget.models import LedgerAccount, Route, SpendFunding, SpendRequest, SpendStatus
from velferdslab.cases.access import prime_scopes
from velferdslab.cases.gate import accessible_families, team_family_ids
from velferdslab.cases.plan.models import Goal
from velferdslab.core.models import today_local, utcnow
from velferdslab.core.permissions import ROLE_PERMISSIONS, Permission
from velferdslab.extensions import db
from velferdslab.teams.models import TeamMembership, TeamRole


def current_year() -> int:
    return today_local().year  # budget years follow the Norwegian calendar


def lab_years(lab_id: int) -> list[int]:
    """Budget years with any account in the lab, and the current year, newest first."""
    years = set(db.session.scalars(select(LedgerAccount.year).where(LedgerAccount.lab_id == lab_id).distinct()))
    years.add(current_year())
    return sorted(years, reverse=True)


def _with_details(query):
    return query.options(selectinload(SpendRequest.goal), selectinload(SpendRequest.requester),
                         selectinload(SpendRequest.decisions),
                         selectinload(SpendRequest.funding).selectinload(SpendFunding.agency))


def family_spends(family_id: int, year: int) -> list[SpendRequest]:
    return list(db.session.scalars(_with_details(
        select(SpendRequest).where(SpendRequest.family_id == family_id, SpendRequest.budget_year == year)
        .order_by(SpendRequest.created_at.desc(), SpendRequest.id.desc()))))


@dataclass
class FamilyBudget:
    year: int
    balance: ledger.FamilyBalance
    spends: list[SpendRequest]
    by_agency: list[dict] = field(default_factory=list)


def family_budget(family_id: int, year: int) -> FamilyBudget:
    rows = db.session.execute(
        select(Agency.name, LedgerAccount.kind, LedgerAccount.balance)
        .join(Agency, Agency.id == LedgerAccount.agency_id)
        .where(LedgerAccount.family_id == family_id, LedgerAccount.year == year)
        .order_by(Agency.name))
    agencies: dict[str, dict] = {}
    for name, kind, balance in rows:
        agencies.setdefault(name, {"agency": name, "allocation": 0, "committed": 0, "paid": 0})[kind] = int(balance)
    for row in agencies.values():
        row["allocated"] = row["allocation"] + row["committed"] + row["paid"]
    return FamilyBudget(year=year, balance=ledger.family_balance(family_id, year),
                        spends=family_spends(family_id, year), by_agency=list(agencies.values()))


@dataclass(frozen=True)
class GoalText:
    text: str | None


@dataclass(frozen=True)
class SpendLine:
    """A spend request as the family page's budget panel lists it: no requester, decisions or funding."""

    id: int
    category: str
    theme: str
    payee: str | None
    amount: int
    status: str
    goal: GoalText


def family_panel_budget(family_id: int, year: int) -> FamilyBudget:
    """The family page's budget panel (issue 19): the year's balance and its spend requests with
    their goals' words, in one statement — the balance sums as a one-row aggregate, left-joined to
    the requests (so a family with no request still gets its balance). The same figures as
    :func:`family_budget` and ``ledger.family_balance``; ``by_agency`` is left empty (the panel
    does not show it)."""
    rows = db.session.execute(_panel_query(), {"family_id": family_id, "year": year}).all()
    first = rows[0]._mapping  # the aggregate is one row, and the outer join keeps it
    allocation, committed, paid = (int(first[kind] or 0) for kind in ("allocation", "committed", "paid"))
    lines = [SpendLine(id=row.id, category=row.category, theme=row.theme, payee=row.payee, amount=int(row.amount),
                       status=row.status, goal=GoalText(row.goal_text)) for row in rows if row.id is not None]
    return FamilyBudget(year=year, balance=ledger.FamilyBalance(allocated=allocation + committed + paid,
                                                                committed=committed, paid=paid, available=allocation),
                        spends=lines)  # type: ignore[arg-type]  # the panel reads SpendLine's fields only


@cache
def _panel_query() -> Select:
    """:func:`family_panel_budget`'s statement, built once with the family and year as parameters
    (issue 19: building and keying it on every family page cost more CPU than running it)."""
    family_id, year = bindparam("family_id", type_=Integer), bindparam("year", type_=Integer)
    sums = {kind: func.coalesce(func.sum(case((LedgerAccount.kind == kind, LedgerAccount.balance), else_=0)), 0)
            .label(kind) for kind in ("allocation", "committed", "paid")}
    balance = (select(*sums.values())
               .where(LedgerAccount.family_id == family_id, LedgerAccount.year == year).subquery("balance"))
    spends = (select(SpendRequest.id, SpendRequest.category, SpendRequest.theme, SpendRequest.payee,
                     SpendRequest.amount, SpendRequest.status, SpendRequest.created_at, Goal.text.label("goal_text"))
              .join(Goal, Goal.id == SpendRequest.goal_id)
              .where(SpendRequest.family_id == family_id, SpendRequest.budget_year == year).subquery("spend"))
    return (select(balance, spends).select_from(balance.outerjoin(spends, true()))
            .order_by(spends.c.created_at.desc(), spends.c.id.desc()))


def read_my_budgets(user: User, year: int) -> list[tuple]:
    """The families the user is on the team of, each with its balance for ``year``, as *Budsjett*
    shows them: one audit event per family listed."""
    accesses = accessible_families(user)
    balances = ledger.family_balances([a.family.id for a in accesses], year)
    audit.record_for_families(AuditAction.BUDGET_LIST_VIEW, [a.family.id for a in accesses], purpose=Purpose.BUDGET)
    return [(a, balances[a.family.id]) for a in accesses]


# --- queues --------------------------------------------------------------------------------------

def _lead_family_ids(user: User):
    return team_family_ids(user, led=True)


def lead_queue(user: User) -> list[SpendRequest]:
    """Requests waiting for this investment lead: their families, team route, not their own; oldest first."""
    return list(db.session.scalars(_with_details(
        select(SpendRequest).where(SpendRequest.status == "requested", SpendRequest.route == "team",
                                   SpendRequest.family_id.in_(_lead_family_ids(user)),
                                   SpendRequest.requester_id != user.id)
        .order_by(SpendRequest.submitted_at, SpendRequest.id))))


def lead_to_pay(user: User) -> list[SpendRequest]:
    return list(db.session.scalars(_with_details(
        select(SpendRequest).where(SpendRequest.status == "approved",
                                   SpendRequest.family_id.in_(_lead_family_ids(user)))
        .order_by(SpendRequest.decided_at, SpendRequest.id))))


def management_queue(lab_id: int) -> list[SpendRequest]:
    """Requests above the teams' limits, oldest first."""
    return list(db.session.scalars(_with_details(
        select(SpendRequest).where(SpendRequest.lab_id == lab_id, SpendRequest.status == "requested",
                                   SpendRequest.route == "management")
        .order_by(SpendRequest.submitted_at, SpendRequest.id))))


def management_to_pay(lab_id: int) -> list[SpendRequest]:
    return list(db.session.scalars(_with_details(
        select(SpendRequest).where(SpendRequest.lab_id == lab_id, SpendRequest.status == "approved",
                                   SpendRequest.route == "management")
        .order_by(SpendRequest.decided_at, SpendRequest.id))))


def lead_queue_count(user: User) -> int:
    """How many requests wait in this investment lead's queue (``lead_queue``), counted in SQL."""
    return int(db.session.scalar(
        select(func.count()).select_from(SpendRequest)
        .where(SpendRequest.status == "requested", SpendRequest.route == "team",
               SpendRequest.family_id.in_(_lead_family_ids(user)), SpendRequest.requester_id != user.id)) or 0)


def available_for(spends: list[SpendRequest]) -> dict[tuple[int, int], int]:
    """Available øre per (family, year) for the families and years of the given requests."""
    result = {}
    by_year: dict[int, set[int]] = {}
    for family_id, year in {(s.family_id, s.budget_year) for s in spends}:
        by_year.setdefault(year, set()).add(family_id)
    for year, ids in by_year.items():
        for family_id, balance in ledger.family_balances(ids, year).items():
            result[(family_id, year)] = balance.available
    return result


def team_leads(family_ids) -> dict[int, list[str]]:
    """The current investment leads' names per family (management sees no household names)."""
    ids = list(set(family_ids))
    names: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        on = today_local()
        rows = db.session.execute(
            select(TeamMembership.family_id, User.name).join(User, User.id == TeamMembership.user_id)
            .where(TeamMembership.family_id.in_(ids), TeamMembership.role == TeamRole.LEAD,
                   TeamMembership.start_date <= on,
                   (TeamMembership.end_date.is_(None)) | (TeamMembership.end_date >= on))
            .order_by(User.name))
        for family_id, name in rows:
            names[family_id].append(name)
    return names


@dataclass
class QueueView:
    """A queue as shown: the requests, what each family has available, and its current leads."""

    spends: list[SpendRequest]
    available: dict[tuple[int, int], int]
    leads: dict[int, list[str]]
    # Requests in a theme the reader's agency has no consent for (issue 15): id → the reason. The
    # queue shows their category, amount and theme, not the payee or the expected effect.
    hidden: dict[int, str] = field(default_factory=dict)


def read_queue(user: User, spends: list[SpendRequest]) -> QueueView:
    """What an approval queue shows, with one audit event per family in it; the policy's facts
    about the user and those families are looked up once for all rows (``budget.policy.prime``)."""
    families = sorted({s.family_id for s in spends})
    audit.record_for_families(AuditAction.SPEND_QUEUE_VIEW, families, purpose=Purpose.APPROVAL)
    spend_policy.prime(user, families)
    return QueueView(spends=spends, available=available_for(spends), leads=team_leads(families),
                     hidden=_not_covered(user, spends))


def _not_covered(user: User, spends: list[SpendRequest]) -> dict[int, str]:
    """The queue's requests whose theme the user's agency (on the family's team) has no consent
    for, with the reason; management off the team decides on the money and sees them (issue 15)."""
    wanted = {s.family_id for s in spends}
    accesses = {a.family.id: a for a in accessible_families(user) if a.family.id in wanted}
    prime_scopes(accesses.values())
    hidden = {}
    for spend in spends:
        access = accesses.get(spend.family_id)
        if access is not None and not access.may_see(None, spend.theme, "spend"):
            hidden[spend.id] = access.hidden_reason(None, spend.theme, "spend")
    return hidden


def read_allocations(lab_id: int, year: int) -> list[AllocationRow]:
    """Each family's allocation in a year, as management sees it (ids, never names), audited."""
    rows = allocation_rows(lab_id, year)
    audit.record_for_families(AuditAction.BUDGET_ALLOCATIONS_VIEW, [row.family_id for row in rows],
                              purpose=Purpose.ALLOCATION)
    return rows


# --- management's overview ---------------------------------------------------------------------------
#
# What management sees (issue 14, docs/budget.md): the pool per agency — delegated, allocated to
# families' teams, left unallocated — and, on the allocation screen, each listed family's allocation
# and what is left unused of it. Never spend (reserved, paid, waiting) by theme, category or agency:
# spend by theme lives in the outcome report, protected there. Restricted (*sperret*) and erased
# families are not listed; their allocations count only in the agencies' "allocated" totals, so that
# delegated = allocated + unallocated holds to the øre.

@dataclass
class PoolRow:
    label: str
    key: object = None
    delegated: int = 0
    unallocated: int = 0
    allocated: int = 0


@dataclass
class Overview:
    year: int
    agencies: list[PoolRow]
    agency_total: PoolRow


def pool_overview(lab_id: int, year: int) -> Overview:
    """Per agency: delegated, unallocated and allocated (everything that has left the pool for the
    families' accounts: available + committed + paid, never split). All from the ledger."""
    agencies = {a.id: PoolRow(label=a.name, key=a.id) for a in
                db.session.scalars(select(Agency).where(Agency.lab_id == lab_id).order_by(Agency.name))}
    sums = db.session.execute(
        select(LedgerAccount.agency_id, LedgerAccount.kind, func.sum(LedgerAccount.balance))
        .where(LedgerAccount.lab_id == lab_id, LedgerAccount.year == year)
        .group_by(LedgerAccount.agency_id, LedgerAccount.kind))
    for agency_id, kind, total in sums:
        row, total = agencies[agency_id], int(total or 0)
        if kind == "delegation":
            row.delegated = -total
        elif kind == "pool":
            row.unallocated = total
        elif kind in FAMILY_KINDS:
            row.allocated += total
    agency_rows = [r for r in agencies.values() if r.delegated or r.allocated or r.unallocated]
    total_row = PoolRow(label="")
    for row in agency_rows:
        total_row.delegated += row.delegated
        total_row.unallocated += row.unallocated
        total_row.allocated += row.allocated
    return Overview(year=year, agencies=agency_rows, agency_total=total_row)


FAMILY_KINDS = ("allocation", "committed", "paid")


@dataclass
class AllocationRow:
    """One family as the allocation screen lists it: a reference, its leads, what was allocated
    to it and what is left unused (the most that can be moved back). No theme, no payments."""

    family_id: int
    open: bool
    leads: list[str]
    allocated: int
    available: int


def allocation_rows(lab_id: int, year: int) -> list[AllocationRow]:
    """Families with an open enrolment (or money this year), with their allocation and what is left
    of it, and their leads — no names, and no restricted or erased family."""
    ids, open_ids = _allocation_families(lab_id, year)
    balances = ledger.family_balances(ids, year)
    leads = team_leads(ids)
    return [AllocationRow(family_id=i, open=i in open_ids, leads=leads[i], allocated=balances[i].allocated,
                          available=balances[i].available) for i in ids]


def allocations_available(lab_id: int, year: int) -> int:
    """What the families of :func:`allocation_rows` have available in all (øre): the sum of its
    rows' ``available``, without loading their leads (the report's summary, over thousands of
    families)."""
    # A family's available money is its allocation accounts' balance (``ledger.family_balances``).
    return int(db.session.scalar(select(func.coalesce(func.sum(LedgerAccount.balance), 0)).where(
        LedgerAccount.family_id.in_(_listed_families(lab_id, year)), LedgerAccount.year == year,
        LedgerAccount.kind == "allocation")) or 0)


OPEN_ENROLMENT = ("referred", "active")


def _listed_families(lab_id: int, year: int):
    """SELECT of the families the allocation screen lists: with an open enrolment or an account
    this year, never a restricted or erased one."""
    from velferdslab.cases.enrolment.models import Enrolment
    from velferdslab.cases.household.models import Family

    return select(Family.id).where(
        Family.lab_id == lab_id, Family.restricted_at.is_(None), Family.erased_at.is_(None),
        exists().where(Enrolment.family_id == Family.id, Enrolment.status.in_(OPEN_ENROLMENT))
        | exists().where(LedgerAccount.family_id == Family.id, LedgerAccount.lab_id == lab_id,
                         LedgerAccount.year == year))


def _allocation_families(lab_id: int, year: int) -> tuple[list[int], set[int]]:
    """(the families the allocation screen lists, by id; those of the lab with an open enrolment)."""
    from velferdslab.cases.enrolment.models import Enrolment
    from velferdslab.cases.household.models import Family

    ids = list(db.session.scalars(_listed_families(lab_id, year).order_by(Family.id)))
    open_ids = set(db.session.scalars(select(Enrolment.family_id).join(Family, Family.id == Enrolment.family_id)
                                      .where(Family.lab_id == lab_id, Enrolment.status.in_(OPEN_ENROLMENT))))
    return ids, open_ids


def read_pool_overview(lab_id: int, year: int):
    """Management's overview of the pool as shown, its reading audited."""
    overview = pool_overview(lab_id, year)
    audit.record(AuditAction.BUDGET_OVERVIEW_VIEW, object_type="pool", object_id=overview.year,
                 purpose=Purpose.OVERVIEW)
    return overview


def budget_left(family_ids, year: int | None = None) -> dict[int, int]:
    """What each family has available (øre) in ``year`` (this year by default), in one statement."""
    return {family_id: balance.available
            for family_id, balance in ledger.family_balances(family_ids, year or current_year()).items()}


# --- the requester's own requests and whom each waits for (*Mine oppgaver*, issue 13) ----------------

OPEN_SPEND_STATUSES = (SpendStatus.DRAFT.value, SpendStatus.REQUESTED.value, SpendStatus.APPROVED.value)
RECENT_DAYS = 30  # a rejected, paid or cancelled request stays on the list this long


@dataclass
class MySpend:
    """One of the user's spend requests: its status and who must act next, by name."""

    spend: SpendRequest
    waits_for: list[str]        # the names of the people who can take the next step
    waits_for_you: bool = False  # a draft: the requester submits it
    step: str = ""              # "submit", "decide", "pay" or "" (nothing more to do)

    @property
    def status_label(self) -> str:
        member = SpendStatus.get(self.spend.status)
        return str(member.label) if member is not None else self.spend.status


def _deciders(lab_id: int, permission: Permission) -> list[tuple[int, str]]:
    """(id, name) of the lab's active users whose roles grant ``permission``, by name."""
    roles = sorted(str(role.value) for role, granted in ROLE_PERMISSIONS.items() if permission in granted)
    return [(user_id, name) for user_id, name in db.session.execute(
        select(User.id, User.name).join(UserRole, UserRole.user_id == User.id)
        .where(User.lab_id == lab_id, User.active.is_(True), UserRole.role.in_(roles))
        .group_by(User.id, User.name).order_by(User.name))]


def _current_leads(family_ids) -> dict[int, list[tuple[int, str]]]:
    ids = list(set(family_ids))
    found: dict[int, list[tuple[int, str]]] = {i: [] for i in ids}
    if ids:
        on = today_local()
        for family_id, user_id, name in db.session.execute(
                select(TeamMembership.family_id, User.id, User.name).join(User, User.id == TeamMembership.user_id)
                .where(TeamMembership.family_id.in_(ids), TeamMembership.role == TeamRole.LEAD,
                       TeamMembership.start_date <= on,
                       (TeamMembership.end_date.is_(None)) | (TeamMembership.end_date >= on))
                .order_by(User.name)):
            found[family_id].append((user_id, name))
    return found


def my_spend_requests(user: User, family_ids: list[int]) -> list[MySpend]:
    """The user's own spend requests in the given families (the caller passes those whose case
    content the gate lets them see): every draft, requested or approved one, and those rejected,
    paid or cancelled in the last 30 days — each with whom it waits for. A fixed number of
    statements: the requests (with their decisions), the families' leads, the lab's managers."""
    if not family_ids:
        return []
    since = utcnow() - timedelta(days=RECENT_DAYS)
    spends = list(db.session.scalars(
        select(SpendRequest).options(selectinload(SpendRequest.decisions))
        .where(SpendRequest.requester_id == user.id, SpendRequest.family_id.in_(family_ids),
               SpendRequest.status.in_(OPEN_SPEND_STATUSES) | (SpendRequest.decided_at >= since)
               | (SpendRequest.cancelled_at >= since) | (SpendRequest.paid_on >= since.date()))
        .order_by(SpendRequest.wanted_on, SpendRequest.id)))
    if not spends:
        return []
    leads = _current_leads(s.family_id for s in spends if s.route != Route.MANAGEMENT)
    managers = (_deciders(user.lab_id, Permission.SPEND_DECIDE_AS_MANAGEMENT)
                if any(s.route == Route.MANAGEMENT for s in spends) else [])
    rows = []
    for spend in spends:
        deciders = managers if spend.route == Route.MANAGEMENT else leads.get(spend.family_id, [])
        if spend.status == SpendStatus.DRAFT:
            rows.append(MySpend(spend, [user.name], waits_for_you=True, step="submit"))
        elif spend.status == SpendStatus.REQUESTED:
            # Maker–checker: never the requester, and never one who has already approved it.
            approved = {d.user_id for d in spend.decisions if d.decision == "approve"}
            rows.append(MySpend(spend, [name for uid, name in deciders if uid != user.id and uid not in approved],
                                step="decide"))
        elif spend.status == SpendStatus.APPROVED:
            rows.append(MySpend(spend, [name for _uid, name in deciders], step="pay"))
        else:
            rows.append(MySpend(spend, []))
    return rows
