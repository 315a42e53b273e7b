"""Every change to budgets: delegations, allocations, authority rules and spend requests.

Services validate, change, write the audit row and flush — never commit. Operations that move
money lock what they spend from (see ``budget.ledger``); callers run them through
``ledger.run_with_retries`` so a deadlock or serialization failure is retried, not shown.

Who may decide on a spend request (maker–checker):

* who may decide at all is ``core.policy.can`` (rules in ``budget.policy``): never the requester,
  whatever other role they also hold (403, audited); the family's current investment lead, or
  management of the same lab; anyone else who is not on the team gets the family's 404;
* and only within the authority rules in force: the rule that allows the amount is recorded with
  the decision. A rule that needs two approvers needs two different people.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any, Literal, NoReturn, overload

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction
from velferdslab.auth.models import Agency, Lab, User
from velferdslab.budget import ledger, vouchers
from velferdslab.budget import policy as spend_policy
from velferdslab.budget.models import (
    APPROVER_ROLES,
    SPEND_CATEGORIES,
    ApproverRole,
    AuthorityRule,
    AuthorityRuleSet,
    Delegation,
    IdempotencyKey,
    LedgerAccount,
    LedgerTransfer,
    Route,
    SpendDecision,
    SpendFunding,
    SpendRequest,
    ThemeAgencyDefault,
)
from velferdslab.cases import gate
from velferdslab.cases.access import Access
from velferdslab.cases.enrolment.models import Enrolment
from velferdslab.cases.household.models import Family
from velferdslab.cases.plan.models import Goal
from velferdslab.cases.themes import THEME_BY_CODE, THEME_CODES
from velferdslab.core import events, policy
from velferdslab.core.errors import ConflictError, ForbiddenError, ServiceError
from velferdslab.core.models import today_local, utcnow
from velferdslab.core.money import MAX_AMOUNT_ORE, format_nok
from velferdslab.core.permissions import Permission
from velferdslab.core.text import SHORT_TEXT_MAX, short_text
from velferdslab.extensions import db
from velferdslab.teams import policy as team_policy

KR = 100  # øre per krone

# The lab's rules until an administrator saves others (the mission's figures).
DEFAULT_RULES = (
    {"role": ApproverRole.TEAM_LEAD, "agency_id": None, "max_per_spend": 50_000 * KR, "max_per_family_year": None,
     "approvals_required": 1},
    {"role": ApproverRole.MANAGER, "agency_id": None, "max_per_spend": 250_000 * KR, "max_per_family_year": None,
     "approvals_required": 1},
    {"role": ApproverRole.MANAGER, "agency_id": None, "max_per_spend": None, "max_per_family_year": None,
     "approvals_required": 2},
)
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{8,100}$")
OPEN_ENROLMENT = ("referred", "active")


# --- validation helpers ------------------------------------------------------------------------

def check_amount(amount, field: str = "amount", maximum: int = MAX_AMOUNT_ORE) -> int:
    """An amount is a whole number of øre, above zero and not above ``maximum``."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ServiceError(_("Beløpet må være et helt antall øre."), field)
    if amount <= 0:
        raise ServiceError(_("Beløpet må være større enn null."), field)
    if amount > maximum:
        raise ServiceError(_("Beløpet kan ikke være over %(max)s.", max=format_nok(maximum)), field)
    return amount


@overload
def _text(value: Any, field: str, max_length: int, *, required: Literal[True] = True) -> str: ...
@overload
def _text(value: Any, field: str, max_length: int, *, required: bool) -> str | None: ...
def _text(value: Any, field: str, max_length: int, *, required: bool = True) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise ServiceError(_("Feltet må fylles ut."), field)
        return None
    if len(value) > max_length:
        raise ServiceError(_("Teksten kan ha høyst %(n)s tegn.", n=max_length), field)
    return short_text(value, field) if max_length <= SHORT_TEXT_MAX else value


def check_year(year, field: str = "year") -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ServiceError(_("Ugyldig budsjettår."), field)
    return year


def _check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.match(key):
        raise ServiceError(_("Idempotency-Key må være 8–100 synlige ASCII-tegn."), "idempotency_key")
    return key


def _lab_agency(lab_id: int, agency_id, field: str = "agency_id") -> Agency:
    agency = db.session.get(Agency, agency_id) if isinstance(agency_id, int) else None
    if agency is None or agency.lab_id != lab_id:
        raise ServiceError(_("Etaten finnes ikke i dette laboratoriet."), field)
    return agency


# --- authority rules ---------------------------------------------------------------------------

def current_rule_set(lab_id: int) -> AuthorityRuleSet | None:
    # The rules come with their set, in the same statement (an approval reads them every time).
    return db.session.scalars(select(AuthorityRuleSet).where(AuthorityRuleSet.lab_id == lab_id)
                              .options(joinedload(AuthorityRuleSet.rules))
                              .order_by(AuthorityRuleSet.version.desc()).limit(1)).unique().first()


def rules_in_force(lab_id: int) -> AuthorityRuleSet:
    """The newest rule set of the lab; version 1 (the defaults) is stored on first use."""
    found = current_rule_set(lab_id)
    if found is not None:
        return found
    try:
        with db.session.begin_nested():
            rule_set = _store_rule_set(lab_id, 1, DEFAULT_RULES, "Standardregler", None)
    except IntegrityError:  # someone else stored version 1 a moment ago
        found = current_rule_set(lab_id)
        assert found is not None  # the clash on (lab_id, version) was with that committed row
        return found
    audit.record(AuditAction.BUDGET_RULES_DEFAULT, lab_id=lab_id, object_type="authority_rule_set",
                 object_id=rule_set.id,
                 summary={"version": 1})
    return rule_set


def _store_rule_set(lab_id: int, version: int, rules, note: str | None, actor: User | None) -> AuthorityRuleSet:
    rule_set = AuthorityRuleSet(lab_id=lab_id, version=version, note=note,
                                created_by_id=actor.id if actor else None)
    db.session.add(rule_set)
    db.session.flush()
    for rule in rules:
        db.session.add(AuthorityRule(rule_set_id=rule_set.id, **rule))
    db.session.flush()
    db.session.refresh(rule_set, ["rules"])
    return rule_set


def _clean_rule(lab_id: int, raw: dict, index: int) -> dict:
    field = f"rules.{index}"
    role = raw.get("role")
    if role not in APPROVER_ROLES:
        raise ServiceError(_("Ukjent rolle i regel %(n)s.", n=index + 1), field)
    agency_id = raw.get("agency_id")
    if agency_id is not None:
        _lab_agency(lab_id, agency_id, field)
    limits = {}
    for name in RULE_LIMITS:
        value = raw.get(name)
        limits[name] = None if value is None else check_amount(value, field)
    approvals = raw.get("approvals_required", 1)
    if approvals not in (1, 2) or isinstance(approvals, bool):
        raise ServiceError(_("En regel krever én eller to godkjennere."), field)
    return {"role": role, "agency_id": agency_id, "approvals_required": approvals, **limits,
            **_clean_conditions(lab_id, raw, field)}


RULE_LIMITS = ("max_per_spend", "max_per_family_year", "max_per_agency_year")
RULE_CONDITIONS = ("funding_agency_id", "theme", "category")


def _clean_conditions(lab_id: int, raw: dict, field: str) -> dict:
    """A rule's conditions: the funding agency, theme and category it applies to (None: any)."""
    funding_agency_id, theme, category = (raw.get(name) for name in RULE_CONDITIONS)
    if funding_agency_id is not None:
        _lab_agency(lab_id, funding_agency_id, field)
    if theme is not None and theme not in THEME_CODES:
        raise ServiceError(_("Ukjent tema i regelen."), field)
    if category is not None and category not in SPEND_CATEGORIES:
        raise ServiceError(_("Ukjent kategori i regelen."), field)
    return {"funding_agency_id": funding_agency_id, "theme": theme, "category": category}


