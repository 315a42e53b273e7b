"""The benefit model (*gevinstmodell*): avoided public cost against the money invested.

Pure and exact: no database, no floats. Money goes in and comes out as integer øre; in between
every figure is a :class:`fractions.Fraction`, and each money figure shown is rounded **once**, at
the end, to the nearest øre with halves away from zero (:func:`round_ore`). Rates are fractions
in [0, 1] (the database keeps them as whole basis points, see ``reports.models``).

The formulas (``docs/reports.md`` explains them for readers):

- cost(level) = Σ over agencies of the yearly public cost of a family at that overall level;
- realised yearly saving = Σ over families of cost(level at intake) − cost(level now)
  (negative when a family is worse off);
- present value PV = Σ_{t=1..H} saving · (1 − d) · (1 − δ)^(t−1) / (1 + r)^t
  = saving · F, where F is the *benefit factor* of the assumptions;
- invested I = spend paid (+ staff cost per family-month × family-months, if set);
- net benefit = PV − I; return per krone = PV / I ("ikke definert" when I = 0);
- payback = the first year t ≤ H whose cumulative discounted saving covers I (none otherwise);
- projection: families whose level now is below the target level move there with success rate s:
  projected yearly saving = saving + s · Σ_{below target} (cost(level now) − cost(target));
- break-even success rate s* = the s at which the projected net benefit is zero:
  s* = (I − saving · F) / (Q · F), Q = Σ_{below target} (cost(level now) − cost(target));
- per agency: the same PV with that agency's costs only, against the spend paid from money it
  delegated;
- sensitivity: projected net benefit over s × r and over s × d.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from flask_babel import gettext as _

LEVELS = (1, 2, 3, 4)
MAX_HORIZON = 50
MAX_YEARLY_COST_ORE = 100_000_000_00  # 100 million kroner per family, level and agency
SENSITIVITY_S = (Fraction(0), Fraction(1, 4), Fraction(1, 2), Fraction(3, 4), Fraction(1))
SENSITIVITY_R_STEP = Fraction(2, 100)
SENSITIVITY_D_STEP = Fraction(1, 10)


class BenefitInputError(ValueError):
    """An assumption or input outside what the model accepts; ``field`` names it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def round_ore(value: Fraction | int) -> int:
    """Round an exact amount to whole øre, halves away from zero (the one rounding step)."""
    value = Fraction(value)
    sign = -1 if value < 0 else 1
    magnitude = abs(value)
    whole, rest = divmod(magnitude.numerator, magnitude.denominator)
    if 2 * rest >= magnitude.denominator:
        whole += 1
    return sign * whole


def _rate(value, name: str) -> Fraction:
    try:
        rate = Fraction(value)
    except (TypeError, ValueError, ZeroDivisionError):
        raise BenefitInputError(_("Må være et tall mellom 0 og 1."), name) from None
    if not 0 <= rate <= 1:
        raise BenefitInputError(_("Må være mellom 0 og 1."), name)
    return rate


