"""Issue 13, the team lead in the browser: adding a member whose agency has no consent warns; ending
a membership, handing over the lead and withdrawing a consent each ask first and can be undone from
the success message; the family page puts its summary first. Axe clean, and no sideways scroll at
320, 768, 1024 and 1366 px on the team, consent and family pages.

Every change is undone before the test ends (and the added member removed), so the shared demo lab
is left as it was for the other browser tests."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import axe_serious, screenshot, sign_in

pytestmark = pytest.mark.browser

FAMILY = "Familien Andreassen"      # led by the demo team lead; no young person of consent age
NEWCOMER = "Omar Johannessen"       # Rus og avhengighet: the family has given that agency no consent
NEW_LEAD = "Jonas Jørgensen"
WIDTHS = (320, 768, 1024, 1366)


def _cleanup(live_app, family_id: int) -> None:
    from sqlalchemy import delete, select

    from velferdslab.auth.models import User
    from velferdslab.extensions import db
    from velferdslab.teams.models import TeamMembership

    with live_app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.name == NEWCOMER))
        db.session.execute(delete(TeamMembership).where(TeamMembership.family_id == family_id,
                                                        TeamMembership.user_id == user_id))
        db.session.commit()


@pytest.fixture
def family_id(live_app):
    from sqlalchemy import select

    from velferdslab.cases.household.models import Family
    from velferdslab.extensions import db

    with live_app.app_context():
        found = db.session.scalar(select(Family.id).where(Family.household_name == FAMILY))
    assert found is not None
    _cleanup(live_app, found)
    yield found
    _cleanup(live_app, found)


def _no_sideways_scroll(page) -> None:
    original = page.viewport_size
    try:
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.wait_for_timeout(50)
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px at {width}px"
    finally:
        page.set_viewport_size(original or {"width": 1280, "height": 720})


def _flash(page, text: str):
    message = page.locator(".flashes").filter(has_text=text)
    message.wait_for()
    return message


def test_the_team_lead_builds_and_changes_the_team_with_warnings_confirmations_and_undo(page, family_id):
    sign_in(page, "team_lead")
    page.goto(f"/familier/{family_id}/team")
    _no_sideways_scroll(page)

    # Adding a member whose agency has no consent: the choice says so, and so does the message after.
    person = page.get_by_label("Person")
    option = person.locator("option", has_text=NEWCOMER)
    assert "uten samtykke fra familien" in option.inner_text()
    person.select_option(label=option.inner_text())
    page.get_by_role("button", name="Legg til", exact=True).click()
    page.wait_for_url(re.compile(r"/team$"))
    _flash(page, f"{NEWCOMER} er lagt til i teamet.")
    warning = page.locator(".flash-warning")
    assert "Familien har ikke gitt gyldig samtykke til Rus og avhengighet" in warning.inner_text()
    listed = page.locator("section.team-warnings")
    assert f"{NEWCOMER} ser bare familiens navn" in listed.inner_text()
    assert "uten samtykke" in page.get_by_role("row").filter(has_text=NEWCOMER).inner_text()
    assert axe_serious(page) == []
    screenshot(page, "team-warning")

    # Ending the membership asks first; the success message offers to undo it.
    row = page.get_by_role("row").filter(has_text=NEWCOMER)
    row.get_by_role("button", name="Avslutt").click()
    page.get_by_role("heading", name=f"Avslutte medlemskapet til {NEWCOMER}?").wait_for()
    assert f"{NEWCOMER} mister tilgang til familien fra" in page.locator("main").inner_text()
    assert axe_serious(page) == []
    _no_sideways_scroll(page)
    screenshot(page, "confirm-end-membership")
    page.get_by_role("button", name="Ja, avslutt medlemskapet").click()
    done = _flash(page, f"Medlemskapet til {NEWCOMER} er avsluttet.")
    assert axe_serious(page) == []
    done.get_by_role("button", name="Angre").click()
    _flash(page, f"Avslutningen er angret: {NEWCOMER} er med i teamet igjen.")

    # Handing over the lead asks first and says who becomes what; undone while the new lead did nothing.
    page.get_by_label("Ny investeringsleder").select_option(label=NEW_LEAD)
    page.get_by_role("button", name="Overlat ledelsen").click()
    page.get_by_role("heading", name=f"Overlate ledelsen til {NEW_LEAD}?").wait_for()
    assert f"Du blir vanlig medlem; {NEW_LEAD} blir investeringsleder fra" in page.locator("main").inner_text()
    assert axe_serious(page) == []
    page.get_by_role("button", name="Ja, overlat ledelsen").click()
    done = _flash(page, f"Ledelsen av teamet er overlatt til {NEW_LEAD}.")
    assert page.get_by_role("heading", name="Legg til i teamet").count() == 0  # no longer the lead
    done.get_by_role("button", name="Angre").click()
    _flash(page, "Lederskiftet er angret: Ivar Investeringsleder er investeringsleder igjen.")
    page.get_by_role("heading", name="Legg til i teamet").wait_for()


def test_the_team_lead_withdraws_a_consent_with_confirmation_and_undoes_it(page, family_id):
    sign_in(page, "team_lead")
    page.goto(f"/familier/{family_id}/samtykke")
    _no_sideways_scroll(page)
    assert axe_serious(page) == []
    page.get_by_role("link", name="Trekk tilbake (Barnevernstjenesten)").click()
    page.get_by_role("button", name="Trekk tilbake").click()
    page.get_by_role("heading", name="Trekke tilbake samtykket for Barnevernstjenesten?").wait_for()
    text = page.locator("main").inner_text()
    assert "Tina Teammedlem mister innsyn i vurderinger, notater, mål og tiltak" in text
    assert axe_serious(page) == []
    page.get_by_role("button", name="Ja, trekk tilbake samtykket").click()
    done = _flash(page, "Samtykket for Barnevernstjenesten (Samarbeid i investeringsteamet) er trukket tilbake.")
    done.get_by_role("button", name="Angre").click()
    _flash(page, "Tilbaketrekningen er angret: samtykket for Barnevernstjenesten gjelder som før.")
    _no_sideways_scroll(page)


def test_the_family_page_shows_the_summary_first(page, family_id):
    sign_in(page, "team_lead")
    page.goto(f"/familier/{family_id}")
    order = page.evaluate("""() => {
        const ids = ['family-summary', 'family-journey', 'family-panels', 'duken-h', 'actions-h', 'meetings-h',
                     'members-h', 'team-h', 'consent-h'];
        const all = Array.from(document.querySelectorAll('main *'));
        return ids.map(id => all.indexOf(document.getElementById(id)));
    }""")
    assert -1 not in order and order == sorted(order), order
    summary = page.locator("#family-summary")
    for part in ("Samlet nivå", "Neste møte", "Forfalte tiltak"):
        assert part in summary.inner_text()
    assert summary.get_by_role("link", name="Registrer møte og vurdering").is_visible()
    panels = page.locator("#family-panels")
    assert panels.locator("#budget-h").count() == 1 and panels.locator("#progress-report-heading").count() == 1
    assert axe_serious(page) == []
    _no_sideways_scroll(page)
    screenshot(page, "family-page-summary")
