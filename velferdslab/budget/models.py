"""Delegated budgets: the ledger (accounts and immutable transfers), delegations, authority rules,
spend requests and their decisions.

The ledger is double-entry in the TigerBeetle sense: a transfer moves a positive integer number of
øre from one account (debit) to another (credit), so every transfer's debits equal its credits and
the balances of all accounts always sum to zero. ``ledger_account.balance`` is maintained by a
database trigger on every inserted transfer (see the migration) and bounded by a CHECK constraint,
so no statement — ORM or raw SQL — can overspend or drive a balance below zero. Transfers are never
updated or deleted (refused by triggers); a correction is a new transfer.

Money flows, per budget year and agency:

    delegation(agency) → pool(agency) → allocation(family) → committed(family) → paid(family)
                                      ←  (returned)        ← (released)

``delegation`` is the agency's side of the delegation; its balance is minus what the agency has
delegated, so it is the one kind that is bounded above (≤ 0) instead of below.
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from velferdslab.auth.models import Agency, User
from velferdslab.cases.plan.models import Goal
from velferdslab.cases.themes import THEME_CODES
from velferdslab.core.models import Money, UTCDateTime, one_of, utcnow
from velferdslab.core.permissions import Role
from velferdslab.core.vocabulary import Vocabulary
from velferdslab.extensions import Model

ACCOUNT_KINDS = ("delegation", "pool", "allocation", "committed", "paid")
FAMILY_ACCOUNT_KINDS = ("allocation", "committed", "paid")
TRANSFER_KINDS = ("delegation", "delegation_reversal", "allocation", "allocation_return", "reserve",
                  "release", "payment",
                  # issue 17: a paid spend taken back (paid → allocation), and year-end carry-over: a
                  # year's unused money goes back to the agency's delegation account of that year
                  # (carry_out) and out of the next year's into the same family's account (carry_in).
                  "payment_reversal", "carry_out", "carry_in")


class SpendCategory(Vocabulary):
    DEPOSIT = "deposit", _l("Depositum")
    MOVING = "moving", _l("Flytting")
    FURNITURE = "furniture", _l("Møbler og innbo")
    DEBT_SETTLEMENT = "debt_settlement", _l("Gjeldsordning")
    COURSE_LICENCE = "course_licence", _l("Kurs eller førerkort")
    EQUIPMENT = "equipment", _l("Utstyr")
    TRANSPORT = "transport", _l("Transport")
    CHILDREN_LEISURE = "children_leisure", _l("Fritid for barna")
    CHILDCARE = "childcare", _l("Barnepass")
    OTHER = "other", _l("Annet")


class SpendStatus(Vocabulary):
    DRAFT = "draft", _l("Utkast")
    REQUESTED = "requested", _l("Til godkjenning")
    APPROVED = "approved", _l("Godkjent")
    REJECTED = "rejected", _l("Avslått")
    PAID = "paid", _l("Betalt")
    CANCELLED = "cancelled", _l("Avbrutt")


class Route(Vocabulary):
    """Who decides a submitted request: the family's investment lead, or management."""

    TEAM = "team", _l("Investeringsleder")
    MANAGEMENT = "management", _l("Ledelsen")


class ApproverRole(Vocabulary):
    """The capacity a decision was made in (the code of the role that holds it; see
    ``core.permissions.DECISION_CAPACITIES``)."""

    TEAM_LEAD = Role.TEAM_LEAD.value, _l("Investeringsleder")
    MANAGER = Role.MANAGER.value, _l("Ledelsen")


SPEND_CATEGORIES = SpendCategory.codes()
SPEND_STATUSES = SpendStatus.codes()
ROUTES = Route.codes()
DECISIONS = ("approve", "reject")
APPROVER_ROLES = ApproverRole.codes()

BigId = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements only INTEGER keys


def account_code(kind: str, year: int, agency_id: int, family_id: int | None) -> str:
    """The natural key of an account; unique, so concurrent creators cannot make two."""
    return f"{kind}:{year}:{agency_id}:{family_id or 0}"


