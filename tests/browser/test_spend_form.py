"""Issue 13, spend requests in the browser: the goal list follows the chosen theme, "level now"
follows the theme and the hoped level is one step up; a typed "kr 18 500,-" is accepted."""

import re

import pytest

from tests.browser.conftest import axe_serious, sign_in
from tests.browser.test_budget_flow import pick_family

pytestmark = pytest.mark.browser


def _open_form(page) -> None:
    family = pick_family(page, None, 20_000_00)
    page.locator("tr[data-family-id]", has_text=family).get_by_role("link", name=re.compile("Be om utgift")).click()
    page.wait_for_url(re.compile(r"/budsjett/ny"))


def _visible_goal_themes(page) -> set[str]:
    return set(page.eval_on_selector_all(
        "select[name=goal_id] option[data-theme]", "os => os.filter(o => !o.hidden && !o.disabled)"
        ".map(o => o.dataset.theme)"))


def test_the_goal_list_and_the_levels_follow_the_theme(page):
    sign_in(page, "caseworker")
    _open_form(page)
    themes = page.eval_on_selector_all("select[name=goal_id] option[data-theme]", "os => os.map(o => o.dataset.theme)")
    assert themes, "the demo family has open goals"
    theme_select = page.get_by_label("Tema", exact=True)
    levels = page.eval_on_selector("form[data-spend-form]", "f => JSON.parse(f.dataset.levels)")
    for theme in dict.fromkeys(themes + ["bolig", "arbeid"]):
        theme_select.select_option(value=theme)
        assert _visible_goal_themes(page) <= {theme}
        assert (theme in _visible_goal_themes(page)) == (theme in themes)
        level = levels.get(theme)
        assert page.get_by_label("Nivå i temaet nå").input_value() == (str(level) if level else "")
        assert page.get_by_label("Nivå dere håper på").input_value() == str(min(level + 1, 4) if level else 2)
    assert axe_serious(page) == []


def test_a_spend_with_kroner_as_people_write_them(page):
    sign_in(page, "caseworker")
    _open_form(page)
    goal = page.get_by_label("Målet utgiften skal hjelpe familien mot")
    first = goal.locator("option[data-theme]").first
    page.get_by_label("Tema", exact=True).select_option(value=first.get_attribute("data-theme"))
    goal.select_option(value=first.get_attribute("value"))
    page.get_by_label("Beløp i kroner").fill("kr 1 850,-")
    page.get_by_label("Mottaker").fill("Utleier AS")
    page.get_by_label("Hva pengene skal brukes til").fill("Flyttehjelp")
    page.get_by_label("Forventet effekt", exact=True).fill("Familien kommer i gang i ny bolig")
    page.get_by_role("button", name="Lagre som utkast").click()
    page.wait_for_url(re.compile(r"/budsjett/utgifter/\d+$"))
    assert page.get_by_text("Utkastet er lagret.").is_visible()
    assert page.get_by_text(re.compile(r"1\s850,00\s*kr")).first.is_visible()