def _condition_key(rule) -> tuple:
    get = rule.get if isinstance(rule, dict) else partial(getattr, rule)
    return tuple(get(name) for name in RULE_CONDITIONS)


def _unlimited(rule: dict) -> bool:
    return all(rule[name] is None for name in RULE_LIMITS)


def save_rules(lab: Lab, rules: list[dict], *, note: str | None, actor: User) -> AuthorityRuleSet:
    """Store a new version of the lab's authority rules (the old versions stay, unchanged).

    Requests waiting for a decision are re-routed to the queue the new rules give them.
    """
    if not rules:
        raise ServiceError(_("Reglene kan ikke være tomme."), "rules")
    if len(rules) > 50:
        raise ServiceError(_("For mange regler."), "rules")
    cleaned = [_clean_rule(lab.id, raw, i) for i, raw in enumerate(rules)]
    tiers: dict[tuple, set] = {}
    for rule in cleaned:
        seen = tiers.setdefault((rule["role"], rule["agency_id"], *_condition_key(rule)), set())
        if rule["max_per_spend"] in seen:
            raise ServiceError(_("To regler for samme rolle og etat har samme beløpsgrense."), "rules")
        seen.add(rule["max_per_spend"])
    if not any(r["role"] == ApproverRole.MANAGER and r["agency_id"] is None and _unlimited(r)
               and _condition_key(r) == (None, None, None) for r in cleaned):
        raise ServiceError(_("Det må finnes en regel for ledelsen uten beløpsgrense, ellers kan store "
                             "utgifter aldri godkjennes."), "rules")
    # The most specific rules matching a spend decide; for management, each set of conditions must
    # then also hold a rule without limits, or spend matching it could never be approved.
    for key in {_condition_key(r) for r in cleaned if r["role"] == ApproverRole.MANAGER}:
        if not any(r["role"] == ApproverRole.MANAGER and _condition_key(r) == key and _unlimited(r)
                   for r in cleaned):
            raise ServiceError(_("Regler for ledelsen med vilkår (etat, tema eller kategori) må også ha en regel "
                                 "uten beløpsgrense med de samme vilkårene."), "rules")
    note = _text(note, "note", 300, required=False)
    version = rules_in_force(lab.id).version + 1  # the defaults stay on record as version 1
    rule_set = _store_rule_set(lab.id, version, cleaned, note, actor)
    audit.record(AuditAction.BUDGET_RULES_UPDATE, actor=actor, lab_id=lab.id, object_type="authority_rule_set",
                 object_id=rule_set.id, summary={"version": version, "rules": len(cleaned)})
    _reroute_waiting(lab.id, rule_set)
    return rule_set


def _reroute_waiting(lab_id: int, rule_set: AuthorityRuleSet) -> None:
    waiting = db.session.scalars(select(SpendRequest).where(SpendRequest.lab_id == lab_id,
                                                            SpendRequest.status == "requested")).all()
    for spend in waiting:
        route = _route(spend, rule_set)
        if route != spend.route:
            spend.route = route
            db.session.flush()
            audit.record(AuditAction.SPEND_REROUTE, lab_id=lab_id, family_id=spend.family_id,
                         object_type="spend_request",
                         object_id=spend.id, summary={"route": route, "rule_version": rule_set.version})


def _specificity(rule: AuthorityRule) -> tuple[bool, bool, bool]:
    return rule.funding_agency_id is not None, rule.theme is not None, rule.category is not None


def _tiers(rule_set: AuthorityRuleSet, role: str, agency_id: int | None, spend: SpendRequest,
           funding_agency_id: int | None) -> list[AuthorityRule]:
    """The rules for a role that decide on the part of ``spend`` funded by ``funding_agency_id``:
    of the rules whose conditions (funding agency, theme, category) match, only the most specific
    (a funding agency before a theme before a category); of those, the approver's agency's own
    rules if it has any, else the rules for staff of any agency. So an agency can require its own
    approver above a limit: a rule for any approver up to the limit, and one for its own staff."""
    matching = [r for r in rule_set.rules if r.role == role and r.funding_agency_id in (None, funding_agency_id)
                and r.theme in (None, spend.theme) and r.category in (None, spend.category)]
    if not matching:
        return []
    top = max(_specificity(r) for r in matching)
    matching = [r for r in matching if _specificity(r) == top]
    own = [r for r in matching if agency_id is not None and r.agency_id == agency_id]
    tiers = own or [r for r in matching if r.agency_id is None]
    return sorted(tiers, key=lambda r: (r.max_per_spend is None, r.max_per_spend or 0))


APPROVED = ("approved", "paid")


def approved_by_role(family_id: int, year: int, role: str, *, excluding: int | None = None,
                     agency_id: int | None = None) -> int:
    """What approvers of ``role`` have approved for the family this budget year (not cancelled);
    with ``agency_id``, only the part funded by that agency."""
    if agency_id is None:
        query = select(func.coalesce(func.sum(SpendRequest.amount), 0))
    else:
        query = (select(func.coalesce(func.sum(SpendFunding.amount), 0))
                 .join(SpendRequest, SpendRequest.id == SpendFunding.spend_request_id)
                 .where(SpendFunding.agency_id == agency_id))
    query = query.where(SpendRequest.family_id == family_id, SpendRequest.budget_year == year,
                        SpendRequest.approved_role == role, SpendRequest.status.in_(APPROVED))
    if excluding is not None:
        query = query.where(SpendRequest.id != excluding)
    # scalar_one: an aggregate without GROUP BY always answers one row (scalar() is typed as maybe None).
    return int(db.session.execute(query).scalar_one())


def approved_from_agency(lab_id: int, year: int, role: str, agency_id: int, *, excluding: int | None = None) -> int:
    """What approvers of ``role`` have approved from ``agency_id``'s money in the lab this year."""
    query = (select(func.coalesce(func.sum(SpendFunding.amount), 0))
             .join(SpendRequest, SpendRequest.id == SpendFunding.spend_request_id)
             .where(SpendFunding.agency_id == agency_id, SpendRequest.lab_id == lab_id,
                    SpendRequest.budget_year == year, SpendRequest.approved_role == role,
                    SpendRequest.status.in_(APPROVED)))
    if excluding is not None:
        query = query.where(SpendRequest.id != excluding)
    return int(db.session.execute(query).scalar_one())


def _within(rule: AuthorityRule, spend: SpendRequest, role: str, agency_id: int | None, part: int) -> bool:
    """Whether ``rule`` allows the part of ``spend`` funded by ``agency_id``. A rule that names a
    funding agency measures that agency's part; one that does not, the whole amount."""
    own_part = rule.funding_agency_id is not None
    share = part if own_part else spend.amount
    if rule.max_per_spend is not None and share > rule.max_per_spend:
        return False
    if rule.max_per_family_year is not None:
        used = approved_by_role(spend.family_id, spend.budget_year, role, excluding=spend.id,
                                agency_id=agency_id if own_part else None)
        if used + share > rule.max_per_family_year:
            return False
    if rule.max_per_agency_year is not None and agency_id is not None:
        used = approved_from_agency(spend.lab_id, spend.budget_year, role, agency_id, excluding=spend.id)
        if used + part > rule.max_per_agency_year:
            return False
    return True


def _parts(spend: SpendRequest) -> list[tuple[int | None, int]]:
    """(funding agency, amount) of each part of the spend; one unnamed part if it has no funding."""
    return [(f.agency_id, f.amount) for f in spend.funding] or [(None, spend.amount)]


def _rules_for(rule_set: AuthorityRuleSet, spend: SpendRequest, role: str,
               agency_id: int | None) -> list[AuthorityRule] | None:
    """The rule that allows each funded part for an approver of ``role`` from ``agency_id``, or
    None when some part is beyond every rule."""
    found = []
    for funding_agency_id, part in _parts(spend):
        rule = next((r for r in _tiers(rule_set, role, agency_id, spend, funding_agency_id)
                     if _within(r, spend, role, funding_agency_id, part)), None)
        if rule is None:
            return None
        found.append(rule)
    return found


