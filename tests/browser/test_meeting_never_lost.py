"""Issue 13, never lose work, in the browser: Enter in a one-line field does not send the meeting
form, an untouched form is refused with a message, and the work survives an expired session."""

import re

import pytest

from tests.browser.conftest import axe_serious, sign_in
from tests.browser.test_cases_meeting import _open_family

pytestmark = pytest.mark.browser


def _meeting_form(page) -> str:
    _open_family(page)
    page.get_by_role("link", name="Registrer møte og vurdering").click()
    page.wait_for_url(re.compile(r"/moter/ny$"))
    return page.url


def test_enter_in_a_note_field_does_not_send_the_form(page):
    sign_in(page, "caseworker")
    url = _meeting_form(page)
    requests = []
    page.on("request", lambda r: requests.append(r) if r.method == "POST" and "/moter/ny" in r.url else None)
    note = page.locator("#team_bolig_note")
    note.click()
    page.keyboard.type("Flytter snart")
    page.keyboard.press("Enter")
    page.locator("#new_0_title").click()
    page.keyboard.type("Ringe utleier")
    page.keyboard.press("Enter")
    # A textarea keeps its newline.
    page.get_by_label("Notater").click()
    page.keyboard.type("Linje en")
    page.keyboard.press("Enter")
    page.keyboard.type("Linje to")
    page.wait_for_timeout(300)
    assert requests == [] and page.url == url
    assert page.get_by_label("Notater").input_value() == "Linje en\nLinje to"
    assert note.input_value() == "Flytter snart"


def test_an_untouched_meeting_form_is_refused_with_a_message(page):
    sign_in(page, "caseworker")
    url = _meeting_form(page)
    page.get_by_role("button", name="Lagre møtet").click()
    page.wait_for_load_state()
    alert = page.locator("#meeting-refusal")
    assert alert.is_visible() and "Møtet er tomt" in alert.inner_text()
    assert page.url == url
    assert axe_serious(page) == []
