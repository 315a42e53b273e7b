"""Issue 13, the meeting and the journey, in the browser: the four-step scale per theme and
perspective, pre-filled with the last rating, a change marked, the distance since the start, the
live suggestion (which agrees with the Python rule), a meeting with every rating unchanged in a
handful of clicks, and the saved meeting's page with its ratings and action changes."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import axe_serious, screenshot, sign_in
from tests.browser.test_cases_meeting import _open_family

pytestmark = pytest.mark.browser

MAX_CLICKS = 12


class Clicks:
    """Every click, check and key press the test makes goes through here, so it can count them."""

    def __init__(self, page) -> None:
        self.page = page
        self.count = 0

    def click(self, locator) -> None:
        self.count += 1
        locator.click()

    def check(self, locator) -> None:
        self.count += 1
        locator.check()

    def press(self, locator, key: str) -> None:
        self.count += 1
        locator.press(key)


@pytest.fixture(autouse=True)
def _no_drafts(live_app):
    """Each test starts without drafts (another test's autosave would fill its form)."""
    from sqlalchemy import delete

    from velferdslab.cases.meetings.models import FormDraft
    from velferdslab.extensions import db

    def clear():
        with live_app.app_context():
            db.session.execute(delete(FormDraft))
            db.session.commit()

    clear()
    yield
    import time

    time.sleep(1)  # after the page has closed: its last autosave must not fill the next test's form
    clear()


def _family_id(page) -> int:
    return int(re.search(r"/familier/(\d+)", page.url).group(1))


def _latest_ratings(live_app, family_id: int) -> dict[tuple[str, str], int]:
    from velferdslab.cases.journey.queries import journey_history

    with live_app.app_context():
        latest = journey_history(family_id).latest
        return {key: level for key, (level, _note) in latest.ratings.items()} if latest else {}


def _meeting_ratings(live_app, meeting_id: int) -> dict[tuple[str, str], int]:
    from velferdslab.cases.meetings.queries import decided_at

    with live_app.app_context():
        assessment, _actions = decided_at(meeting_id)
        return {(r.theme, r.perspective): r.level for r in assessment.ratings} if assessment else {}


def _groups(page) -> list[dict]:
    """Each radio group on the form: its name, the checked value, and the last assessment's level."""
    return page.eval_on_selector_all("[data-rating]", """els => els.map(el => ({
        name: el.querySelector('input[type=radio]').name,
        checked: (el.querySelector('input[type=radio]:checked') || {}).value ?? null,
        previous: el.dataset.previous, start: el.dataset.start}))""")


def test_a_meeting_with_every_rating_unchanged_takes_at_most_12_clicks(page, live_app):
    sign_in(page, "caseworker")
    _open_family(page)  # the count starts on the family page
    family_id = _family_id(page)
    before = _latest_ratings(live_app, family_id)
    assert before, "the demo family has an assessment to pre-fill from"
    clicks = Clicks(page)

    clicks.click(page.get_by_role("link", name="Registrer møte og vurdering"))
    page.wait_for_url(re.compile(r"/moter/ny$"))
    # Pre-filled: every perspective rated last time starts at that level, and nothing is marked.
    groups = _groups(page)
    assert groups and all(g["checked"] == g["previous"] for g in groups if g["previous"])
    assert page.locator(".perspective.changed").count() == 0
    # Who came: the caseworker, and the first family member (with role and age on the label).
    clicks.check(page.locator("#attendee_user_ids").get_by_label("Tina Teammedlem"))
    member = page.locator("#attendee_member_ids li").first
    assert re.search(r"\(\w+, \d+ år\)", member.inner_text()), member.inner_text()
    member_box = member.locator("input[type=checkbox]")
    member_box.focus()
    clicks.press(member_box, " ")  # a key, as the caseworker does on a tablet keyboard
    assert member_box.is_checked()
    with page.expect_navigation():
        clicks.click(page.get_by_role("button", name="Lagre møtet"))
    page.wait_for_url(re.compile(r"/moter/\d+$"))
    assert page.get_by_text("Møtet er registrert.").is_visible()
    assert clicks.count <= MAX_CLICKS, clicks.count

    # The unchanged, pre-filled ratings were recorded as that day's assessment.
    meeting_id = int(page.url.rsplit("/", 1)[1])
    recorded = _meeting_ratings(live_app, meeting_id)
    assert recorded and recorded == {k: v for k, v in before.items() if k in recorded}
    assert {k for k in before if k[1] == "team"} <= set(recorded)
    table = page.locator("table.meeting-ratings")
    assert table.is_visible()
    assert table.locator("tbody tr").count() == len({t for t, _p in recorded})


def _set_team_levels(page, levels: list[int]) -> None:
    for group, level in zip(page.locator("[data-rating]:has(input[data-team-level])").all(), levels, strict=True):
        group.locator(f"input[value='{level}']").check()


def test_a_change_is_marked_the_distance_shown_and_the_suggestion_follows(page, live_app):
    from velferdslab.cases.themes import LEVEL_NAMES, suggest_overall_level

    sign_in(page, "caseworker")
    _open_family(page)
    page.get_by_role("link", name="Registrer møte og vurdering").click()
    page.wait_for_url(re.compile(r"/moter/ny$"))

    # Change the first theme's team level with the arrow keys, as native radios work.
    group = page.locator("[data-rating]:has(input[data-team-level])").first
    previous = group.get_attribute("data-previous")
    start = group.get_attribute("data-start")
    assert previous and start
    checked = group.locator("input[type=radio]:checked")
    checked.focus()
    page.keyboard.press("ArrowUp" if previous == "4" else "ArrowDown")
    now = group.locator("input[type=radio]:checked").get_attribute("value")
    assert now != previous
    with live_app.test_request_context():
        names = {k: str(v).lower() for k, v in LEVEL_NAMES.items()}
    assert "changed" in group.get_attribute("class")
    change = group.locator(".rating-change")
    assert change.inner_text() == f"Endret fra {names[int(previous)]}"
    assert change.get_attribute("aria-live") == "polite"
    distance = group.locator(".rating-distance").inner_text()
    if now:
        assert distance.startswith(f"Siden start: {names[int(start)]} → {names[int(now)]} (")
    else:
        assert distance == f"Ved start: {names[int(start)]}"
    # The group's description carries the mark for screen readers.
    described = group.locator("fieldset.scale").get_attribute("aria-describedby")
    assert group.locator(f"[id='{described.split()[0]}']").inner_text().startswith("Endret fra")
    # Back to the last level: the mark goes away.
    group.locator(f"input[value='{previous}']").check()
    assert "changed" not in group.get_attribute("class")
    assert group.locator(".rating-change").inner_text() == ""

    # The live suggestion follows the team's levels, and agrees with cases/themes.py.
    n = page.locator("[data-rating]:has(input[data-team-level])").count()
    output = page.locator("output.suggestion")
    cases = [[4] * n, [1] + [4] * (n - 1), [1, 3, 3, 4] + [3] * (n - 4), [2, 3, 3] + [3] * (n - 3),
             [1, 1, 1, 4, 4, 4, 4][:n] + [4] * max(0, n - 7), [2, 2] + [4] * (n - 2)]
    seen = set()
    for levels in cases:
        _set_team_levels(page, levels)
        with live_app.test_request_context():
            expected = str(LEVEL_NAMES[suggest_overall_level(levels)])
        assert output.inner_text() == f"Forslag nå: {expected}.", levels
        seen.add(expected)
    assert len(seen) >= 2  # the suggestion changed as the levels changed


def test_the_saved_meeting_shows_its_ratings_and_action_changes(page, live_app):
    sign_in(page, "caseworker")
    _open_family(page)
    page.get_by_role("link", name="Registrer møte og vurdering").click()
    page.wait_for_url(re.compile(r"/moter/ny$"))
    group = page.locator("[data-rating]:has(input[data-team-level])").first
    previous = group.get_attribute("data-previous")
    group.locator(f"input[value='{'2' if previous != '2' else '3'}']").check()
    assert page.locator(".perspective.changed").count() == 1
    page.get_by_label("Tolk var med på møtet").check()
    page.locator("#attendee_user_ids").get_by_label("Tina Teammedlem").check()
    member = page.locator("#attendee_member_ids li").first
    member_label = member.inner_text().strip()
    member.locator("input[type=checkbox]").check()
    # An open action moves on, and a new one is agreed.
    status = page.locator("select[id^=action_][id$=_status]").first
    assert status.count(), "the demo family has open actions"
    title = status.locator("xpath=ancestor::tr").locator("th").inner_text()
    labels = {"planned": "planlagt", "in_progress": "pågår", "done": "utført"}
    current = status.input_value()
    target = "done" if current != "done" else "in_progress"
    status.select_option(target)
    page.locator("#new_0_title").fill("Ringe skolen (skala)")
    owner = page.locator("#new_0_owner option", has_text="Tina Teammedlem").get_attribute("value")
    page.locator("#new_0_owner").select_option(owner)
    with page.expect_navigation():
        page.get_by_role("button", name="Lagre møtet").click()
    page.wait_for_url(re.compile(r"/moter/\d+$"))

    assert page.locator("#meeting-interpreter").inner_text() == "Tolk var med"
    assert member_label in page.locator(".facts").inner_text()  # "Name (role, NN år)", as on the form
    table = page.locator("table.meeting-ratings")
    assert table.get_by_role("columnheader", name="Teamet").is_visible()
    assert table.get_by_role("columnheader", name="Familien").is_visible()
    first_row = table.locator("tbody tr").first
    assert re.search("Utsatt|Stabil", first_row.locator("td").first.inner_text())
    changes = page.locator("ul.action-changes")
    assert f"«{title}»: {labels[current]} → {labels[target]}" in changes.inner_text()
    assert page.get_by_role("link", name="Ringe skolen (skala)").is_visible()
    assert axe_serious(page) == []
    page.set_viewport_size({"width": 1280, "height": 1450})
    screenshot(page, "meeting-saved")


@pytest.mark.parametrize("width", [1366, 768])
def test_the_scale_form_is_axe_clean(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "caseworker")
    _open_family(page)
    page.get_by_role("link", name="Registrer møte og vurdering").click()
    page.wait_for_url(re.compile(r"/moter/ny$"))
    group = page.locator("[data-rating]:has(input[data-team-level])").first
    previous = group.get_attribute("data-previous")
    group.locator(f"input[value='{'3' if previous != '3' else '2'}']").check()  # a change is marked
    assert axe_serious(page) == []
    # Every option is a large touch target (44 px preferred; 24 px is the hard floor).
    sizes = page.eval_on_selector_all("label.scale-option", "els => els.map(e => e.getBoundingClientRect().height)")
    assert sizes and min(sizes) >= 44
    if width == 1366:
        page.get_by_role("heading", name="Vurdering av alle temaene").evaluate("el => el.scrollIntoView()")
        screenshot(page, "meeting-scale-form")


@pytest.mark.parametrize("width", [320, 768, 1024, 1366])
def test_the_scale_form_has_no_sideways_scroll(page, width):
    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, "caseworker")
    _open_family(page)
    page.get_by_role("link", name="Registrer møte og vurdering").click()
    page.wait_for_url(re.compile(r"/moter/ny$"))
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')].filter(
        e => !e.closest('.table-scroll') && e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
    assert overflow <= 0, f"{overflow}px sideways scroll at {width}px: {wide}"