def _governing(rules: list[AuthorityRule]) -> AuthorityRule:
    """The rule a decision records: the one asking most (two approvers), the most specific first."""
    return max(rules, key=lambda r: (r.approvals_required, _specificity(r), -r.id))


@dataclass(frozen=True)
class Authority:
    role: str
    rule: AuthorityRule
    version: int
    rules: tuple[AuthorityRule, ...] = ()  # the rule for each funded part (``rule`` is one of them)


def authority_for(user: User, spend: SpendRequest, rule_set: AuthorityRuleSet | None = None) -> Authority | None:
    """The rule under which ``user`` may decide on ``spend``, trying each capacity they hold in
    turn (``budget.policy.capacities``: as the family's lead first, then as management). A lead's
    agency is the one they represent on the team; management's, their own. Every funded part must
    be within a rule; the decision records the one that asks most of it."""
    rule_set = rule_set or rules_in_force(spend.lab_id)
    for capacity in spend_policy.capacities(user, spend):
        if capacity is ApproverRole.TEAM_LEAD:
            access = spend_policy.relation(user, spend.family_id)
            agency_id = access.membership.agency_id if access is not None and access.membership else None
        else:
            agency_id = user.agency_id
        rules = _rules_for(rule_set, spend, capacity, agency_id)
        if rules:
            return Authority(capacity, _governing(rules), rule_set.version, tuple(rules))
    return None


def _route(spend: SpendRequest, rule_set: AuthorityRuleSet | None = None) -> str:
    """'team' when a current lead of the family (not the requester, nor a lead who changed the
    draft) may approve it alone."""
    rule_set = rule_set or rules_in_force(spend.lab_id)
    for lead in team_policy.current_leads(spend.family_id):
        if lead.user_id in (spend.requester_id, spend.edited_by_id) \
                or not lead.user.has_permission(Permission.SPEND_DECIDE_AS_LEAD):
            continue
        rules = _rules_for(rule_set, spend, ApproverRole.TEAM_LEAD, lead.agency_id)
        if rules and all(r.approvals_required == 1 for r in rules):
            return Route.TEAM
    return Route.MANAGEMENT


# --- delegations and allocations ---------------------------------------------------------------

def delegate(lab: Lab, *, agency_id: int, year: int, amount: int, decision_reference: str, decided_on: date,
             actor: User | None, at: datetime | None = None) -> Delegation:
    """Record an agency's delegation to the lab for a budget year: delegation → pool."""
    agency = _lab_agency(lab.id, agency_id)
    check_year(year)
    check_amount(amount)
    reference = _text(decision_reference, "decision_reference", 100)
    if not isinstance(decided_on, date) or decided_on > today_local():
        raise ServiceError(_("Vedtaksdatoen kan ikke være fram i tid."), "decided_on")
    ledger.refuse_closed_year(lab.id, {year})
    source = ledger.account(lab.id, "delegation", year, agency.id)
    pool = ledger.account(lab.id, "pool", year, agency.id)
    ledger.lock_accounts([source.id, pool.id])
    row = Delegation(lab_id=lab.id, agency_id=agency.id, year=year, amount=amount, decision_reference=reference,
                     decided_on=decided_on, created_by_id=actor.id if actor else None, created_at=at or utcnow())
    db.session.add(row)
    db.session.flush()
    ledger.post("delegation", source, pool, amount, lab_id=lab.id, actor_id=row.created_by_id,
                delegation_id=row.id, at=at)
    audit.record(AuditAction.BUDGET_DELEGATE, actor=actor, lab_id=lab.id, object_type="delegation", object_id=row.id,
                 summary={"agency_id": agency.id, "year": year, "amount": amount})
    return row


def reverse_delegation(delegation: Delegation, *, actor: User) -> LedgerTransfer:
    """Undo a delegation entered in error, with a new transfer (pool → delegation)."""
    ledger.refuse_closed_year(delegation.lab_id, {delegation.year})
    pool = ledger.account(delegation.lab_id, "pool", delegation.year, delegation.agency_id)
    source = ledger.account(delegation.lab_id, "delegation", delegation.year, delegation.agency_id)
    locked = ledger.lock_accounts([pool.id, source.id])
    done = db.session.scalar(select(LedgerTransfer.id).where(LedgerTransfer.delegation_id == delegation.id,
                                                             LedgerTransfer.kind == "delegation_reversal"))
    if done is not None:
        raise ConflictError(_("Delegeringen er allerede reversert."), "delegation")
    if locked[pool.id].balance < delegation.amount:
        raise ServiceError(_("Så mye er ikke lenger ufordelt i potten (%(left)s); flytt tildelinger tilbake først.",
                             left=format_nok(locked[pool.id].balance)), "amount")
    transfer = ledger.post("delegation_reversal", pool, source, delegation.amount, lab_id=delegation.lab_id,
                           actor_id=actor.id, delegation_id=delegation.id)
    audit.record(AuditAction.BUDGET_DELEGATION_REVERSE, actor=actor, lab_id=delegation.lab_id, object_type="delegation",
                 object_id=delegation.id, summary={"amount": delegation.amount})
    return transfer


def _lab_family(lab_id: int, family_id) -> Family:
    family = db.session.get(Family, family_id) if isinstance(family_id, int) else None
    if family is None or family.lab_id != lab_id:
        raise ServiceError(_("Familien finnes ikke."), "family_id", status=404)
    return family


def _allocatable_family(lab_id: int, family_id) -> Family:
    """The family management moves money to or from: a restricted (*sperret*) or erased family
    answers as a missing one (issue 14) — management sees nothing of it, and a refused return
    ("only N left") would tell it what the family has left."""
    family = _lab_family(lab_id, family_id)
    if family.restricted_at is not None or family.erased_at is not None:
        raise ServiceError(_("Familien finnes ikke."), "family_id", status=404)
    return family


def _family_accounts(family: Family, agency_id: int, year: int):
    """Open (if needed) the family's accounts for one agency's money in one year."""
    return {kind: ledger.account(family.lab_id, kind, year, agency_id, family.id)
            for kind in ("allocation", "committed", "paid")}


def allocate(lab: Lab, *, family_id: int, agency_id: int, year: int, amount: int, actor: User | None,
             at: datetime | None = None) -> LedgerTransfer:
    """Give a family's team money from one agency's part of the pool: pool → allocation."""
    family = _allocatable_family(lab.id, family_id)
    agency = _lab_agency(lab.id, agency_id)
    check_year(year)
    check_amount(amount)
    open_enrolment = db.session.scalar(select(Enrolment.id).where(Enrolment.family_id == family.id,
                                                                  Enrolment.status.in_(OPEN_ENROLMENT)).limit(1))
    if open_enrolment is None:
        raise ServiceError(_("Familien har ingen åpen deltakelse; midler tildeles bare familier i laboratoriet."),
                           "family_id")
    ledger.refuse_closed_year(lab.id, {year})
    pool = ledger.account(lab.id, "pool", year, agency.id)
    accounts = _family_accounts(family, agency.id, year)
    locked = ledger.lock_accounts([pool.id, accounts["allocation"].id])
    if locked[pool.id].balance < amount:
        raise ServiceError(_("Ikke nok ufordelte midler fra %(agency)s i %(year)s: %(left)s er igjen.",
                             agency=agency.name, year=year, left=format_nok(locked[pool.id].balance)), "amount")
    transfer = ledger.post("allocation", pool, accounts["allocation"], amount, lab_id=lab.id,
                           actor_id=actor.id if actor else None, at=at)
    audit.record(AuditAction.BUDGET_ALLOCATE, actor=actor, lab_id=lab.id, family_id=family.id,
                 object_type="ledger_transfer",
                 object_id=transfer.id, summary={"agency_id": agency.id, "year": year, "amount": amount})
    return transfer


