"""marshmallow schemas for the reports API. Unknown fields are rejected (marshmallow's RAISE).

Rates are decimal fractions in [0, 1] (0.04, not 4 %), read as exact decimals; money is integer
øre. A suppressed count is the string "<5" (for the configured threshold), a value hidden to
protect another is "×".
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from velferdslab.cases.themes import THEME_CODES
from velferdslab.core.i18n import N_
from velferdslab.core.money import MAX_AMOUNT_ORE
from velferdslab.core.schemas import Date, DateTime, Id, Money
from velferdslab.reports.benefit import MAX_HORIZON, MAX_YEARLY_COST_ORE

RATE = validate.Range(min=0, max=1, error=_l("Må være mellom 0 og 1."))


class Rate(fields.Decimal):
    """A rate in [0, 1], read as an exact decimal. The range is checked here rather than by a
    validator so the OpenAPI document states it as numbers (apispec would write decimals as text)."""

    def _validated(self, value):
        number = super()._validated(value)
        if number is not None and not 0 <= number <= 1:
            raise self.make_error("range")
        return number

    # N_: marshmallow needs plain str here; core.errors.translate_messages translates it in the 422
    default_error_messages = {"range": N_("Må være mellom 0 og 1.")}


def _rate(**kwargs):
    metadata = {"minimum": 0, "maximum": 1, **kwargs.pop("metadata", {})}
    return Rate(places=None, allow_nan=False, as_string=False, metadata=metadata, **kwargs)


class CostSchema(Schema):
    level = fields.Integer(required=True, strict=True,
                           validate=validate.Range(min=1, max=4, error=_l("Nivå må være 1–4.")))
    agency_id = Id(required=True)
    yearly_cost = Money(required=True, minimum=0, maximum=MAX_YEARLY_COST_ORE,
                                 metadata={"description": "Yearly public cost of one family, in øre."})


class AssumptionSetInputSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    source_note = fields.String(allow_none=True, validate=validate.Length(max=1000))
    deadweight = _rate(load_default=None, metadata={"description": "d: share of the change that would have "
                                                                   "happened anyway (default 0.2)."})
    drop_off = _rate(load_default=None, metadata={"description": "δ: yearly drop-off (default 0.1)."})
    discount_rate = _rate(load_default=None, metadata={"description": "r: discount rate (default 0.04)."})
    success_rate = _rate(load_default=None, metadata={"description": "s for the projection (default 0.5)."})
    horizon_years = fields.Integer(strict=True, load_default=None,
                                   validate=validate.Range(min=1, max=MAX_HORIZON, error=_l("Må være 1–50 år.")))
    target_level = fields.Integer(strict=True, load_default=None, validate=validate.OneOf([2, 3, 4]))
    staff_cost_per_family_month = Money(allow_none=True, minimum=0, maximum=MAX_YEARLY_COST_ORE)
    costs = fields.List(fields.Nested(CostSchema), required=True, validate=validate.Length(min=1, max=400))


class AssumptionSetUpdateSchema(AssumptionSetInputSchema):
    """A revision: any subset of the fields; ``version`` guards against a lost update."""

    name = fields.String(validate=validate.Length(min=1, max=120))
    costs = fields.List(fields.Nested(CostSchema), validate=validate.Length(min=1, max=400))
    version = fields.Integer(strict=True, metadata={"description": "The version you are revising (409 if stale)."})


class AssumptionSetSchema(Schema):
    id = fields.Integer()
    series_id = fields.Integer()
    version = fields.Integer()
    is_current = fields.Boolean()
    retired = fields.Boolean()
    supersedes_id = fields.Integer(allow_none=True)
    name = fields.String()
    source_note = fields.String(allow_none=True)
    deadweight = fields.Float()
    drop_off = fields.Float()
    discount_rate = fields.Float()
    success_rate = fields.Float()
    horizon_years = fields.Integer()
    target_level = fields.Integer()
    staff_cost_per_family_month = fields.Integer(allow_none=True)
    costs = fields.List(fields.Nested(CostSchema))
    created_at = DateTime()
    created_by_id = fields.Integer(allow_none=True)


class OutcomeQuerySchema(Schema):
    """The outcome report's filters (query string)."""

    start = Date(metadata={"description": "First day of the period (default: 1 January this year)."})
    end = Date(metadata={"description": "Last day of the period (default: today)."})
    cohort = fields.Integer(strict=False, validate=validate.Range(min=2000, max=2100),
                            metadata={"description": "Year the enrolment started."})
    agency_id = fields.Integer(strict=False, metadata={"description": "An agency on the family's team."})
    theme = fields.String(validate=validate.OneOf(THEME_CODES))
    assumption_set_id = fields.Integer(strict=False)
    success_rate = _rate()
    as_of = Date(metadata={"description": "Reproduce the report as it stood at the end of this day (Europe/Oslo): "
                                          "only assessments, starts, closures and payments recorded by then count "
                                          "(default: as recorded now). Not in the future."})

    @validates_schema
    def period_not_empty(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise ValidationError(_("Perioden er tom: fra-datoen er etter til-datoen."), "end")


class TransitionSchema(Schema):
    intake_level = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=4))
    now_level = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=4))
    families = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=1_000_000))


class AgencyAmountSchema(Schema):
    agency_id = Id(required=True)
    amount = Money(required=True, minimum=0, maximum=MAX_AMOUNT_ORE * 1000)


