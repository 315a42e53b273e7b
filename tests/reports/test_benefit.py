"""The benefit model against hand-computed examples.

Example lab (kroner per family and year; A and B are two agencies):

    level        A          B        total
    uholdbar  600 000    400 000   1 000 000
    utsatt    300 000    200 000     500 000
    stabil    100 000     50 000     150 000
    bærekr.    25 000          0      25 000

d = 0.2, δ = 0.1, r = 0.04, H = 5. The benefit factor is a geometric series with ratio
q = 0.9 / 1.04 = 45/52: F = (0.8 / 1.04) · (1 − q⁵) / (1 − q) = 40/7 · (1 − (45/52)⁵) ≈ 2.940 916.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from velferdslab.reports.benefit import Assumptions, BenefitInputError, Selection, compute, round_ore, round_to

KR = 100  # øre per krone
COSTS = {
    1: {"A": 600_000 * KR, "B": 400_000 * KR},
    2: {"A": 300_000 * KR, "B": 200_000 * KR},
    3: {"A": 100_000 * KR, "B": 50_000 * KR},
    4: {"A": 25_000 * KR, "B": 0},
}
F = Fraction(40, 7) * (1 - Fraction(45, 52) ** 5)


def assumptions(**kwargs) -> Assumptions:
    return Assumptions(yearly_cost=COSTS, **kwargs)


# Two families uholdbar → stabil, one stays utsatt, one falls from utsatt to uholdbar.
MIXED = {(1, 3): 2, (2, 2): 1, (2, 1): 1}


def test_factor_matches_the_closed_form():
    assert assumptions().factor() == F
    assert float(F) == pytest.approx(2.9409158, abs=1e-7)


def test_mixed_selection_by_hand():
    # Yearly saving: 2 × (1 000 000 − 150 000) + 0 + (500 000 − 1 000 000) = 1 200 000 kr.
    selection = Selection(transitions=MIXED, spend_paid=2_000_000 * KR, family_months=48,
                          spend_paid_by_agency={"A": 1_500_000 * KR, "B": 500_000 * KR})
    result = compute(assumptions(staff_cost_per_family_month=1_000 * KR), selection)
    assert result.families == 4
    assert result.yearly_saving == 1_200_000 * KR
    # PV = 120 000 000 øre × F = 352 909 894.44… øre → 3 529 098,94 kr
    assert result.present_value == round_ore(120_000_000 * F) == 352_909_894
    assert result.staff_cost == 48 * 1_000 * KR
    assert result.invested == 2_048_000 * KR
    assert result.net_benefit == 352_909_894 - 204_800_000
    assert result.return_per_krone == 120_000_000 * F / 204_800_000
    assert float(result.return_per_krone) == pytest.approx(1.72319, abs=1e-5)
    # Cumulative discounted saving: 92.3 M, 172.2 M, 241.3 M øre: year 3 covers 204.8 M.
    assert [row.cumulative for row in result.years][:3] == [92_307_692, 172_189_349, 241_317_706]
    assert result.payback_year == 3
    # Per agency: A saves 2 × 500 000 − 300 000 = 700 000 kr a year, B 2 × 350 000 − 200 000 = 500 000.
    by_agency = {row.agency: row for row in result.per_agency}
    assert by_agency["A"].yearly_saving == 700_000 * KR
    assert by_agency["B"].yearly_saving == 500_000 * KR
    assert by_agency["A"].present_value == round_ore(70_000_000 * F)
    assert by_agency["A"].net_benefit == round_ore(70_000_000 * F - 150_000_000)
    assert by_agency["B"].invested == 500_000 * KR


def test_projection_and_break_even_by_hand():
    # Below stabil now: one at utsatt and one at uholdbar. Moving them to stabil would save
    # Q = (500 000 − 150 000) + (1 000 000 − 150 000) = 1 200 000 kr a year.
    selection = Selection(transitions=MIXED, spend_paid=5_000_000 * KR)
    result = compute(assumptions(), selection, success_rate=Fraction(1, 2))
    assert result.families_below_target == 2
    assert result.potential_yearly_saving == 1_200_000 * KR
    assert result.projected_present_value == round_ore((120_000_000 + 60_000_000) * F)
    # Break-even: (500 000 000 − 120 000 000 F) / (120 000 000 F) = 25 / (6F) − 1 ≈ 0.41679
    assert result.break_even_success_rate == Fraction(25, 6) / F - 1
    assert float(result.break_even_success_rate) == pytest.approx(0.41679, abs=1e-5)
    at_break_even = compute(assumptions(), selection, success_rate=result.break_even_success_rate)
    assert at_break_even.projected_net_benefit == 0


def test_a_worse_level_gives_a_negative_saving_and_no_payback():
    selection = Selection(transitions={(3, 1): 1}, spend_paid=100_000 * KR)
    result = compute(assumptions(), selection)
    assert result.yearly_saving == -850_000 * KR
    assert result.present_value == round_ore(-85_000_000 * F) == -249_977_842
    assert result.net_benefit == -249_977_842 - 10_000_000
    assert result.return_per_krone < 0
    assert result.payback_year is None
    assert all(not row.covers_investment for row in result.years)


def test_zero_investment_has_no_return_per_krone_and_no_division_by_zero():
    result = compute(assumptions(), Selection(transitions={(2, 3): 1}))
    assert result.invested == 0
    assert result.return_per_krone is None
    assert result.net_benefit == result.present_value == round_ore(35_000_000 * F)
    assert result.payback_year is None  # nothing invested: never "paid back" (issue 14)
    assert not any(year.covers_investment for year in result.years)
    # Nobody below target: no projection to break even on.
    assert result.families_below_target == 0
    assert result.break_even_success_rate is None


def test_empty_selection_is_all_zero_and_undefined():
    result = compute(assumptions(), Selection(transitions={}))
    assert (result.families, result.present_value, result.invested, result.net_benefit) == (0, 0, 0, 0)
    assert result.return_per_krone is None and result.break_even_success_rate is None


def test_horizon_of_one_year():
    # F = (1 − d) / (1 + r) = 0.8 / 1.04 = 10/13; a saving of 1 300 000 øre is worth 1 000 000.
    one_year = assumptions(horizon_years=1)
    assert one_year.factor() == Fraction(10, 13)
    costs = {1: {"A": 1_300_000}, 2: {"A": 0}}
    result = compute(Assumptions(yearly_cost=costs, horizon_years=1), Selection({(1, 2): 1}, spend_paid=1_000_000))
    assert result.present_value == 1_000_000
    assert result.net_benefit == 0
    assert result.return_per_krone == 1
    assert result.payback_year == 1
    assert len(result.years) == 1


def test_no_deadweight_no_drop_off_no_discount_is_saving_times_horizon():
    flat = assumptions(deadweight=0, drop_off=0, discount_rate=0, horizon_years=3)
    assert flat.factor() == 3
    result = compute(flat, Selection({(2, 3): 1}))
    assert result.present_value == 3 * 350_000 * KR


def test_sensitivity_table_over_s_r_and_d():
    selection = Selection(transitions=MIXED, spend_paid=5_000_000 * KR)
    result = compute(assumptions(), selection)
    by_name = {t.varied: t for t in result.sensitivity}
    r_table = by_name["discount_rate"]
    assert r_table.columns == [Fraction(2, 100), Fraction(4, 100), Fraction(6, 100)]
    assert [s for s, _ in r_table.rows] == [0, Fraction(1, 4), Fraction(1, 2), Fraction(3, 4), 1]
    # The middle column is the assumption set itself.
    s_half = dict(r_table.rows)[Fraction(1, 2)]
    assert s_half[1] == compute(assumptions(), selection, success_rate=Fraction(1, 2)).projected_net_benefit
    # Higher discount rate, lower value; more success, more value.
    assert s_half[0] > s_half[1] > s_half[2]
    assert [row[1][1] for row in r_table.rows] == sorted(row[1][1] for row in r_table.rows)
    d_table = by_name["deadweight"]
    assert d_table.columns == [Fraction(1, 10), Fraction(2, 10), Fraction(3, 10)]
    # d = 0.1 keeps 0.9 of the change instead of 0.8.
    d_low = assumptions(deadweight=Fraction(1, 10))
    assert dict(d_table.rows)[0][0] == round_ore(120_000_000 * d_low.factor() - 500_000_000)


def test_sensitivity_columns_stay_within_zero_and_one():
    result = compute(assumptions(deadweight=0, discount_rate=Fraction(1, 100)), Selection({(1, 2): 1}))
    by_name = {t.varied: t for t in result.sensitivity}
    assert by_name["deadweight"].columns == [0, Fraction(1, 10)]
    assert by_name["discount_rate"].columns == [0, Fraction(1, 100), Fraction(3, 100)]


@pytest.mark.parametrize("value, expected", [
    (Fraction(1, 2), 1), (Fraction(-1, 2), -1), (Fraction(5, 2), 3), (Fraction(-5, 2), -3),
    (Fraction(249, 100), 2), (Fraction(251, 100), 3), (7, 7), (Fraction(-1, 3), 0),
])
def test_round_ore_rounds_halves_away_from_zero(value, expected):
    assert round_ore(value) == expected


@pytest.mark.parametrize("kwargs, field", [
    ({"deadweight": Fraction(-1, 10)}, "deadweight"),
    ({"deadweight": Fraction(11, 10)}, "deadweight"),
    ({"drop_off": 2}, "drop_off"),
    ({"discount_rate": -1}, "discount_rate"),
    ({"success_rate": Fraction(3, 2)}, "success_rate"),
    ({"deadweight": "abc"}, "deadweight"),
    ({"horizon_years": 0}, "horizon_years"),
    ({"horizon_years": -3}, "horizon_years"),
    ({"horizon_years": 51}, "horizon_years"),
    ({"horizon_years": 2.5}, "horizon_years"),
    ({"target_level": 1}, "target_level"),
    ({"staff_cost_per_family_month": -1}, "staff_cost_per_family_month"),
    ({"yearly_cost": {1: {"A": -100}}}, "costs"),
    ({"yearly_cost": {5: {"A": 100}}}, "costs"),
    ({"yearly_cost": {1: {"A": 1.5}}}, "costs"),
])
def test_bad_assumptions_are_refused(kwargs, field):
    values = {"yearly_cost": COSTS, **kwargs}
    with pytest.raises(BenefitInputError) as error:
        Assumptions(**values)
    assert error.value.field == field


@pytest.mark.parametrize("kwargs, field", [
    ({"transitions": {(0, 1): 1}}, "transitions"),
    ({"transitions": {(1, 2): -1}}, "transitions"),
    ({"transitions": {}, "spend_paid": -5}, "spend_paid"),
    ({"transitions": {}, "family_months": -1}, "family_months"),
])
def test_bad_selection_is_refused(kwargs, field):
    with pytest.raises(BenefitInputError) as error:
        Selection(**kwargs)
    assert error.value.field == field


def test_success_rate_outside_zero_and_one_is_refused():
    with pytest.raises(BenefitInputError):
        compute(assumptions(), Selection({(1, 2): 1}), success_rate=Fraction(-1, 10))


def test_saving_unit_rounds_the_savings_before_the_model_uses_them():
    # S = 1 200 000 kr exactly; Q = 1 200 000 kr; rounded to 1 M kr: 1 000 000 kr each.
    million = 1_000_000 * KR
    result = compute(assumptions(), Selection(transitions=MIXED, spend_paid=5_000_000 * KR), saving_unit=million)
    assert result.yearly_saving == million and result.potential_yearly_saving == million
    # Every money figure of the model is shown at the precision of its savings.
    assert result.present_value == round_to(round_ore(million * F), million)
    assert result.net_benefit % million == 0 and result.projected_net_benefit % million == 0
    # A saves 700 000 kr, B 500 000 kr: together the 1 M of the total, which goes to the larger
    # remainder (A), so the agencies add up to the total.
    assert {row.agency: row.yearly_saving for row in result.per_agency} == {"A": million, "B": 0}


def test_apportioned_savings_add_up_and_stay_within_one_unit():
    from velferdslab.reports.benefit import apportion

    unit = 1_000_00
    for values in ([123_456_78, 876_543_21, -50_000_00], [49_999, 49_999, 49_999], [-1, -1, 2_000_01]):
        shares = apportion(values, unit)
        assert sum(shares) == round_to(sum(values), unit)
        assert all(abs(share - value) < unit for share, value in zip(shares, values, strict=True))
        assert all(share % unit == 0 for share in shares)
    # A real 2.01 M saving is not published as 0.
    assert apportion([2_010_000_00], unit) == [2_010_000_00]
    with pytest.raises(BenefitInputError):
        compute(assumptions(), Selection(transitions=MIXED), saving_unit=0)


def test_who_invests_follows_the_named_funding_not_the_largest_allocation(lab):
    """Issue 17: a *bolig* deposit paid from bolig's allocation counts as bolig's investment, even
    when NAV gave the family far more (the old draw took the largest allocation first)."""
    from datetime import date

    from tests import factories
    from tests.reports import factories as rf
    from velferdslab.budget import services as budget
    from velferdslab.core.models import today_local
    from velferdslab.reports import outcome

    nav = factories.agency(lab, name="NAV", kind="nav")
    bolig = factories.agency(lab, name="Bolig", kind="bolig")
    fam = rf.journey(lab, [(0, 1), (300, 3)], started=-500)
    year = today_local().year
    budget.delegate(lab, agency_id=nav.id, year=year, amount=80_000 * KR, decision_reference="NAV 1",
                    decided_on=date(year, 1, 2), actor=None)
    budget.allocate(lab, family_id=fam.id, agency_id=nav.id, year=year, amount=80_000 * KR, actor=None)
    spend = rf.paid_spend(lab, fam, bolig, 10_000 * KR, theme="bolig")
    assert [(f.agency_id, f.amount) for f in spend.funding] == [(bolig.id, 10_000 * KR)]
    data = outcome.run(outcome.OutcomeFilter(lab_id=lab.id, start=rf.day(-700), end=today_local()))
    assert data.spend_by_agency == {bolig.id: (10_000 * KR, 1)}
    costs = {level: {nav.id: cost * 6 // 10, bolig.id: cost * 4 // 10}
             for level, cost in ((1, 1_000_000 * KR), (2, 500_000 * KR), (3, 150_000 * KR), (4, 25_000 * KR))}
    selection = Selection(transitions=data.transitions, spend_paid=data.paid, family_months=0,
                          spend_paid_by_agency={k: amount for k, (amount, _n) in data.spend_by_agency.items()})
    result = compute(Assumptions(yearly_cost=costs), selection)
    assert {row.agency: row.invested for row in result.per_agency} == {nav.id: 0, bolig.id: 10_000 * KR}
