"""marshmallow schemas for the budget API. Money is integer øre; unknown fields are refused (422).

An amount must be a JSON integer: ``18500.0``, ``"18500"``, ``true``, NaN, infinity, zero, negative
numbers and amounts above the ceiling all answer 422 before any service runs.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from velferdslab.budget.models import APPROVER_ROLES, SPEND_CATEGORIES, SPEND_STATUSES
from velferdslab.cases.themes import THEME_CODES
from velferdslab.core.schemas import AMOUNT_DOC, Date, DateTime, Id, Money


def Ore(**kwargs) -> fields.Integer:  # noqa: N802 - reads like a field class
    """An amount in øre: a JSON integer from 1 up to the ceiling."""
    return Money(metadata=AMOUNT_DOC, **kwargs)


def Year(**kwargs) -> fields.Integer:  # noqa: N802
    return fields.Integer(strict=True, validate=validate.Range(min=2000, max=2100), **kwargs)


def Text(max_length: int, **kwargs) -> fields.String:  # noqa: N802
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


class YearQuerySchema(Schema):
    # Query strings are text, so this one integer is parsed, not strict.
    year = fields.Integer(validate=validate.Range(min=2000, max=2100),
                          metadata={"description": "Budget year; the current year when left out"})


class EmptySchema(Schema):
    """No fields: anything sent (``approved_by``, ``status``, …) is refused with 422."""


# --- delegations, pool, allocations ----------------------------------------------------------------

class DelegationCreateSchema(Schema):
    agency_id = Id(required=True)
    year = Year(required=True)
    amount = Ore(required=True)
    decision_reference = Text(100, required=True, metadata={"description": "The agency's decision (case no.)"})
    decided_on = Date(required=True)


class DelegationSchema(DelegationCreateSchema):
    id = fields.Integer(dump_only=True)
    agency_name = fields.String(dump_only=True)
    reversed = fields.Boolean(dump_only=True)
    created_at = DateTime(dump_only=True)


class AllocationCreateSchema(Schema):
    family_id = Id(required=True)
    agency_id = Id(required=True)
    year = Year(required=True)
    amount = Ore(required=True)


class TransferSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    amount = fields.Integer(metadata={"description": "øre"})
    debit_account = fields.String()
    credit_account = fields.String()
    created_at = DateTime()


class BalanceSchema(Schema):
    allocated = fields.Integer(metadata={"description": "øre: available + committed + paid"})
    committed = fields.Integer()
    paid = fields.Integer()
    available = fields.Integer()


class AllocationRowSchema(Schema):
    family_id = fields.Integer()
    open = fields.Boolean(metadata={"description": "The family has an open enrolment"})
    team_leads = fields.List(fields.String())
    allocated = fields.Integer(metadata={"description": "øre allocated to the family's team this year"})
    available = fields.Integer(metadata={"description": "øre of it left unused (the most that can be moved back)"})


class PoolRowSchema(Schema):
    agency_id = fields.Integer(allow_none=True, metadata={"description": "null on the totals row"})
    agency = fields.String(allow_none=True)
    delegated = fields.Integer()
    unallocated = fields.Integer()
    allocated = fields.Integer(metadata={"description": "øre moved to families' teams (never split into spend)"})


class PoolSchema(Schema):
    year = fields.Integer()
    agencies = fields.List(fields.Nested(PoolRowSchema))
    totals = fields.Nested(PoolRowSchema)


# --- spend requests --------------------------------------------------------------------------------

class FundingPartSchema(Schema):
    agency = Id(required=True, metadata={"description": "The agency whose delegated money pays this part"})
    amount = Ore(required=True)


FUNDING_DOC = {"description": "Whose money pays: agencies with amounts in øre, summing to `amount`. Left out, "
                              "the theme's default agency (or the family's largest allocation) pays it all."}


def _spend_fields(required: bool) -> dict:
    return {
        "funding": fields.List(fields.Nested(FundingPartSchema), validate=validate.Length(min=1, max=10),
                               metadata=FUNDING_DOC),
        "amount": Ore(required=required),
        "payee": Text(200, required=required),
        "purpose": Text(1000, required=required),
        "category": fields.String(required=required, validate=validate.OneOf(SPEND_CATEGORIES)),
        "theme": fields.String(required=required, validate=validate.OneOf(THEME_CODES)),
        "goal_id": Id(required=required, metadata={"description": "A goal on the family's plan"}),
        "expected_effect": Text(1000, required=required, metadata={"description": "The change it should bring"}),
        "level_from": fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=4),
                                     metadata={"description": "The theme's level now (1–4)"}),
        "level_to": fields.Integer(strict=True, required=required, validate=validate.Range(min=1, max=4),
                                   metadata={"description": "The level hoped for (1–4)"}),
        "expected_level_change": fields.Integer(
            strict=True, allow_none=True, validate=validate.Range(min=0, max=3),
            metadata={"description": "Optional: how many levels on the theme the spend should raise the family "
                                     "within 6 months of payment (0: hold the level; 1–3). Compared with what "
                                     "followed in the outcome report (predicted versus actual). With `level_from`, "
                                     "`level_from + expected_level_change` is at most 4."}),
        "wanted_on": Date(required=required),
    }


# Schema.from_dict builds these classes at run time. mypy takes no call (nor a variable holding its
# result) as a base class, so the three subclassings below carry an ignore each.
SpendFieldsSchema = Schema.from_dict(_spend_fields(False), name="SpendFields")


class SpendCreateSchema(Schema.from_dict(_spend_fields(True), name="SpendCreateBase")):  # type: ignore[misc]
    budget_year = Year(metadata={"description": "The current year when left out"})
    submit = fields.Boolean(load_default=False, metadata={"description": "Send for approval at once"})


class SpendUpdateSchema(SpendFieldsSchema):  # type: ignore[valid-type,misc]  # a from_dict class
    """Changes to a draft. On a sent request every field — ``amount`` above all — answers 422."""


class SpendReviseSchema(SpendFieldsSchema):  # type: ignore[valid-type,misc]  # a from_dict class
    """What changes in the new version; fields left out are copied from the rejected request."""

    submit = fields.Boolean(load_default=False, metadata={"description": "Send the new version for approval at once"})


class ReasonSchema(Schema):
    reason = Text(500, required=True)


class PaySchema(Schema):
    paid_on = Date(required=True)
    reference = Text(100, required=True, metadata={"description": "Payment or invoice reference"})


class DecisionSchema(Schema):
    decision = fields.String()
    user_id = fields.Integer()
    role = fields.String()
    rule_id = fields.Integer(allow_none=True)
    rule_version = fields.Integer(allow_none=True)
    final = fields.Boolean()
    reason = fields.String(allow_none=True)
    created_at = DateTime()


class SpendSchema(SpendFieldsSchema):  # type: ignore[valid-type,misc]  # a from_dict class
    id = fields.Integer()
    family_id = fields.Integer()
    budget_year = fields.Integer()
    requester_id = fields.Integer()
    status = fields.String(validate=validate.OneOf(SPEND_STATUSES))
    route = fields.String(allow_none=True)
    approved_role = fields.String(allow_none=True)
    created_at = DateTime()
    submitted_at = DateTime(allow_none=True)
    decided_at = DateTime(allow_none=True)
    rejection_reason = fields.String(allow_none=True)
    paid_on = Date(allow_none=True)
    payment_reference = fields.String(allow_none=True)
    cancelled_at = DateTime(allow_none=True)
    cancellation_reason = fields.String(allow_none=True)
    decisions = fields.List(fields.Nested(DecisionSchema))
    version = fields.Integer(metadata={"description": "1, or one more than the request it revises"})
    revises_id = fields.Integer(allow_none=True, metadata={"description": "The rejected request this one revises"})
    revised_by_id = fields.Method("_revised_by", allow_none=True,
                                  metadata={"description": "The newer version that revises this one, if any"})
    funding = fields.Method("_funding", metadata=FUNDING_DOC)  # dumped (the funding is loaded as a list)

    def _funding(self, spend) -> list[dict]:
        return [{"agency": f.agency_id, "agency_name": f.agency.name, "amount": f.amount} for f in spend.funding]

    def _revised_by(self, spend) -> int | None:
        from velferdslab.budget.services import revision_of

        if spend.status != "rejected":  # only a rejected request is ever revised: no query
            return None
        newer = revision_of(spend)
        return newer.id if newer is not None else None


class QueueItemSchema(SpendSchema):
    family_available = fields.Integer(metadata={"description": "øre the family has available in the year"})
    team_leads = fields.List(fields.String())


class SpendSummarySchema(Schema):
    """What a team member without consent for their agency sees of a spend: no texts, no goal."""

    id = fields.Integer()
    amount = fields.Integer()
    category = fields.String()
    theme = fields.String()
    status = fields.String()
    created_at = DateTime()


class FamilyBudgetSchema(BalanceSchema):
    family_id = fields.Integer()
    year = fields.Integer()
    gated = fields.Boolean(metadata={"description": "No consent for your agency: totals only"})
    by_agency = fields.List(fields.Dict())
    spend_requests = fields.List(fields.Nested(SpendSchema))
    spend_summaries = fields.List(fields.Nested(SpendSummarySchema), metadata={
        "description": "Spends shown without texts or goal: all of them for a gated member, else those in a theme "
                       "your agency's consents do not cover (issue 15)."})
    hidden = fields.List(fields.String(), metadata={"description": "Why some spends are summaries only."})


# --- authority rules ----------------------------------------------------------------------------------

class RuleSchema(Schema):
    id = fields.Integer(dump_only=True)
    role = fields.String(required=True, validate=validate.OneOf(APPROVER_ROLES))
    agency_id = Id(allow_none=True, load_default=None, metadata={"description": "Only approvers from this agency"})
    funding_agency_id = Id(allow_none=True, load_default=None,
                           metadata={"description": "Only spend funded by this agency (its part is measured)"})
    theme = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(THEME_CODES))
    category = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(SPEND_CATEGORIES))
    max_per_spend = Ore(allow_none=True, load_default=None)
    max_per_family_year = Ore(allow_none=True, load_default=None)
    max_per_agency_year = Ore(allow_none=True, load_default=None)  # most the role approves from one agency a year
    approvals_required = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1, max=2))


class RuleSetSchema(Schema):
    id = fields.Integer(dump_only=True)
    version = fields.Integer(dump_only=True)
    note = fields.String(allow_none=True)
    created_at = DateTime(dump_only=True)
    created_by_id = fields.Integer(dump_only=True, allow_none=True)
    rules = fields.List(fields.Nested(RuleSchema), required=True, validate=validate.Length(min=1, max=50))


class RuleSetCreateSchema(Schema):
    note = fields.String(allow_none=True, validate=validate.Length(max=300))
    rules = fields.List(fields.Nested(RuleSchema), required=True, validate=validate.Length(min=1, max=50))


class ThemeDefaultsSchema(Schema):
    """Theme code → the agency id the spend form proposes (null: the default by agency kind)."""

    defaults = fields.Dict(keys=fields.String(validate=validate.OneOf(THEME_CODES)), values=Id(allow_none=True),
                           required=True)


class RulesSchema(Schema):
    current = fields.Nested(RuleSetSchema)
    versions = fields.List(fields.Nested(RuleSetSchema))


# --- the books (issue 17) ------------------------------------------------------------------------------

class AccountingCodesSchema(Schema):
    agency_id = Id(required=True)
    year = Year(required=True)
    ansvar = fields.String(required=True, metadata={"description": "Responsibility: 1–10 digits"})
    funksjon = fields.String(required=True, metadata={"description": "KOSTRA function: three digits, 100–899"})
    art = fields.String(required=True, metadata={"description": "Default account: 3–8 digits"})
    prosjekt = fields.String(load_default=None, allow_none=True,
                             metadata={"description": "Project: up to 20 letters, digits, - or _"})


class CategoryAccountsSchema(Schema):
    categories = fields.Dict(keys=fields.String(validate=validate.OneOf(SPEND_CATEGORIES)),
                             values=fields.String(allow_none=True), required=True,
                             metadata={"description": "category → art (3–8 digits); empty or null removes it"})


class ReversePaymentSchema(Schema):
    reason = Text(500, required=True)
    reversed_on = Date(load_default=None, metadata={"description": "The reversal's date; today when left out"})


class PeriodQuerySchema(Schema):
    agency_id = fields.Integer(required=True)
    period = fields.String(required=True, metadata={"description": "YYYY-MM"})


class VoucherQuerySchema(PeriodQuerySchema):
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv", "xlsx")))


class PeriodExportCreateSchema(Schema):
    agency_id = Id(required=True)
    period = fields.String(required=True, metadata={"description": "YYYY-MM"})


class YearEndDecisionSchema(Schema):
    unused = fields.String(required=True, validate=validate.OneOf(("carry", "return")))
    unpaid = fields.String(required=True, validate=validate.OneOf(("carry", "release")))
    decision_reference = fields.String(load_default=None, allow_none=True)


class YearEndCreateSchema(Schema):
    year = Year(required=True)
    decisions = fields.Dict(keys=fields.String(), values=fields.Nested(YearEndDecisionSchema), required=True,
                            metadata={"description": "agency id → the agency's decision"})