def return_allocation(lab: Lab, *, family_id: int, agency_id: int, year: int, amount: int, actor: User,
                      at: datetime | None = None) -> LedgerTransfer:
    """Move unused allocation back to the pool: allocation → pool. Committed money stays."""
    family = _allocatable_family(lab.id, family_id)
    agency = _lab_agency(lab.id, agency_id)
    check_year(year)
    check_amount(amount)
    ledger.refuse_closed_year(lab.id, {year})
    pool = ledger.account(lab.id, "pool", year, agency.id)
    allocation = ledger.account(lab.id, "allocation", year, agency.id, family.id)
    locked = ledger.lock_accounts([pool.id, allocation.id])
    if locked[allocation.id].balance < amount:
        raise ServiceError(_("Familien har bare %(left)s ubrukt fra %(agency)s i %(year)s.",
                             left=format_nok(locked[allocation.id].balance), agency=agency.name, year=year),
                           "amount")
    transfer = ledger.post("allocation_return", allocation, pool, amount, lab_id=lab.id, actor_id=actor.id, at=at)
    audit.record(AuditAction.BUDGET_ALLOCATION_RETURN, actor=actor, lab_id=lab.id, family_id=family.id,
                 object_type="ledger_transfer", object_id=transfer.id,
                 summary={"agency_id": agency.id, "year": year, "amount": amount})
    return transfer


# --- funding: whose money a spend uses (issue 17) ----------------------------------------------

# A theme's default agency, by agency kind in order of preference, for a lab that has not chosen
# one (``ThemeAgencyDefault``). Copied into migration e17a0a000001 for the existing requests.
THEME_AGENCY_KINDS: dict[str, tuple[str, ...]] = {
    "bolig": ("bolig", "nav"), "arbeid": ("nav",), "skole": ("skole", "barnevern"),
    "nettverk": ("nav", "barnevern"), "okonomi": ("okonomi", "nav"), "helse": ("helse", "rus"),
    "oppvekst": ("barnevern", "skole"),
}
MAX_FUNDING_PARTS = 10


def theme_defaults(lab_id: int) -> dict[str, int | None]:
    """Each theme's default funding agency in the lab: the lab's choice, else the first of the
    lab's agencies (by id) of the kind ``THEME_AGENCY_KINDS`` prefers, else None."""
    agencies = list(db.session.execute(select(Agency.id, Agency.kind).where(Agency.lab_id == lab_id)
                                       .order_by(Agency.id)))
    chosen = dict(db.session.execute(select(ThemeAgencyDefault.theme, ThemeAgencyDefault.agency_id)
                                     .where(ThemeAgencyDefault.lab_id == lab_id)).all())
    out: dict[str, int | None] = {}
    for theme in THEME_CODES:
        by_kind = (a for kind in THEME_AGENCY_KINDS.get(theme, ()) for a, k in agencies if k == kind)
        out[theme] = chosen.get(theme) or next(by_kind, None)
    return out


def set_theme_defaults(lab: Lab, defaults: dict, *, actor: User) -> dict[str, int | None]:
    """Choose the default funding agency per theme (None: back to the default by agency kind)."""
    for theme, agency_id in defaults.items():
        if theme not in THEME_CODES:
            raise ServiceError(_("Ukjent tema."), theme)
        if agency_id is not None:
            _lab_agency(lab.id, agency_id, theme)
    for theme, agency_id in defaults.items():
        row = db.session.scalar(select(ThemeAgencyDefault).where(ThemeAgencyDefault.lab_id == lab.id,
                                                                 ThemeAgencyDefault.theme == theme))
        if agency_id is None:
            if row is not None:
                db.session.delete(row)
        elif row is None:
            db.session.add(ThemeAgencyDefault(lab_id=lab.id, theme=theme, agency_id=agency_id))
        else:
            row.agency_id = agency_id
    db.session.flush()
    audit.record(AuditAction.BUDGET_RULES_UPDATE, actor=actor, lab_id=lab.id, object_type="theme_agency_default",
                 summary={"defaults": {t: a for t, a in defaults.items()}})
    return theme_defaults(lab.id)


@dataclass(frozen=True)
class AgencyMoney:
    """One agency's money for a family in a year, in øre: allocated (net of returns) and left."""

    agency_id: int
    name: str
    allocated: int
    left: int


def family_money_by_agency(family_id: int, year: int) -> dict[int, AgencyMoney]:
    """What each agency has allocated to the family in the year, and what of it is left."""
    sums: dict[int, dict[str, int]] = {}
    names: dict[int, str] = {}
    for agency_id, name, kind, balance in db.session.execute(
            select(LedgerAccount.agency_id, Agency.name, LedgerAccount.kind, LedgerAccount.balance)
            .join(Agency, Agency.id == LedgerAccount.agency_id)
            .where(LedgerAccount.family_id == family_id, LedgerAccount.year == year)):
        sums.setdefault(agency_id, {})[kind] = int(balance)
        names[agency_id] = name
    return {a: AgencyMoney(a, names[a], sum(k.values()), k.get("allocation", 0))
            for a, k in sorted(sums.items(), key=lambda item: names[item[0]])}


def propose_funding(lab_id: int, family_id: int, year: int, theme: str, amount: int) -> list[dict]:
    """One agency to fund the whole amount: the theme's default agency if it has enough left for
    the family; else the agency with most left, if that is enough; else the theme's default if it
    gave the family anything, else the agency that gave most; else the theme's default. Empty
    when the lab has no agency at all."""
    default = theme_defaults(lab_id).get(theme)
    money = family_money_by_agency(family_id, year)
    given = [m for m in money.values() if m.allocated > 0]
    richest = max(given, key=lambda m: (m.left, m.allocated, -m.agency_id), default=None)
    if default in money and money[default].left >= amount:
        choice: int | None = default
    elif richest is not None and (richest.left >= amount or default not in money):
        choice = richest.agency_id
    else:
        choice = default if default is not None else db.session.scalar(
            select(Agency.id).where(Agency.lab_id == lab_id).order_by(Agency.id).limit(1))
    return [] if choice is None else [{"agency": choice, "amount": amount}]


def _clean_part(lab_id: int, raw, index: int) -> tuple[int, int]:
    field = f"funding.{index}"
    if not isinstance(raw, dict) or set(raw) - {"agency", "amount"}:
        raise ServiceError(_("Hver del av finansieringen oppgir en etat og et beløp."), field)
    agency = _lab_agency(lab_id, raw.get("agency"), f"{field}.agency")
    return agency.id, check_amount(raw.get("amount"), f"{field}.amount")


def clean_funding(lab_id: int, amount: int, funding) -> list[tuple[int, int]]:
    """The funding as (agency id, øre) pairs: each a lab agency, once, and together the amount."""
    if not isinstance(funding, list) or not funding:
        raise ServiceError(_("Oppgi hvilken etat som betaler."), "funding")
    if len(funding) > MAX_FUNDING_PARTS:
        raise ServiceError(_("For mange etater i finansieringen."), "funding")
    parts = [_clean_part(lab_id, raw, i) for i, raw in enumerate(funding)]
    seen: set[int] = set()
    for i, (agency_id, _part) in enumerate(parts):
        if agency_id in seen:
            raise ServiceError(_("Samme etat er oppgitt to ganger."), f"funding.{i}.agency")
        seen.add(agency_id)
    total = sum(part for _agency, part in parts)
    if total != amount:
        raise ServiceError(_("Finansieringen blir til sammen %(total)s, men beløpet er %(amount)s. Fordelingen "
                             "må gå opp.", total=format_nok(total), amount=format_nok(amount)), "funding")
    return parts