class LedgerAccount(Model):
    __tablename__ = "ledger_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"), index=True)
    year: Mapped[int] = mapped_column(SmallInteger)
    kind: Mapped[str] = mapped_column(String(12))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    family_id: Mapped[int | None] = mapped_column(ForeignKey("family.id"))
    code: Mapped[str] = mapped_column(String(60), unique=True)
    # Written only by the transfer trigger. The application never sets it.
    balance: Mapped[int] = mapped_column(Money, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agency: Mapped[Agency] = relationship()

    __table_args__ = (
        CheckConstraint(one_of("kind", ACCOUNT_KINDS), name="kind_known"),
        CheckConstraint("(family_id IS NULL) = (kind IN ('delegation', 'pool'))", name="family_when_family_kind"),
        CheckConstraint("(kind = 'delegation' AND balance <= 0) OR (kind <> 'delegation' AND balance >= 0)",
                        name="balance_within_bounds"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"),
        Index("ix_ledger_account_family_year", "family_id", "year"),
        Index("ix_ledger_account_lab_year_kind", "lab_id", "year", "kind"),
    )


class Delegation(Model):
    """An agency's decision to delegate an amount to the lab for a budget year."""

    __tablename__ = "budget_delegation"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    year: Mapped[int] = mapped_column(SmallInteger)
    amount: Mapped[int] = mapped_column(Money)
    decision_reference: Mapped[str] = mapped_column(String(100))
    decided_on: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agency: Mapped[Agency] = relationship()
    created_by: Mapped[User | None] = relationship()

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"),
    )


class LedgerTransfer(Model):
    """One movement of money between two accounts. Never changed, never deleted."""

    __tablename__ = "ledger_transfer"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"))
    kind: Mapped[str] = mapped_column(String(20))
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"), index=True)
    credit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"), index=True)
    amount: Mapped[int] = mapped_column(Money)
    spend_request_id: Mapped[int | None] = mapped_column(ForeignKey("spend_request.id"), index=True)
    delegation_id: Mapped[int | None] = mapped_column(ForeignKey("budget_delegation.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    debit_account: Mapped[LedgerAccount] = relationship(foreign_keys=[debit_account_id])
    credit_account: Mapped[LedgerAccount] = relationship(foreign_keys=[credit_account_id])

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
        CheckConstraint(one_of("kind", TRANSFER_KINDS), name="kind_known"),
        Index("ix_ledger_transfer_lab_time", "lab_id", "created_at"),
    )


class AuthorityRuleSet(Model):
    """One version of a lab's delegated-authority rules. Versions are never edited; the newest is
    in force, and every decision names the rule (and so the version) that allowed it."""

    __tablename__ = "authority_rule_set"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"))
    version: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    rules: Mapped[list[AuthorityRule]] = relationship(
        back_populates="rule_set", order_by="(AuthorityRule.role, AuthorityRule.agency_id, AuthorityRule.id)")
    created_by: Mapped[User | None] = relationship()

    __table_args__ = (UniqueConstraint("lab_id", "version"),)


class AuthorityRule(Model):
    """Who may approve what: a role (optionally only staff of one agency) may approve one spend up
    to ``max_per_spend`` (no limit when NULL), at most ``max_per_family_year`` for one family in a
    budget year, and needs ``approvals_required`` distinct approvers of that role."""

    __tablename__ = "authority_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_set_id: Mapped[int] = mapped_column(ForeignKey("authority_rule_set.id"), index=True)
    role: Mapped[str] = mapped_column(String(12))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    max_per_spend: Mapped[int | None] = mapped_column(Money)
    max_per_family_year: Mapped[int | None] = mapped_column(Money)
    approvals_required: Mapped[int] = mapped_column(SmallInteger, default=1)
    # Conditions (issue 17): the rule applies only to spend funded by this agency, of this theme,
    # of this category (NULL: any). The most specific matching rules of a role decide (``services._tiers``).
    funding_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    theme: Mapped[str | None] = mapped_column(String(20))
    category: Mapped[str | None] = mapped_column(String(20))
    # What approvers of the role may approve from one funding agency's money in a budget year (lab-wide).
    max_per_agency_year: Mapped[int | None] = mapped_column(Money)

    rule_set: Mapped[AuthorityRuleSet] = relationship(back_populates="rules")
    agency: Mapped[Agency | None] = relationship(foreign_keys=[agency_id])
    funding_agency: Mapped[Agency | None] = relationship(foreign_keys=[funding_agency_id])

    __table_args__ = (
        CheckConstraint(one_of("role", APPROVER_ROLES), name="role_known"),
        CheckConstraint("theme IS NULL OR " + one_of("theme", THEME_CODES), name="theme_known"),
        CheckConstraint("category IS NULL OR " + one_of("category", SPEND_CATEGORIES), name="category_known"),
        CheckConstraint("max_per_agency_year IS NULL OR max_per_agency_year > 0",
                        name="max_per_agency_year_positive"),
        CheckConstraint("approvals_required BETWEEN 1 AND 2", name="approvals_range"),
        CheckConstraint("max_per_spend IS NULL OR max_per_spend > 0", name="max_per_spend_positive"),
        CheckConstraint("max_per_family_year IS NULL OR max_per_family_year > 0",
                        name="max_per_family_year_positive"),
    )


class SpendRequest(Model):
    """A team member's request to spend from the family's allocation, and its life cycle:
    draft → requested → approved | rejected → paid | cancelled.

    A rejected request is never changed again; it can be *revised*: a new request (``version`` one
    higher, ``revises_id`` naming the rejected one) starts as a draft. At most one revision per
    request (unique ``revises_id``), so a request's versions form one chain.
    """

    __tablename__ = "spend_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"))
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"))
    budget_year: Mapped[int] = mapped_column(SmallInteger)
    requester_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    amount: Mapped[int] = mapped_column(Money)
    payee: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(1000))
    category: Mapped[str] = mapped_column(String(20))
    theme: Mapped[str] = mapped_column(String(20))
    goal_id: Mapped[int] = mapped_column(ForeignKey("goal.id"))
    expected_effect: Mapped[str] = mapped_column(String(1000))
    level_from: Mapped[int | None] = mapped_column(SmallInteger)
    level_to: Mapped[int] = mapped_column(SmallInteger)
    # Predicted versus actual (issue 14): how many levels on ``theme`` the team expects the spend to
    # raise the family within 6 months of payment (0: hold the level). None on older requests and
    # when not given (the outcome report then reads ``level_to − level_from``: reports/effects.py).
    expected_level_change: Mapped[int | None] = mapped_column(SmallInteger)
    wanted_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    # Whose queue a requested spend sits in; set on submission from the authority rules in force.
    route: Mapped[str | None] = mapped_column(String(12))
    approved_role: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejection_reason: Mapped[str | None] = mapped_column(String(500))
    paid_on: Mapped[date | None] = mapped_column(Date)
    payment_reference: Mapped[str | None] = mapped_column(String(100))
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancellation_reason: Mapped[str | None] = mapped_column(String(500))
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # Versions (issue 13): 1 for a new request; a revision of a rejected one is one higher.
    version: Mapped[int] = mapped_column(SmallInteger, default=1)
    revises_id: Mapped[int | None] = mapped_column(ForeignKey("spend_request.id"), unique=True)
    # Someone other than the requester (the family's investment lead) who changed the draft: they
    # shaped the request, so they may not approve it (maker–checker).
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    requester: Mapped[User] = relationship(foreign_keys=[requester_id])
    revises: Mapped[SpendRequest | None] = relationship(remote_side=[id], foreign_keys=[revises_id])
    goal: Mapped[Goal] = relationship()
    decisions: Mapped[list[SpendDecision]] = relationship(back_populates="spend_request",
                                                          order_by="SpendDecision.id")
    funding: Mapped[list[SpendFunding]] = relationship(back_populates="spend_request", order_by="SpendFunding.id",
                                                       cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(one_of("status", SPEND_STATUSES), name="status_known"),
        CheckConstraint(one_of("category", SPEND_CATEGORIES), name="category_known"),
        CheckConstraint(one_of("theme", THEME_CODES), name="theme_known"),
        CheckConstraint("route IS NULL OR " + one_of("route", ROUTES), name="route_known"),
        CheckConstraint("level_to BETWEEN 1 AND 4", name="level_to_range"),
        CheckConstraint("level_from IS NULL OR (level_from BETWEEN 1 AND 4 AND level_to >= level_from)",
                        name="level_from_range"),
        CheckConstraint("expected_level_change IS NULL OR expected_level_change BETWEEN 0 AND 3",
                        name="expected_level_change_range"),
        CheckConstraint("status IN ('draft', 'cancelled') OR (submitted_at IS NOT NULL AND route IS NOT NULL)",
                        name="submitted_has_route"),
        CheckConstraint("status <> 'rejected' OR rejection_reason IS NOT NULL", name="rejected_has_reason"),
        CheckConstraint("status <> 'paid' OR (paid_on IS NOT NULL AND payment_reference IS NOT NULL)",
                        name="paid_has_date_and_reference"),
        CheckConstraint("status <> 'cancelled' OR cancellation_reason IS NOT NULL", name="cancelled_has_reason"),
        CheckConstraint("(revises_id IS NULL) = (version = 1)", name="version_matches_revises"),
        Index("ix_spend_request_family_year", "family_id", "budget_year"),
        Index("ix_spend_request_queue", "lab_id", "status", "route", "submitted_at"),
    )


