"""Issue 15, every member's voice, in the browser: a child's own rating recorded on the meeting
form with the children's three-answer scale, the disagreement with the team flagged live ("Ulike
syn") and on the saved meeting's page and the family page."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import axe_serious, screenshot, sign_in
from tests.browser.test_cases_meeting import _open_family
from tests.browser.test_meeting_scale import _family_id, _no_drafts  # noqa: F401 - an autouse fixture

pytestmark = pytest.mark.browser


def _add_child(live_app, family_id: int) -> int:
    """A 9-year-old in the family (the demo households may have none under 12)."""
    from velferdslab.cases.household.models import FamilyMember
    from velferdslab.core.models import today_local
    from velferdslab.extensions import db

    with live_app.app_context():
        found = (
            db.session.query(FamilyMember)
            .filter_by(family_id=family_id, first_name="Mia", last_name="Stemme")
            .one_or_none()
        )
        if found is None:
            found = FamilyMember(
                family_id=family_id,
                first_name="Mia",
                last_name="Stemme",
                birth_year=today_local().year - 9,
                role="child",
            )
            db.session.add(found)
            db.session.commit()
        return found.id


def test_a_childs_own_rating_is_recorded_and_the_disagreement_shown(page, live_app):
    sign_in(page, "caseworker")
    _open_family(page)
    family_id = _family_id(page)
    child_id = _add_child(live_app, family_id)
    page.goto(f"/familier/{family_id}/moter/ny")
    # The first theme on the form, and the child's own voice on it: three faces, no fourth step.
    theme = page.locator("input[data-team-level]").first.get_attribute("name").removeprefix("team_")
    fieldset = page.locator("fieldset.theme-rating").filter(has=page.locator(f"input[name=team_{theme}]"))
    child = fieldset.locator("[data-rating]").filter(has=page.locator(f"input[name=m{child_id}_{theme}]"))
    assert "Mia (barn, 9 år)" in child.locator("legend").first.inner_text()
    assert child.locator("input[type=radio]").count() == 4  # ikke bra, sånn passe, bra, ikke vurdert
    assert child.get_by_text("☹ Ikke bra").is_visible() and child.get_by_text("🙂 Bra").is_visible()
    # The team says stabil, Mia says ikke bra (level 1): two steps apart, flagged as she answers.
    fieldset.locator(f"input[name=team_{theme}][value='3']").check()
    child.get_by_text("☹ Ikke bra").click()
    flag = fieldset.locator(".voices-differ")
    assert flag.inner_text() == "Ulike syn"
    child.get_by_label("Mia (barn, 9 år): kort merknad").fill("Det er trangt hjemme")
    screenshot(page, "member-voices-form")
    with page.expect_navigation():
        page.get_by_role("button", name="Lagre møtet").click()
    page.wait_for_url(re.compile(r"/moter/\d+$"))
    assert page.get_by_text("Møtet er registrert.").is_visible()

    # Stored as Mia's own view on the children's scale.
    meeting_id = int(page.url.rsplit("/", 1)[1])
    from velferdslab.cases.meetings.queries import decided_at

    with live_app.app_context():
        assessment, _actions = decided_at(meeting_id)
        mine = [
            (r.theme, r.perspective, r.level, r.scale, r.note)
            for r in assessment.ratings
            if r.given_by_member_id == child_id
        ]
    assert mine == [(theme, "member", 1, "child", "Det er trangt hjemme")]

    # Side by side on the meeting's page, and on the family page, with the flag.
    voices = page.locator("table.voices")
    row = voices.locator("tr.disagree").filter(has_text="Mia")
    assert row.count() == 1 and "Ulike syn" in row.inner_text() and "Ikke bra" in row.inner_text()
    assert axe_serious(page) == []
    page.goto(f"/familier/{family_id}")
    family_row = page.locator("#member-voices tr.disagree").filter(has_text="Mia")
    assert family_row.count() == 1 and "Ulike syn" in family_row.inner_text()
    screenshot(page, "member-voices-family")