def check_funding_money(family_id: int, year: int, parts: list[tuple[int, int]]) -> None:
    """Each funding agency has given the family an allocation this year, with enough left."""
    money = family_money_by_agency(family_id, year)
    for i, (agency_id, part) in enumerate(parts):
        found = money.get(agency_id)
        if found is None or found.allocated <= 0:
            name = db.session.get(Agency, agency_id).name  # type: ignore[union-attr]  # cleaned: it exists
            raise ServiceError(_("Familien har ingen tildeling fra %(agency)s i %(year)s. Velg en etat som har "
                                 "tildelt familien midler.", agency=name, year=year), f"funding.{i}.agency")
        if found.left < part:
            raise ServiceError(_("%(agency)s har bare %(left)s igjen for familien i %(year)s; du ba om "
                                 "%(part)s.", agency=found.name, left=format_nok(found.left), year=year,
                                 part=format_nok(part)), f"funding.{i}.amount")


def _resolve_funding(spend: SpendRequest, given, clean: dict) -> list[tuple[int, int]] | None:
    """The funding a saved spend gets: what was given (checked, money too); else the spend's own
    funding when one agency pays (it follows a changed amount) or the amount is unchanged; else
    the proposal. None: keep as it is."""
    amount = clean["amount"]
    if given is not None:
        parts = clean_funding(spend.lab_id, amount, given)
        check_funding_money(spend.family_id, spend.budget_year, parts)
        return parts
    current = [(f.agency_id, f.amount) for f in spend.funding]
    if current and sum(p for _a, p in current) == amount:
        return None
    if len(current) == 1:
        return [(current[0][0], amount)]
    if len(current) > 1:
        raise ServiceError(_("Beløpet er endret, og finansieringen går ikke lenger opp. Oppgi fordelingen på "
                             "etatene på nytt."), "funding")
    proposal = propose_funding(spend.lab_id, spend.family_id, spend.budget_year, clean["theme"], amount)
    return [(p["agency"], p["amount"]) for p in proposal]


def _store_funding(spend: SpendRequest, parts: list[tuple[int, int]] | None) -> None:
    if parts is None:
        return
    if spend.funding:
        spend.funding.clear()
        db.session.flush()  # the old rows go before the new ones (one row per agency)
    spend.funding.extend(SpendFunding(agency_id=agency_id, amount=part) for agency_id, part in parts)


def funding_out(spend: SpendRequest) -> list[dict]:
    return [{"agency": f.agency_id, "amount": f.amount} for f in spend.funding]


# --- spend requests: making them -----------------------------------------------------------------

SPEND_FIELDS = ("amount", "payee", "purpose", "category", "theme", "goal_id", "expected_effect", "level_from",
                "level_to", "expected_level_change", "wanted_on")


def _expected_change(change, level_from: int | None) -> int | None:
    """The expected level change within 6 months of payment (predicted versus actual, issue 14):
    optional; 0 (hold the level) to 3, and from the level now, no higher than the top level."""
    if change is None:
        return None
    if change not in (0, 1, 2, 3) or isinstance(change, bool):
        raise ServiceError(_("Velg en endring fra 0 til 3 nivåer."), "expected_level_change")
    if level_from is not None and level_from + change > 4:
        if level_from == 4:
            raise ServiceError(_("Familien er alt på øverste nivå i temaet: velg «Holde nivået»."),
                               "expected_level_change")
        raise ServiceError(ngettext("Fra nivået nå kan familien gå opp høyst %(num)d nivå.",
                                    "Fra nivået nå kan familien gå opp høyst %(num)d nivåer.", 4 - level_from),
                           "expected_level_change")
    return int(change)


def _clean_spend(family_id: int, data: dict) -> dict:
    clean: dict[str, Any] = {"amount": check_amount(data.get("amount"))}
    clean["payee"] = _text(data.get("payee"), "payee", 200)
    clean["purpose"] = _text(data.get("purpose"), "purpose", 1000)
    clean["expected_effect"] = _text(data.get("expected_effect"), "expected_effect", 1000)
    if data.get("category") not in SPEND_CATEGORIES:
        raise ServiceError(_("Velg en kategori."), "category")
    clean["category"] = data["category"]
    if data.get("theme") not in THEME_CODES:
        raise ServiceError(_("Velg et tema."), "theme")
    clean["theme"] = data["theme"]
    goal_id = data.get("goal_id")
    goal = db.session.get(Goal, goal_id) if isinstance(goal_id, int) and not isinstance(goal_id, bool) else None
    if goal is None or goal.family_id != family_id:
        raise ServiceError(_("Velg et av familiens mål."), "goal_id")
    if goal.theme != clean["theme"]:
        # A spend is counted in the outcome report under its theme: it must serve a goal of that theme.
        raise ServiceError(_("Målet hører til temaet «%(goal_theme)s», ikke «%(theme)s». Velg et mål i samme tema "
                             "som utgiften.", goal_theme=THEME_BY_CODE[goal.theme].name,
                             theme=THEME_BY_CODE[clean["theme"]].name), "goal_id")
    clean["goal_id"] = goal.id
    level_to, level_from = data.get("level_to"), data.get("level_from")
    if level_to not in (1, 2, 3, 4) or isinstance(level_to, bool):
        raise ServiceError(_("Velg nivået dere håper på."), "level_to")
    if level_from is not None and (level_from not in (1, 2, 3, 4) or isinstance(level_from, bool)):
        raise ServiceError(_("Ugyldig nivå."), "level_from")
    if level_from is not None and level_to < level_from:
        raise ServiceError(_("Håpet nivå kan ikke være lavere enn nivået nå."), "level_to")
    clean["level_from"], clean["level_to"] = level_from, level_to
    clean["expected_level_change"] = _expected_change(data.get("expected_level_change"), level_from)
    wanted_on = data.get("wanted_on")
    if not isinstance(wanted_on, date) or not 2000 <= wanted_on.year <= 2100:
        raise ServiceError(_("Oppgi en gyldig dato."), "wanted_on")
    clean["wanted_on"] = wanted_on
    return clean


def _split_funding(data: dict) -> tuple[dict, Any]:
    """The spend's fields, and its ``funding`` (None when not given); any other key is refused."""
    unknown = set(data) - set(SPEND_FIELDS) - {"funding"}
    if unknown:
        raise ServiceError(_("Ukjent felt."), sorted(unknown)[0])
    return {k: v for k, v in data.items() if k != "funding"}, data.get("funding")


def _require_member(user: User, family_id: int) -> Access:
    """A current team member with consent for their agency, or the family's audited 404 (off the
    team) or 403 (gated: the request names a goal, which a gated member may not see)."""
    access = gate.family_access(user, family_id)
    if access is None:
        gate.deny(family_id)
    access.require_consent()
    return access


def _seen_theme(access: Access, clean: dict) -> dict:
    """A spend is written in its theme (its goal's): the requester's agency must hold consent for the
    household's matters of that theme (issue 15), or nothing is stored (403 on ``theme``)."""
    access.require_may_write(None, clean["theme"], "spend", "theme")
    return clean


def create_spend(family_id: int, requester: User, data: dict, *, budget_year: int | None = None,
                 submit: bool = False, at: datetime | None = None) -> SpendRequest:
    """A team member's spend request, as a draft (or submitted at once with ``submit``)."""
    access = _require_member(requester, family_id)
    family = access.family
    data, funding = _split_funding(data)
    clean = _seen_theme(access, _clean_spend(family_id, data))
    year = today_local().year if budget_year is None else check_year(budget_year, "budget_year")
    if abs(year - today_local().year) > 1:
        raise ServiceError(_("Budsjettåret må være i fjor, i år eller neste år."), "budget_year")
    ledger.refuse_closed_year(family.lab_id, {year})
    spend = SpendRequest(lab_id=family.lab_id, family_id=family_id, budget_year=year, requester_id=requester.id,
                         status="draft", created_at=at or utcnow(), **clean)
    _store_funding(spend, _resolve_funding(spend, funding, clean))
    db.session.add(spend)
    db.session.flush()
    audit.record(AuditAction.SPEND_CREATE, actor=requester, family_id=family_id, object_type="spend_request",
                 object_id=spend.id, summary={"amount": spend.amount, "category": spend.category,
                                               "theme": spend.theme, "goal_id": spend.goal_id,
                                               "funding": funding_out(spend)})
    if submit:
        submit_spend(spend.id, requester, at=at)
    return spend


