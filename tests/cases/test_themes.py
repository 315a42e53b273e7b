"""The suggestion rule and which themes apply to a family."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from velferdslab.cases.household.models import FamilyMember
from velferdslab.cases.journey import services
from velferdslab.cases.themes import THEMES, suggest_overall_level


@pytest.mark.parametrize("levels, expected", [
    ([1, 3, 3, 4], 2),        # median 3, but never more than one step above the lowest (1)
    ([2, 3, 3], 3),           # odd count: the middle value
    ([1, 4], 2),              # even count: mean of the middle two, rounded down (2.5 -> 2), cap 2
    ([2, 3], 2),              # (2+3)//2 = 2
    ([3, 4, 4, 4], 4),        # median 4, lowest 3: 4 is one step above, allowed
    ([1, 1, 1, 4, 4, 4, 4], 2),  # median 4, capped at lowest + 1
    ([4], 4),
    ([1, 2, 2, 2, 2, 2, 2], 2),
])
def test_documented_examples(levels, expected):
    assert suggest_overall_level(levels) == expected


@given(st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=7))
def test_rule_properties(levels):
    suggested = suggest_overall_level(levels)
    ordered = sorted(levels)
    assert ordered[0] <= suggested <= min(ordered[-1], ordered[0] + 1)
    # Never above the median (rounded down).
    n = len(ordered)
    median = ordered[(n - 1) // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) // 2
    assert suggested <= median
    # Order does not matter.
    assert suggest_overall_level(list(reversed(levels))) == suggested


@pytest.mark.parametrize("bad", [[], [0, 2], [2, 5]])
def test_rule_refuses_bad_levels(bad):
    with pytest.raises(ValueError):
        suggest_overall_level(bad)


def _member(role):
    return FamilyMember(first_name="A", last_name="B", birth_year=1990, role=role)


def test_school_and_upbringing_need_children_by_default():
    adults = [_member("parent"), _member("other")]
    assert services.applicable_theme_codes(adults, {}) == ["bolig", "arbeid", "nettverk", "okonomi", "helse"]
    assert services.applicable_theme_codes(adults + [_member("child")], {}) == [t.code for t in THEMES]
    assert "skole" in services.applicable_theme_codes([_member("young_person")], {})


def test_overrides_win_over_the_default():
    adults = [_member("parent")]
    codes = services.applicable_theme_codes(adults, {"skole": True, "arbeid": False})
    assert "skole" in codes and "arbeid" not in codes and "oppvekst" not in codes


def test_set_theme_applicability_stores_only_differences(world):
    access = world.access(world.lead)
    services.set_theme_applicability(access, "arbeid", False, actor=world.lead)
    assert services.theme_overrides(world.family.id) == {"arbeid": False}
    services.set_theme_applicability(access, "arbeid", True, actor=world.lead)  # back to the default
    assert services.theme_overrides(world.family.id) == {}
    assert "arbeid" in services.applicable_themes(world.family.id)
