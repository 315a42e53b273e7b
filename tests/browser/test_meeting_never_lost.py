"""Issue 13, never lose work, in the browser: Enter in a one-line field does not send the meeting
form, an untouched form is refused with a message, and the work survives an expired session."""

import re

import pytest

from tests.browser.conftest import axe_serious, screenshot, sign_in
from tests.browser.test_cases_meeting import _open_family

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _no_drafts(live_app):
    """Each test starts without drafts (another test's autosave would fill its form)."""
    from sqlalchemy import delete

    from velferdslab.cases.meetings.models import FormDraft
    from velferdslab.extensions import db

    with live_app.app_context():
        db.session.execute(delete(FormDraft))
        db.session.commit()


def _meeting_form(page) -> str:
    _open_family(page)
    page.get_by_role("link", name="Registrer møte og vurdering").click()
    page.wait_for_url(re.compile(r"/moter/ny$"))
    return page.url


def test_enter_in_a_note_field_does_not_send_the_form(page):
    sign_in(page, "caseworker")
    url = _meeting_form(page)
    requests = []
    page.on("request", lambda r: requests.append(r) if r.method == "POST" and r.url.endswith("/moter/ny") else None)
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
    # What was typed is autosaved (and nothing is left unsaved to arrive after the test).
    page.locator("#draft-status").filter(has_text="Utkast lagret").wait_for()


def test_an_untouched_meeting_form_is_refused_with_a_message(page):
    sign_in(page, "caseworker")
    url = _meeting_form(page)
    # The levels start where the last assessment left them, and sent as they are they are that
    # day's rating (issue 13, the scale): a meeting with nothing recorded is one where the themes
    # were not assessed either. (The interpreter box, ticked for a family that needs one, does not
    # make a meeting.)
    page.get_by_label("Temaene ble ikke vurdert på dette møtet").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Lagre møtet").click()
    alert = page.locator("#meeting-refusal")
    assert alert.is_visible(), page.locator("main").inner_text()[:1500]
    assert "Møtet er tomt" in alert.inner_text()
    screenshot(page, "meeting-empty-refused")
    assert page.url == url
    assert axe_serious(page) == []


def _end_sessions(live_app, email: str) -> None:
    """The session ends under the user's hands (as if the idle limit had passed)."""
    from sqlalchemy import select, update

    from velferdslab.auth.models import AuthSession, User
    from velferdslab.core.models import utcnow
    from velferdslab.extensions import db

    with live_app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == email))
        db.session.execute(update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
                           .values(revoked_at=utcnow()))
        db.session.commit()


def test_the_session_ends_mid_form_and_the_draft_survives_a_new_sign_in(page, live_app):
    from tests.browser.conftest import DEMO_LOGINS, DEMO_PASSWORD

    sign_in(page, "caseworker")
    url = _meeting_form(page)
    text = "Familien fortalte om flyttingen. " * 15  # ~490 characters typed during the meeting
    page.get_by_label("Notater").fill(text)
    page.locator("#team_bolig_note").fill("Bedre enn sist")
    status = page.locator("#draft-status")
    status.filter(has_text="Utkast lagret").wait_for()
    _end_sessions(live_app, DEMO_LOGINS["caseworker"])

    page.get_by_role("button", name="Lagre møtet").click()
    page.wait_for_url(re.compile(r"/logg-inn\?next="))
    assert page.get_by_text("Økten din er avsluttet").is_visible()
    page.get_by_label("E-post").fill(DEMO_LOGINS["caseworker"])
    page.get_by_label("Passord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Logg inn").click()
    page.wait_for_url(url)
    assert page.get_by_text(re.compile(r"Utkast fra \d\d:\d\d er hentet fram")).is_visible()
    assert page.get_by_label("Notater").input_value() == text
    assert page.locator("#team_bolig_note").input_value() == "Bedre enn sist"
    assert axe_serious(page) == []
    screenshot(page, "meeting-draft-restored")

    with page.expect_navigation():
        page.get_by_role("button", name="Forkast utkastet").click()
    assert page.get_by_text("Utkastet er forkastet.").is_visible()
    assert page.get_by_label("Notater").input_value() == ""


def test_the_page_says_when_the_session_has_ended(page, live_app):
    sign_in(page, "caseworker")
    _meeting_form(page)
    page.get_by_label("Notater").fill("Noe skrevet")
    _end_sessions(live_app, "teammedlem@asker.demo.velferdslab.no")
    alert = page.locator("#session-warning")
    alert.filter(has_text="Økten din er avsluttet").wait_for()
    assert alert.get_attribute("role") == "alert"
    assert alert.get_by_role("link", name="Logg inn igjen for å fortsette").get_attribute("href").startswith(
        "/logg-inn?next=")


def test_a_warning_comes_two_minutes_before_the_absolute_limit(page, live_app):
    from datetime import timedelta

    sign_in(page, "caseworker")
    old = live_app.config["SESSION_ABSOLUTE_TIMEOUT"]
    live_app.config["SESSION_ABSOLUTE_TIMEOUT"] = timedelta(minutes=2, seconds=10)  # read per request
    try:
        _meeting_form(page)
        alert = page.locator("#session-warning")
        alert.filter(has_text="Økten din avsluttes klokka").wait_for(timeout=20_000)
        assert alert.is_visible() and alert.get_attribute("role") == "alert"
        assert axe_serious(page) == []
        screenshot(page, "meeting-session-warning")
    finally:
        live_app.config["SESSION_ABSOLUTE_TIMEOUT"] = old


def test_an_open_form_keeps_a_short_idle_session_alive(page, live_app):
    from datetime import timedelta

    sign_in(page, "caseworker")
    old = live_app.config["SESSION_IDLE_TIMEOUT"]
    live_app.config["SESSION_IDLE_TIMEOUT"] = timedelta(seconds=12)
    try:
        _meeting_form(page)
        page.wait_for_timeout(20_000)  # no typing for longer than the idle limit: the keep-alive pings
        page.get_by_label("Notater").fill("Fortsatt innlogget")
        page.get_by_role("button", name="Lagre møtet").click()
        page.wait_for_url(re.compile(r"/moter/\d+$"))
        assert page.get_by_text("Møtet er registrert.").is_visible()
    finally:
        live_app.config["SESSION_IDLE_TIMEOUT"] = old