class SpendFunding(Model):
    """Whose money a spend request uses (issue 17): one row per funding agency, the amounts
    summing to the request's amount. The ledger reserves and pays from exactly these agencies'
    allocations for the family."""

    __tablename__ = "spend_funding"

    id: Mapped[int] = mapped_column(primary_key=True)
    spend_request_id: Mapped[int] = mapped_column(ForeignKey("spend_request.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    amount: Mapped[int] = mapped_column(Money)

    spend_request: Mapped[SpendRequest] = relationship(back_populates="funding")
    agency: Mapped[Agency] = relationship()

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        UniqueConstraint("spend_request_id", "agency_id"),
    )


class ThemeAgencyDefault(Model):
    """A lab's choice of the agency the spend form proposes for a theme (issue 17). Without a row
    the proposal follows ``services.THEME_AGENCY_KINDS``."""

    __tablename__ = "budget_theme_agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"))
    theme: Mapped[str] = mapped_column(String(20))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))

    agency: Mapped[Agency] = relationship()

    __table_args__ = (
        CheckConstraint(one_of("theme", THEME_CODES), name="theme_known"),
        UniqueConstraint("lab_id", "theme"),
    )


class SpendDecision(Model):
    """One approval or rejection, with the authority rule that allowed it. Never changed."""

    __tablename__ = "spend_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    spend_request_id: Mapped[int] = mapped_column(ForeignKey("spend_request.id"), index=True)
    decision: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    role: Mapped[str] = mapped_column(String(12))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("authority_rule.id"))
    rule_version: Mapped[int | None] = mapped_column(Integer)
    # False for the first of two required approvals: the request is still waiting.
    final: Mapped[bool] = mapped_column(Boolean, default=True)
    reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    spend_request: Mapped[SpendRequest] = relationship(back_populates="decisions")
    user: Mapped[User] = relationship()
    rule: Mapped[AuthorityRule | None] = relationship()

    __table_args__ = (
        CheckConstraint(one_of("decision", DECISIONS), name="decision_known"),
        CheckConstraint(one_of("role", APPROVER_ROLES), name="role_known"),
        CheckConstraint("decision <> 'approve' OR (rule_id IS NOT NULL AND rule_version IS NOT NULL)",
                        name="approval_names_rule"),
        CheckConstraint("decision <> 'reject' OR reason IS NOT NULL", name="rejection_has_reason"),
        UniqueConstraint("spend_request_id", "user_id", "decision"),
    )