def update_draft(spend: SpendRequest, actor: User, data: dict) -> SpendRequest:
    """Change a draft: its requester, or the family's investment lead (who then may not approve it:
    ``edited_by_id``). Once sent, a request is never edited: nothing here touches it (422)."""
    if not policy.can(actor, "edit", spend):
        raise ForbiddenError(_("Bare den som laget forespørselen, eller investeringslederen, kan endre den."),
                             "requester")
    if spend.status != "draft":
        field = "amount" if "amount" in data else (sorted(data)[0] if data else "status")
        raise ServiceError(_("Forespørselen er sendt og kan ikke endres. Avbryt den og lag en ny."), field)
    access = _require_member(actor, spend.family_id)
    if actor.id != spend.requester_id and spend.edited_by_id not in (None, actor.id):
        # One helper besides the requester, so the one who may not approve is always on record.
        raise ForbiddenError(_("En annen investeringsleder har allerede endret utkastet."), "requester")
    data, funding = _split_funding(data)
    merged = {name: getattr(spend, name) for name in SPEND_FIELDS} | data
    clean = _seen_theme(access, _clean_spend(spend.family_id, merged))
    changed = sorted(name for name, value in clean.items() if getattr(spend, name) != value)
    before = funding_out(spend)
    parts = _resolve_funding(spend, funding, clean)
    for name, value in clean.items():
        setattr(spend, name, value)
    _store_funding(spend, parts)
    if funding_out(spend) != before:
        changed.append("funding")
    if actor.id != spend.requester_id and changed:
        spend.edited_by_id = actor.id
    db.session.flush()
    audit.record(AuditAction.SPEND_UPDATE, actor=actor, family_id=spend.family_id, object_type="spend_request",
                 object_id=spend.id, summary={"fields": changed, "funding": funding_out(spend)})
    return spend


def revision_of(spend: SpendRequest) -> SpendRequest | None:
    """The newer version that revises ``spend``, if any."""
    return db.session.scalar(select(SpendRequest).where(SpendRequest.revises_id == spend.id))


def versions(spend: SpendRequest) -> list[SpendRequest]:
    """Every version of the request ``spend`` belongs to, oldest first (one query per version; a
    request is revised a handful of times at most)."""
    chain = [spend]
    while chain[0].revises is not None:
        chain.insert(0, chain[0].revises)
    newer = revision_of(chain[-1])
    while newer is not None:
        chain.append(newer)
        newer = revision_of(newer)
    return chain


def revise_spend(spend_id: int, actor: User, data: dict, *, submit: bool = False,
                 at: datetime | None = None) -> SpendRequest:
    """A new version of a rejected request, as a draft (or sent at once with ``submit``).

    The rejected request stays as it was — its status, reason and decisions are its history — and
    reserved nothing (a rejection moves no money). The new version copies its fields, changed by
    ``data``, names it (``revises_id``) and is checked like any new request; it reserves money only
    when it is approved. Its requester, or the family's investment lead, may revise; whoever does
    is the new version's requester (and so may not approve it). One revision per request: a second
    is 409, as is revising a request that was not rejected.
    """
    old = lock_spend(spend_id)
    _in_reach(actor, old)
    if not policy.can(actor, "revise", old):
        raise ForbiddenError(_("Bare den som ba om utgiften, eller investeringslederen, kan revidere den."),
                             "requester")
    access = _require_member(actor, old.family_id)
    if old.status != "rejected":
        raise ConflictError(_("Bare en avslått forespørsel kan revideres."), "status")
    newer = revision_of(old)
    if newer is not None:
        raise ConflictError(_("Forespørselen er allerede revidert (versjon %(n)s).", n=newer.version), "status")
    data, funding = _split_funding(data)
    clean = _seen_theme(access, _clean_spend(old.family_id, {name: getattr(old, name) for name in SPEND_FIELDS}
                                             | data))
    spend = SpendRequest(lab_id=old.lab_id, family_id=old.family_id, budget_year=old.budget_year,
                         requester_id=actor.id, status="draft", created_at=at or utcnow(),
                         version=old.version + 1, revises_id=old.id, **clean)
    # The new version carries the rejected one's funding unless the body names another.
    _store_funding(spend, [(f.agency_id, f.amount) for f in old.funding])
    _store_funding(spend, _resolve_funding(spend, funding, clean))
    db.session.add(spend)
    db.session.flush()
    changed = sorted(name for name, value in clean.items() if getattr(old, name) != value)
    if funding_out(spend) != funding_out(old):
        changed.append("funding")
    audit.record(AuditAction.SPEND_REVISE, actor=actor, family_id=spend.family_id, object_type="spend_request",
                 object_id=spend.id, summary={"revises": old.id, "version": spend.version, "amount": spend.amount,
                                               "fields": changed, "funding": funding_out(spend)})
    if submit:
        submit_spend(spend.id, actor, at=at)
    return spend


def lock_spend(spend_id: int) -> SpendRequest:
    """The spend request, locked for this transaction (``SELECT … FOR UPDATE``), or 404."""
    # Its funding, with the funding agencies, comes in the same statement (every decision reads them,
    # and the answer names them); only the request row is locked.
    spend = db.session.scalars(select(SpendRequest).where(SpendRequest.id == spend_id)
                               .options(joinedload(SpendRequest.funding).joinedload(SpendFunding.agency))
                               .with_for_update(of=SpendRequest)
                               .execution_options(populate_existing=True)).unique().first()
    if spend is None:
        gate.deny(None, AuditAction.SPEND_DENIED)
    return spend


def submit_spend(spend_id: int, actor: User, *, at: datetime | None = None) -> SpendRequest:
    """Send a draft for approval; the authority rules in force choose the queue."""
    spend = lock_spend(spend_id)
    _require_member(actor, spend.family_id)
    if not policy.can(actor, "submit", spend):
        raise ForbiddenError(_("Bare den som laget forespørselen kan sende den."), "requester")
    if spend.status != "draft":
        raise ConflictError(_("Forespørselen er allerede sendt."), "status")
    ledger.refuse_closed_year(spend.lab_id, {spend.budget_year})
    available = ledger.family_balance(spend.family_id, spend.budget_year).available
    if spend.amount > available:
        raise ServiceError(_("Familien har %(left)s tilgjengelig i %(year)s; forespørselen gjelder %(amount)s.",
                             left=format_nok(available), year=spend.budget_year, amount=format_nok(spend.amount)),
                           "amount")
    parts = clean_funding(spend.lab_id, spend.amount, funding_out(spend))
    check_funding_money(spend.family_id, spend.budget_year, parts)
    spend.route = _route(spend)
    spend.status = "requested"
    spend.submitted_at = at or utcnow()
    db.session.flush()
    audit.record(AuditAction.SPEND_SUBMIT, actor=actor, family_id=spend.family_id, object_type="spend_request",
                 object_id=spend.id, summary={"route": spend.route, "amount": spend.amount})
    events.spend_changed(spend)
    return spend


# --- spend requests: deciding --------------------------------------------------------------------

def _in_reach(actor: User, spend: SpendRequest) -> None:
    """Anyone who may not even see the request — a lead of another team, staff of another lab —
    gets the family's audited 404 before anything else is said about it."""
    if not policy.can(actor, "see", spend):
        gate.deny(spend.family_id, AuditAction.SPEND_DENIED)