@dataclass(frozen=True)
class Assumptions:
    """One assumption set, as the model reads it.

    ``yearly_cost`` maps an overall level (1–4) to {agency: yearly cost in øre}; the agency keys
    are whatever the caller uses (ids, names) and come back in :attr:`BenefitResult.per_agency`.
    """

    yearly_cost: Mapping[int, Mapping[Any, int]]  # {level: {agency key: øre}}
    deadweight: Fraction = Fraction(1, 5)
    drop_off: Fraction = Fraction(1, 10)
    discount_rate: Fraction = Fraction(1, 25)
    horizon_years: int = 5
    staff_cost_per_family_month: int | None = None
    target_level: int = 3
    success_rate: Fraction = Fraction(1, 2)

    def __post_init__(self) -> None:
        for name in ("deadweight", "drop_off", "discount_rate", "success_rate"):
            object.__setattr__(self, name, _rate(getattr(self, name), name))
        if isinstance(self.horizon_years, bool) or not isinstance(self.horizon_years, int) \
                or not 1 <= self.horizon_years <= MAX_HORIZON:
            raise BenefitInputError(_("Horisonten må være et helt antall år fra 1 til %(max)s.", max=MAX_HORIZON),
                                    "horizon_years")
        if self.target_level not in LEVELS[1:]:
            raise BenefitInputError(_("Målnivået må være utsatt, stabil eller bærekraftig."), "target_level")
        staff = self.staff_cost_per_family_month
        if staff is not None and not _is_amount(staff):
            raise BenefitInputError(_("Personalkostnaden må være et beløp i øre, 0 eller mer."),
                                    "staff_cost_per_family_month")
        for level, by_agency in self.yearly_cost.items():
            if level not in LEVELS:
                raise BenefitInputError(_("Nivå må være 1–4."), "costs")
            for amount in by_agency.values():
                if not _is_amount(amount):
                    raise BenefitInputError(_("Kostnader må være beløp i øre, 0 eller mer."), "costs")

    @property
    def agencies(self) -> list:
        seen: dict = {}
        for level in LEVELS:
            for agency in self.yearly_cost.get(level, {}):
                seen.setdefault(agency, None)
        return list(seen)

    def cost(self, level: int, agency=None) -> int:
        """Yearly cost of a family at ``level``: all agencies, or one."""
        by_agency = self.yearly_cost.get(level, {})
        if agency is not None:
            return by_agency.get(agency, 0)
        return sum(by_agency.values())

    def factor(self) -> Fraction:
        """F = Σ_{t=1..H} (1 − d)(1 − δ)^(t−1) / (1 + r)^t: what one krone of yearly saving is worth."""
        return sum(self.year_factors(), Fraction(0))

    def year_factors(self) -> list[Fraction]:
        keep = 1 - self.deadweight
        return [keep * (1 - self.drop_off) ** (t - 1) / (1 + self.discount_rate) ** t
                for t in range(1, self.horizon_years + 1)]