class IdempotencyKey(Model):
    """A client's ``Idempotency-Key`` for a money operation: a replay answers without acting."""

    __tablename__ = "budget_idempotency_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    key: Mapped[str] = mapped_column(String(100))
    operation: Mapped[str] = mapped_column(String(20))
    spend_request_id: Mapped[int] = mapped_column(ForeignKey("spend_request.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("user_id", "key"),)


# --- the municipal books (issue 17) ----------------------------------------------------------------

VOUCHER_KINDS = ("payment", "reversal")
YEAR_END_UNUSED = ("carry", "return")
YEAR_END_UNPAID = ("carry", "release")


class AccountingCodes(Model):
    """The accounting dimensions of an agency's delegation for a budget year: *ansvar*
    (responsibility), *funksjon* (KOSTRA function), *art* (the default account) and *prosjekt*.

    Kept beside the delegations (which are append-only) so finance can correct a code; a voucher
    line keeps the codes it was given when the spend was paid.
    """

    __tablename__ = "budget_accounting_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    year: Mapped[int] = mapped_column(SmallInteger)
    ansvar: Mapped[str] = mapped_column(String(10))
    funksjon: Mapped[str] = mapped_column(String(3))
    art: Mapped[str] = mapped_column(String(8))
    prosjekt: Mapped[str | None] = mapped_column(String(20))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agency: Mapped[Agency] = relationship()

    __table_args__ = (UniqueConstraint("lab_id", "agency_id", "year"),
                      CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"))


class CategoryAccount(Model):
    """Which account (*art*) a spend category is booked to, per lab."""

    __tablename__ = "budget_category_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"))
    category: Mapped[str] = mapped_column(String(20))
    art: Mapped[str] = mapped_column(String(8))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("lab_id", "category"),
                      CheckConstraint(one_of("category", SPEND_CATEGORIES), name="category_known"))