DENIED_ACTIONS = {"approve": AuditAction.SPEND_APPROVE_DENIED, "reject": AuditAction.SPEND_REJECT_DENIED,
                  "pay": AuditAction.SPEND_PAY_DENIED, "cancel": AuditAction.SPEND_CANCEL_DENIED}
REFUSALS = {
    ("approve", "own_request"): _l("Du kan ikke godkjenne din egen forespørsel."),
    ("approve", "second_approval_same_person"): _l("Du har allerede godkjent. En annen leder må også godkjenne."),
    ("approve", "edited_draft"): _l("Du har endret utkastet og kan derfor ikke godkjenne det."),
    ("approve", "not_decider"): _l("Beløpet er over fullmakten din, eller du er ikke investeringsleder for familien."),
    ("approve", "over_authority"): _l("Beløpet er over fullmakten din, eller du er ikke investeringsleder for "
                                      "familien."),
    ("reject", "own_request"): _l("Du kan ikke avslå din egen forespørsel; avbryt den i stedet."),
    ("reject", "not_decider"): _l("Forespørselen avgjøres av investeringslederen eller ledelsen."),
    ("pay", "not_settler"): _l("Bare investeringslederen eller ledelsen registrerer betaling."),
    ("cancel", "not_allowed"): _l("Bare den som ba om utgiften, investeringslederen eller ledelsen kan avbryte den."),
}


def _require(actor: User, operation: str, spend: SpendRequest) -> None:
    """The policy's answer for ``operation``; a no is a 403 with an audit row that survives the
    request's rollback."""
    decision = policy.check(actor, operation, spend)
    if not decision:
        _forbid(actor, spend, operation, decision.reason)


def _forbid(actor: User, spend: SpendRequest, operation: str, reason: str) -> NoReturn:
    audit.record_even_if_request_fails(DENIED_ACTIONS[operation], actor=actor, lab_id=spend.lab_id,
                                       family_id=spend.family_id, object_type="spend_request",
                                       object_id=spend.id, summary={"reason": reason})
    raise ForbiddenError(str(REFUSALS[(operation, reason)]), "approver" if operation in ("approve", "reject")
                         else "user")


def _replayed(actor: User, key: str | None, operation: str, spend: SpendRequest) -> bool:
    """True when this exact operation was already done with this key (a replay: do nothing)."""
    if key is None:
        return False
    row = db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.user_id == actor.id,
                                                         IdempotencyKey.key == key))
    if row is None:
        return False
    if row.operation != operation or row.spend_request_id != spend.id:
        raise ServiceError(_("Idempotency-Key er allerede brukt til en annen handling."), "idempotency_key")
    return True


def _remember(actor: User, key: str | None, operation: str, spend: SpendRequest, at: datetime | None) -> None:
    if key is not None:
        db.session.add(IdempotencyKey(user_id=actor.id, key=key, operation=operation, spend_request_id=spend.id,
                                      created_at=at or utcnow()))


STATUS_CONFLICTS = {
    "draft": _l("Forespørselen er ikke sendt ennå."),
    "requested": _l("Forespørselen venter fortsatt på godkjenning."),
    "approved": _l("Forespørselen er allerede godkjent."),
    "rejected": _l("Forespørselen er avslått."),
    "paid": _l("Forespørselen er allerede betalt."),
    "cancelled": _l("Forespørselen er avbrutt."),
}


def _expect_status(spend: SpendRequest, *allowed: str) -> None:
    if spend.status not in allowed:
        raise ConflictError(str(STATUS_CONFLICTS[spend.status]), "status")


@dataclass
class FamilyMoney:
    """The family's allocation and committed accounts for a budget year, and the pools of the
    agencies funding the spend, locked for this transaction."""

    allocations: dict[int, LedgerAccount]  # by agency
    committed: dict[int, LedgerAccount]
    locked: dict[int, LedgerAccount]


def _lock_family_money(spend: SpendRequest) -> FamilyMoney:
    """Lock the family's money for the spend's year and the funding agencies' pools (``SELECT …
    FOR UPDATE``, in id order), before anything is read that a limit depends on: two approvals for
    one family then run one after the other, so a limit per family per year holds however many
    arrive at once; and two approvals drawing on one agency's money (for any families) do too, so
    a limit per agency per year holds."""
    year = spend.budget_year
    rows = ledger.lock_family_and_pools(spend.lab_id, spend.family_id, year, [f.agency_id for f in spend.funding])
    allocations = {a.agency_id: a for a in rows if a.kind == "allocation"}
    funders = {f.agency_id for f in spend.funding if f.agency_id in allocations}
    committed = {a.agency_id: a for a in rows
                 if a.kind == "committed" and a.family_id == spend.family_id and a.agency_id in funders}
    return FamilyMoney(allocations, committed, {a.id: a for a in rows})


def _reserve(spend: SpendRequest, money: FamilyMoney, actor: User, at: datetime | None) -> None:
    """Move each funded part from that agency's allocation for the family to committed."""
    allocations, committed, locked = money.allocations, money.committed, money.locked
    available = sum(locked[a.id].balance for a in allocations.values())
    if available < spend.amount:
        raise ServiceError(_("Ikke nok midler: familien har %(left)s tilgjengelig, forespørselen gjelder %(amount)s.",
                             left=format_nok(available), amount=format_nok(spend.amount)), "amount")
    parts = clean_funding(spend.lab_id, spend.amount, funding_out(spend))
    check_funding_money(spend.family_id, spend.budget_year, parts)  # the balances it reads are locked
    for agency_id, part in parts:
        ledger.post("reserve", allocations[agency_id], committed[agency_id], part, lab_id=spend.lab_id,
                    actor_id=actor.id, spend_request_id=spend.id, at=at)


def approve_spend(spend_id: int, actor: User, *, idempotency_key: str | None = None,
                  at: datetime | None = None) -> tuple[SpendRequest, bool]:
    """Approve a request; the final approval reserves the money (allocation → committed).

    Returns ``(spend, replayed)``: a replay with the same ``idempotency_key`` changes nothing.
    """
    key = _check_idempotency_key(idempotency_key)
    spend = lock_spend(spend_id)
    _in_reach(actor, spend)
    if _replayed(actor, key, "approve", spend):
        return spend, True
    _expect_status(spend, "requested")
    # The policy reads the decisions: from the database, not a (possibly stale) collection — the
    # row lock makes them current.
    db.session.expire(spend, ["decisions"])
    _require(actor, "approve", spend)
    earlier = [d for d in spend.decisions if d.decision == "approve"]
    ledger.refuse_closed_year(spend.lab_id, {spend.budget_year})
    money = _lock_family_money(spend)  # before the authority reads what was approved this year
    authority = authority_for(actor, spend)
    if authority is None:
        _forbid(actor, spend, "approve", "over_authority")
    final = len(earlier) + 1 >= authority.rule.approvals_required
    now = at or utcnow()
    if final:
        _reserve(spend, money, actor, at)
        spend.status = "approved"
        spend.decided_at = now
        spend.approved_role = authority.role
    spend.decisions.append(SpendDecision(decision="approve", user_id=actor.id, role=authority.role,
                                         rule_id=authority.rule.id, rule_version=authority.version, final=final,
                                         created_at=now))
    _remember(actor, key, "approve", spend, at)
    db.session.flush()
    audit.record(AuditAction.SPEND_APPROVE if final else AuditAction.SPEND_APPROVE_FIRST, actor=actor,
                 family_id=spend.family_id, object_type="spend_request", object_id=spend.id,
                 summary={"amount": spend.amount, "role": authority.role, "rule_id": authority.rule.id,
                          "rule_version": authority.version, "final": final,
                          "rule_ids": sorted({r.id for r in authority.rules}), "funding": funding_out(spend)})
    events.spend_changed(spend)
    return spend, False