def _is_amount(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_YEARLY_COST_ORE


@dataclass(frozen=True)
class Selection:
    """What the outcome report measured for a selection of families (all aggregates).

    ``transitions``: {(level at intake, level now): number of families};
    ``spend_paid``: øre paid out for them; ``family_months``: months of enrolment (for staff cost);
    ``spend_paid_by_agency``: øre paid out of money each agency delegated.
    """

    transitions: Mapping[tuple[int, int], int]
    spend_paid: int = 0
    family_months: int = 0
    spend_paid_by_agency: Mapping[Any, int] = field(default_factory=dict)  # {agency key: øre}
    # The families by level at intake and now, when they are given as published (perturbed, so
    # they need not add up to the same total): the savings then rest on these margins alone.
    intake: Mapping[int, int] | None = None
    now: Mapping[int, int] | None = None

    def __post_init__(self) -> None:
        for (before, after), families in self.transitions.items():
            if before not in LEVELS or after not in LEVELS:
                raise BenefitInputError(_("Nivå må være 1–4."), "transitions")
            if isinstance(families, bool) or not isinstance(families, int) or families < 0:
                raise BenefitInputError(_("Antall familier må være et helt tall, 0 eller mer."), "transitions")
        for name in ("spend_paid", "family_months"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise BenefitInputError(_("Må være et helt tall, 0 eller mer."), name)
        if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in self.spend_paid_by_agency.values()):
            raise BenefitInputError(_("Må være et helt tall, 0 eller mer."), "spend_paid_by_agency")

    @property
    def families(self) -> int:
        return sum(self.intake.values()) if self.intake is not None else sum(self.transitions.values())

    def intake_counts(self) -> dict[int, int]:
        if self.intake is not None:
            return {level: self.intake.get(level, 0) for level in LEVELS}
        counts = dict.fromkeys(LEVELS, 0)
        for (before, _after), families in self.transitions.items():
            counts[before] += families
        return counts

    def now_counts(self) -> dict[int, int]:
        if self.now is not None:
            return {level: self.now.get(level, 0) for level in LEVELS}
        counts = dict.fromkeys(LEVELS, 0)
        for (_before, after), families in self.transitions.items():
            counts[after] += families
        return counts


@dataclass(frozen=True)
class YearRow:
    year: int
    discounted_saving: int
    cumulative: int
    covers_investment: bool


@dataclass(frozen=True)
class AgencyRow:
    agency: object
    invested: int
    yearly_saving: int
    present_value: int
    net_benefit: int


@dataclass(frozen=True)
class SensitivityTable:
    """Projected net benefit (øre) for each success rate (rows) and value of ``varied`` (columns)."""

    varied: str
    columns: list[Fraction]
    rows: list[tuple[Fraction, list[int]]]


@dataclass(frozen=True)
class BenefitResult:
    assumptions: Assumptions
    families: int
    yearly_saving: int
    factor: Fraction
    present_value: int
    spend_paid: int
    staff_cost: int
    invested: int
    net_benefit: int
    return_per_krone: Fraction | None  # None: nothing invested, so not defined
    payback_year: int | None  # None: not within the horizon, or nothing invested
    years: list[YearRow]
    success_rate: Fraction
    families_below_target: int
    potential_yearly_saving: int  # Q: what the families below target would save at the target
    projected_present_value: int
    projected_net_benefit: int
    break_even_success_rate: Fraction | None  # None: no family below target, or F = 0
    per_agency: list[AgencyRow]
    sensitivity: list[SensitivityTable]
    saving_unit: int = 1


def yearly_saving(assumptions: Assumptions, selection: Selection, agency=None) -> int:
    """Σ families · (cost(intake) − cost(now)), exact in øre: Σ cost × families at intake minus
    Σ cost × families now (the same sum, over the margins)."""
    return (sum(n * assumptions.cost(level, agency) for level, n in selection.intake_counts().items())
            - sum(n * assumptions.cost(level, agency) for level, n in selection.now_counts().items()))


def potential_saving(assumptions: Assumptions, selection: Selection) -> int:
    """Q = Σ over families below the target: cost(level now) − cost(target level)."""
    target_cost = assumptions.cost(assumptions.target_level)
    return sum(n * (assumptions.cost(level) - target_cost)
               for level, n in selection.now_counts().items() if level < assumptions.target_level)


def round_to(value: int, unit: int) -> int:
    """``value`` rounded to the nearest multiple of ``unit`` øre, halves away from zero."""
    return round_ore(Fraction(value, unit)) * unit


def _projected_net(assumptions: Assumptions, saving: int, potential: int, invested: int, s: Fraction) -> Fraction:
    return (saving + s * potential) * assumptions.factor() - invested


def _break_even(assumptions: Assumptions, saving: int, potential: int, invested: int) -> Fraction | None:
    scale = potential * assumptions.factor()
    if scale == 0:
        return None
    return (invested - saving * assumptions.factor()) / scale


def _payback(assumptions: Assumptions, saving: int, invested: int) -> tuple[list[YearRow], int | None]:
    rows, cumulative, payback = [], Fraction(0), None
    for year, year_factor in enumerate(assumptions.year_factors(), start=1):
        discounted = saving * year_factor
        cumulative += discounted
        # Nothing invested is nothing paid back: no year "covers" an investment of 0 (issue 14).
        covers = invested > 0 and cumulative >= invested
        if covers and payback is None:
            payback = year
        rows.append(YearRow(year, round_ore(discounted), round_ore(cumulative), covers))
    return rows, payback


def _around(value: Fraction, step: Fraction) -> list[Fraction]:
    """value − step, value, value + step, kept within [0, 1], without duplicates, in order."""
    candidates = [min(max(value + k * step, Fraction(0)), Fraction(1)) for k in (-1, 0, 1)]
    return sorted(set(candidates))


def _with_rate(assumptions: Assumptions, name: str, value: Fraction) -> Assumptions:
    """``assumptions`` with the rate the sensitivity tables vary (``discount_rate`` or ``deadweight``) set."""
    if name == "discount_rate":
        return replace(assumptions, discount_rate=value)
    if name == "deadweight":
        return replace(assumptions, deadweight=value)
    raise ValueError(f"the sensitivity tables do not vary {name!r}")


def sensitivity(assumptions: Assumptions, saving: int, potential: int, invested: int) -> list[SensitivityTable]:
    """Projected net benefit for each success rate against r, and against d (the savings S and Q
    do not depend on r or d; only the benefit factor does)."""
    tables = []
    for name, step in (("discount_rate", SENSITIVITY_R_STEP), ("deadweight", SENSITIVITY_D_STEP)):
        columns = _around(getattr(assumptions, name), step)
        variants = [_with_rate(assumptions, name, value) for value in columns]
        rows = [(s, [round_ore(_projected_net(v, saving, potential, invested, s)) for v in variants])
                for s in SENSITIVITY_S]
        tables.append(SensitivityTable(name, columns, rows))
    return tables


def compute(assumptions: Assumptions, selection: Selection, success_rate=None, saving_unit: int = 1) -> BenefitResult:
    """Run the model for one selection. Never divides by zero: undefined figures are None.

    ``saving_unit`` (øre) rounds the yearly savings S, Q and each agency's S before anything is
    computed from them; the outcome report uses it so the model's figures cannot be combined with
    the transition matrix to work out a hidden cell (see ``reports.figures``).
    """
    s = assumptions.success_rate if success_rate is None else _rate(success_rate, "success_rate")
    if isinstance(saving_unit, bool) or not isinstance(saving_unit, int) or saving_unit < 1:
        raise BenefitInputError(_("Avrundingen må være et helt antall øre."), "saving_unit")
    factor = assumptions.factor()
    saving = round_to(yearly_saving(assumptions, selection), saving_unit)
    staff_cost = (assumptions.staff_cost_per_family_month or 0) * selection.family_months
    invested = selection.spend_paid + staff_cost
    present_value = saving * factor
    years, payback = _payback(assumptions, saving, invested)
    potential = round_to(potential_saving(assumptions, selection), saving_unit)
    below = sum(n for level, n in selection.now_counts().items() if level < assumptions.target_level)

    def shown(value) -> int:
        """A money figure of the model at the precision of its savings (``saving_unit``)."""
        return round_to(round_ore(value), saving_unit)

    agencies = _agencies(assumptions, selection)
    # Σ over agencies of each agency's saving is the saving (cost(level) is Σ over agencies).
    savings = apportion([yearly_saving(assumptions, selection, agency) for agency in agencies], saving_unit, saving)
    per_agency = []
    for agency, agency_saving in zip(agencies, savings, strict=True):
        agency_invested = selection.spend_paid_by_agency.get(agency, 0)
        per_agency.append(AgencyRow(agency, agency_invested, agency_saving, shown(agency_saving * factor),
                                    shown(agency_saving * factor - agency_invested)))
    if saving_unit > 1:
        years = [YearRow(y.year, shown(y.discounted_saving), shown(y.cumulative), y.covers_investment) for y in years]
    return BenefitResult(
        assumptions=assumptions, families=selection.families, yearly_saving=saving, factor=factor,
        present_value=shown(present_value), spend_paid=selection.spend_paid, staff_cost=staff_cost,
        invested=invested, net_benefit=shown(present_value - invested),
        return_per_krone=present_value / invested if invested else None, payback_year=payback, years=years,
        success_rate=s, families_below_target=below, potential_yearly_saving=potential,
        projected_present_value=shown((saving + s * potential) * factor),
        projected_net_benefit=shown(_projected_net(assumptions, saving, potential, invested, s)),
        break_even_success_rate=_break_even(assumptions, saving, potential, invested),
        per_agency=per_agency,
        sensitivity=[SensitivityTable(t.varied, t.columns,
                                      [(rate, [shown(v) for v in values]) for rate, values in t.rows])
                     for t in sensitivity(assumptions, saving, potential, invested)],
        saving_unit=saving_unit)


def apportion(values: list[int], unit: int, total: int | None = None) -> list[int]:
    """``values`` each rounded to ``unit`` so that they add up to ``total`` (by default their sum,
    rounded): the largest remainders get the extra units (Hamilton's method), so per-agency savings
    add up to the saving they split."""
    if unit == 1:
        return list(values)
    target = round_to(sum(values), unit) if total is None else total
    floors = [(v // unit) * unit for v in values]
    missing = (target - sum(floors)) // unit
    order = sorted(range(len(values)), key=lambda i: (-(values[i] - floors[i]), i))
    result = list(floors)
    if missing >= 0:
        for i in order[:missing]:
            result[i] += unit
    else:
        for i in list(reversed(order))[:-missing]:
            result[i] -= unit
    return result


def _agencies(assumptions: Assumptions, selection: Selection) -> list:
    agencies = assumptions.agencies
    agencies += [a for a in selection.spend_paid_by_agency if a not in agencies]
    return agencies