class BenefitInputSchema(Schema):
    """Run the model: on the outcome report's selection (give filters), or on your own numbers
    (give ``transitions``; then ``spend_paid``, ``family_months`` and ``spend_paid_by_agency``)."""

    assumption_set_id = Id(metadata={"description": "Default: the lab's current set."})
    success_rate = _rate()
    start = Date()
    end = Date()
    cohort = fields.Integer(strict=True, validate=validate.Range(min=2000, max=2100))
    agency_id = Id()
    theme = fields.String(validate=validate.OneOf(THEME_CODES))
    transitions = fields.List(fields.Nested(TransitionSchema), validate=validate.Length(max=16))
    spend_paid = Money(minimum=0, maximum=MAX_AMOUNT_ORE * 1000)
    family_months = fields.Integer(strict=True, validate=validate.Range(min=0, max=100_000_000))
    spend_paid_by_agency = fields.List(fields.Nested(AgencyAmountSchema), validate=validate.Length(max=100))

    @validates_schema
    def consistent(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise ValidationError(_("Perioden er tom: fra-datoen er etter til-datoen."), "end")
        own = {"spend_paid", "family_months", "spend_paid_by_agency"} & set(data)
        if own and "transitions" not in data:
            raise ValidationError(_("Oppgi overgangene (transitions) når du gir egne tall."), "transitions")
        filters = {"start", "end", "cohort", "agency_id", "theme"} & set(data)
        if filters and "transitions" in data:
            raise ValidationError(_("Gi enten filtre eller egne tall, ikke begge."), "transitions")


class YearSchema(Schema):
    year = fields.Integer()
    discounted_saving = fields.Integer()
    cumulative = fields.Integer()
    covers_investment = fields.Boolean()


class BenefitAgencySchema(Schema):
    agency_id = fields.Raw()
    name = fields.String()
    invested = fields.Raw(metadata={"description": "øre, or a suppression mark"})
    yearly_saving = fields.Integer()
    present_value = fields.Integer()
    net_benefit = fields.Raw(metadata={"description": "øre, or a suppression mark"})


class SensitivitySchema(Schema):
    varied = fields.String(metadata={"description": "discount_rate or deadweight"})
    columns = fields.List(fields.Float())
    rows = fields.List(fields.Dict(), metadata={"description": "{success_rate, net_benefit: [øre per column]}"})


class BenefitResultSchema(Schema):
    assumption_set = fields.Nested(AssumptionSetSchema, allow_none=True)
    shown = fields.Boolean()
    hidden_reason = fields.String(allow_none=True)
    saving_unit = fields.Integer(metadata={"description": "The savings are rounded to this many øre."})
    families = fields.Raw()
    benefit_factor = fields.Float()
    yearly_saving = fields.Integer()
    present_value = fields.Integer()
    spend_paid = fields.Integer()
    staff_cost = fields.Integer()
    invested = fields.Integer()
    net_benefit = fields.Integer()
    return_per_krone = fields.Float(allow_none=True, metadata={"description": "null: nothing invested"})
    payback_year = fields.Integer(allow_none=True, metadata={
        "description": "null: not within the horizon, or nothing invested (nothing to pay back)"})
    payback_text = fields.String(metadata={"description": "The payback in words, as on the page."})
    years = fields.List(fields.Nested(YearSchema))
    success_rate = fields.Float()
    potential_yearly_saving = fields.Integer()
    projected_present_value = fields.Integer()
    projected_net_benefit = fields.Integer()
    break_even_success_rate = fields.Float(allow_none=True, metadata={
        "description": "May lie outside 0–1: ≤ 0 pays already, > 1 cannot be reached; see break_even_text"})
    break_even_text = fields.String(metadata={
        "description": "The break-even rate in words, as on the page (outside 0–100 % explained)."})
    per_agency = fields.List(fields.Nested(BenefitAgencySchema))
    sensitivity = fields.List(fields.Nested(SensitivitySchema))


class OutcomeSchema(Schema):
    """The outcome report. Counts are integers or a suppression mark ("<5", "×")."""

    filters = fields.Dict()
    threshold = fields.Integer()
    disclosure = fields.Dict(metadata={"description": (
        "The cell-key method: `cell_key` (bool), `noise` (a count is the true one ± this many families), "
        "`money_base` (øre: amounts are rounded up or down to this), `note` (the reader's note).")})
    families = fields.Raw()
    sections = fields.Dict(metadata={"description": (
        "Each table: {title, columns, units, rows: [{key, label, values, numbers, share?, share_percent?}]}. "
        "`values`: as shown — integers (families, money in øre), shares as text (\"30 %\"), marks. "
        "`numbers`: every figure as a number — families (int), øre (int), a share as a fraction (0.3), "
        "months (float) — or the mark in its place. `units` per column: families, ore, share, months, or "
        "null when the rows differ. Share rows also give `share` (0.3) and `share_percent` (30), null "
        "when hidden.")})
    benefit = fields.Nested(BenefitResultSchema)


class PersonShareSchema(Schema):
    label = fields.String()
    stable = fields.Raw(metadata={"description": "Young people at stabil or better: an integer or a suppression mark."})
    not_stable = fields.Raw()
    rated = fields.Raw(metadata={"description": "Young people the team rated about themselves."})
    share = fields.String(allow_none=True, metadata={"description": "Only when the counts are all shown."})


class OutcomePersonsSchema(Schema):
    """Outcomes per person (issue 15): young people in the configured age band at stabil or better
    on the team's ratings about them, now and held at the follow-ups. Counts are integers or a
    suppression mark ("<5", "×")."""

    age_band = fields.List(fields.Integer())
    threshold = fields.Integer()
    young_people = fields.Raw()
    now = fields.Nested(PersonShareSchema)
    follow_ups = fields.Dict(keys=fields.String(), values=fields.Nested(PersonShareSchema))
    disclosure = fields.Dict(metadata={"description": (
        "The cell-key method with person keys: `cell_key` (bool), `noise` (a count is the true one ± this "
        "many young people).")})