def reject_spend(spend_id: int, actor: User, *, reason: str, idempotency_key: str | None = None,
                 at: datetime | None = None) -> tuple[SpendRequest, bool]:
    """Reject a waiting request with a reason. Nothing was reserved, so no money moves."""
    key = _check_idempotency_key(idempotency_key)
    spend = lock_spend(spend_id)
    _in_reach(actor, spend)
    if _replayed(actor, key, "reject", spend):
        return spend, True
    _expect_status(spend, "requested")
    reason = _text(reason, "reason", 500)
    _require(actor, "reject", spend)
    role = spend_policy.reject_capacity(actor, spend)
    now = at or utcnow()
    spend.status = "rejected"
    spend.rejection_reason = reason
    spend.decided_at = now
    spend.decisions.append(SpendDecision(decision="reject", user_id=actor.id, role=role, final=True,
                                         reason=reason, created_at=now))
    _remember(actor, key, "reject", spend, at)
    db.session.flush()
    audit.record(AuditAction.SPEND_REJECT, actor=actor, family_id=spend.family_id, object_type="spend_request",
                 object_id=spend.id, summary={"role": role})
    events.spend_changed(spend)
    return spend, False


def pay_spend(spend_id: int, actor: User, *, paid_on: date, reference: str, idempotency_key: str | None = None,
              at: datetime | None = None) -> tuple[SpendRequest, bool]:
    """Record that an approved spend was paid: committed → paid, agency by agency."""
    key = _check_idempotency_key(idempotency_key)
    spend = lock_spend(spend_id)
    _in_reach(actor, spend)
    if _replayed(actor, key, "pay", spend):
        return spend, True
    _expect_status(spend, "approved")
    _require(actor, "pay", spend)
    reference = _text(reference, "reference", 100)
    if not isinstance(paid_on, date):
        raise ServiceError(_("Oppgi betalingsdatoen."), "paid_on")
    if paid_on > today_local():  # the date staff typed is an Oslo date
        raise ServiceError(_("Betalingsdatoen kan ikke være fram i tid."), "paid_on")
    if spend.submitted_at is not None and paid_on < spend.submitted_at.date():
        raise ServiceError(_("Betalingsdatoen kan ikke være før forespørselen ble sendt."), "paid_on")
    # What is committed now, per agency (after a year-end carry: in the next year's accounts).
    parts = ledger.spend_commitments(spend.id)
    paid = {c.id: ledger.account(spend.lab_id, "paid", c.year, c.agency_id, spend.family_id) for c, _ in parts}
    ledger.lock_accounts([c.id for c, _ in parts] + [a.id for a in paid.values()])
    for committed, _amount in parts:  # before anything moves: a locked period refuses the payment
        vouchers.refuse_locked(spend.lab_id, committed, paid_on, "paid_on")
    transfers = [ledger.post("payment", committed, paid[committed.id], amount, lab_id=spend.lab_id,
                             actor_id=actor.id, spend_request_id=spend.id, at=at) for committed, amount in parts]
    vouchers.write_lines(spend, transfers, kind="payment", day=paid_on, field="paid_on")
    spend.status = "paid"
    spend.paid_on = paid_on
    spend.payment_reference = reference
    spend.paid_by_id = actor.id
    _remember(actor, key, "pay", spend, at)
    db.session.flush()
    audit.record(AuditAction.SPEND_PAY, actor=actor, family_id=spend.family_id, object_type="spend_request",
                 object_id=spend.id, summary={"amount": spend.amount})
    events.spend_changed(spend)
    return spend, False


def release_commitments(spend: SpendRequest, *, actor_id: int | None, at: datetime | None,
                        closing: bool = False) -> int:
    """Give an approved spend's reserved money back to the family (committed → allocation of the
    same agency and year); returns the amount released."""
    parts = ledger.spend_commitments(spend.id)
    allocations = {c.id: ledger.account(spend.lab_id, "allocation", c.year, c.agency_id, spend.family_id)
                   for c, _ in parts}
    ledger.lock_accounts([c.id for c, _ in parts] + [a.id for a in allocations.values()])
    for committed, amount in parts:
        ledger.post("release", committed, allocations[committed.id], amount, lab_id=spend.lab_id,
                    actor_id=actor_id, spend_request_id=spend.id, at=at, closing=closing)
    return sum(amount for _, amount in parts)


def cancel_spend(spend_id: int, actor: User, *, reason: str, idempotency_key: str | None = None,
                 at: datetime | None = None) -> tuple[SpendRequest, bool]:
    """Cancel a draft, a waiting or an approved request; approved money goes back (committed → allocation)."""
    key = _check_idempotency_key(idempotency_key)
    spend = lock_spend(spend_id)
    _in_reach(actor, spend)
    if _replayed(actor, key, "cancel", spend):
        return spend, True
    _expect_status(spend, "draft", "requested", "approved")
    _require(actor, "cancel", spend)
    reason = _text(reason, "reason", 500)
    was = spend.status
    if was == "approved":
        release_commitments(spend, actor_id=actor.id, at=at)
    spend.status = "cancelled"
    spend.cancellation_reason = reason
    spend.cancelled_at = at or utcnow()
    spend.cancelled_by_id = actor.id
    _remember(actor, key, "cancel", spend, at)
    db.session.flush()
    audit.record(AuditAction.SPEND_CANCEL, actor=actor, family_id=spend.family_id, object_type="spend_request",
                 object_id=spend.id, summary={"was": was, "released": spend.amount if was == "approved" else 0})
    return spend, False


def reverse_payment(spend_id: int, actor: User, *, reason: str, reversed_on: date | None = None,
                    idempotency_key: str | None = None, at: datetime | None = None) -> tuple[SpendRequest, bool]:
    """Take back a paid spend (the payee refunded it, or it was paid in error): paid → allocation,
    agency by agency, and a reversal voucher line per agency, booked in the first open period from
    ``reversed_on``'s (today by default) on. The payment's own lines are never changed, so a payment
    in an exported (locked) period is corrected in the next open one. A closed budget year refuses
    it (409). The spend ends cancelled."""
    key = _check_idempotency_key(idempotency_key)
    spend = lock_spend(spend_id)
    _in_reach(actor, spend)
    if _replayed(actor, key, "reverse", spend):
        return spend, True
    _expect_status(spend, "paid")
    _require(actor, "pay", spend)
    reason = _text(reason, "reason", 500)
    day = today_local() if reversed_on is None else reversed_on
    if not isinstance(day, date) or day > today_local():
        raise ServiceError(_("Datoen for tilbakeføringen kan ikke være fram i tid."), "reversed_on")
    if spend.paid_on is not None and day < spend.paid_on:
        raise ServiceError(_("Tilbakeføringen kan ikke være før betalingsdatoen."), "reversed_on")
    parts = ledger.spend_commitments(spend.id, kind="paid")
    ledger.refuse_closed_year(spend.lab_id, {p.year for p, _ in parts})
    allocations = {p.id: ledger.account(spend.lab_id, "allocation", p.year, p.agency_id, spend.family_id)
                   for p, _ in parts}
    ledger.lock_accounts([p.id for p, _ in parts] + [a.id for a in allocations.values()])
    transfers = [ledger.post("payment_reversal", paid, allocations[paid.id], amount, lab_id=spend.lab_id,
                             actor_id=actor.id, spend_request_id=spend.id, at=at) for paid, amount in parts]
    vouchers.write_lines(spend, transfers, kind="reversal", day=day, field="reversed_on")
    spend.status = "cancelled"
    spend.cancellation_reason = reason
    spend.cancelled_at = at or utcnow()
    spend.cancelled_by_id = actor.id
    _remember(actor, key, "reverse", spend, at)
    db.session.flush()
    audit.record(AuditAction.SPEND_PAYMENT_REVERSE, actor=actor, family_id=spend.family_id,
                 object_type="spend_request", object_id=spend.id,
                 summary={"amount": sum(amount for _, amount in parts), "period": vouchers.period_of(day)})
    return spend, False