class VoucherLine(Model):
    """One line of the voucher file: what one agency paid (or took back) for one spend, with the
    codes in force when it was paid. Written with the payment transfer it books, so an export is
    stable: later changes to the codes do not rewrite what was paid."""

    __tablename__ = "voucher_line"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    spend_request_id: Mapped[int] = mapped_column(ForeignKey("spend_request.id"), index=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("ledger_transfer.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    budget_year: Mapped[int] = mapped_column(SmallInteger)
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM, the period the line is booked in
    voucher_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(Money)  # øre; negative for a reversal
    category: Mapped[str] = mapped_column(String(20))
    ansvar: Mapped[str | None] = mapped_column(String(10))
    funksjon: Mapped[str | None] = mapped_column(String(3))
    art: Mapped[str | None] = mapped_column(String(8))
    prosjekt: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agency: Mapped[Agency] = relationship()

    __table_args__ = (
        CheckConstraint(one_of("kind", VOUCHER_KINDS), name="kind_known"),
        CheckConstraint("(kind = 'payment' AND amount > 0) OR (kind = 'reversal' AND amount < 0)",
                        name="amount_sign"),
        Index("ix_voucher_line_period", "lab_id", "agency_id", "period"),
    )


class PeriodExport(Model):
    """A period (month) of one agency marked as exported to the books: locked from then on."""

    __tablename__ = "budget_period_export"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    period: Mapped[str] = mapped_column(String(7))
    line_count: Mapped[int] = mapped_column(Integer)
    control_sum: Mapped[int] = mapped_column(Money)
    exported_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    exported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agency: Mapped[Agency] = relationship()
    exported_by: Mapped[User | None] = relationship()

    __table_args__ = (UniqueConstraint("lab_id", "agency_id", "period"),)


class YearClose(Model):
    """A lab's budget year, closed: no money moves in it any more. One per lab and year."""

    __tablename__ = "budget_year_close"

    id: Mapped[int] = mapped_column(primary_key=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"))
    year: Mapped[int] = mapped_column(SmallInteger)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agencies: Mapped[list[YearCloseAgency]] = relationship(back_populates="year_close",
                                                           order_by="YearCloseAgency.agency_id")
    closed_by: Mapped[User | None] = relationship()

    __table_args__ = (UniqueConstraint("lab_id", "year"),
                      CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"))


class YearCloseAgency(Model):
    """One agency's decision at a year-end and what it moved: unused allocations carried to next
    year or returned to the pool; approved-but-unpaid spend carried or released."""

    __tablename__ = "budget_year_close_agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    year_close_id: Mapped[int] = mapped_column(ForeignKey("budget_year_close.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    unused: Mapped[str] = mapped_column(String(8))
    unpaid: Mapped[str] = mapped_column(String(8))
    decision_reference: Mapped[str | None] = mapped_column(String(100))
    carried: Mapped[int] = mapped_column(Money, default=0)
    returned: Mapped[int] = mapped_column(Money, default=0)
    commitments_carried: Mapped[int] = mapped_column(Money, default=0)
    released: Mapped[int] = mapped_column(Money, default=0)

    year_close: Mapped[YearClose] = relationship(back_populates="agencies")
    agency: Mapped[Agency] = relationship()

    __table_args__ = (
        UniqueConstraint("year_close_id", "agency_id"),
        CheckConstraint(one_of("unused", YEAR_END_UNUSED), name="unused_known"),
        CheckConstraint(one_of("unpaid", YEAR_END_UNPAID), name="unpaid_known"),
    )
