"""Min side end to end (issue 16): a parent and a 16-year-old sign in through the local OpenID
Provider, each sees exactly their own and the household's information (the parent also the younger
child's), the young person gives a rating that appears in the team's meeting form, withdraws his
consent and the agency's team member loses access at once, and both download their access log —
on a 320 px screen, axe clean.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests import factories
from tests.browser.conftest import axe_serious, screenshot, sign_in
from tests.support.oidc import configured

pytestmark = pytest.mark.browser

YEAR = date.today().year
PEOPLE = {
    "mor16": {"sub": "person-mor-1601", "name": "Mona Strand (test)", "given_name": "Mona"},
    "ung16": {"sub": "person-ung-1602", "name": "Jonas Strand (test)", "given_name": "Jonas"},
}
NURSE_EMAIL = "helse16@test.example"


def _world(app):
    """A family of the demo lab: a parent, a young person of 16, a child of 9; NAV (the lead's
    agency) holds the household's consent and one about the child; the health station only the
    young person's own. Returns the family's id and a one-time code for each of the two."""
    from sqlalchemy import select

    from velferdslab.auth.models import User
    from velferdslab.cases.gate import family_access
    from velferdslab.cases.minside import services
    from velferdslab.extensions import db

    with app.app_context():
        demo_lead = db.session.scalar(select(User).where(User.email == "investeringsleder@asker.demo.velferdslab.no"))
        lab = demo_lead.lab
        nav = factories.agency(lab, name="NAV Strand (test)")
        health = factories.agency(lab, name="Helsestasjon (test)", kind="helse")
        lead = factories.user(lab, roles=("team_lead",), agency=nav, name="Lars Leder", email="lead16@test.example")
        nurse = factories.user(lab, roles=("caseworker",), agency=health, name="Nora Helse", email=NURSE_EMAIL)
        family = factories.family(lab, name="Familien Strand (test)", agency=nav, members=[
            ("Mona", "Strand", YEAR - 42, "parent"), ("Jonas", "Strand", YEAR - 16, "young_person"),
            ("Lilly", "Strand", YEAR - 9, "child")])
        factories.team_member(family, lead, role="lead")
        factories.team_member(family, nurse)
        parent, young, child = sorted(family.members, key=lambda m: m.birth_year)
        factories.consent(family, nav, given_by=parent)
        factories.consent(family, nav, subject=child, given_by=parent, purpose="follow_up", categories=["skole"])
        factories.consent(family, health, subject=young, given_by=young, purpose="health")
        access = family_access(lead, family.id)
        codes = {who: services.create_invitation(access, member, actor=lead)[1]
                 for who, member in (("mor16", parent), ("ung16", young))}
        family_id = family.id
        db.session.commit()
    return family_id, codes


def _sign_in_family(browser, live_server, provider, username: str, code: str):
    context = browser.new_context(base_url=live_server, locale="nb-NO", accept_downloads=True)
    phone = context.new_page()
    phone.set_default_timeout(10_000)
    phone.set_viewport_size({"width": 320, "height": 740})
    phone.goto("/min-side")
    phone.get_by_role("link", name="Logg inn med ID-porten").click()
    phone.wait_for_url(lambda url: url.startswith(provider.issuer + "/authorize?"))
    phone.get_by_label("Person").select_option(username)
    phone.get_by_role("button", name="Sign in").click()
    phone.wait_for_url("**/min-side/koble")
    phone.get_by_label("Koden du fikk av investeringslederen").fill(code)
    phone.get_by_role("button", name="Fortsett").click()
    phone.wait_for_url("**/min-side")
    return context, phone


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), page.url


def _download_access_log(phone) -> None:
    phone.get_by_role("link", name="Hvem har sett hva").click()
    assert phone.get_by_test_id("log-line").count() > 0
    assert "Nora" not in phone.content()  # agency and role, never a staff name
    with phone.expect_download() as download:
        phone.get_by_role("link", name="Last ned loggen (PDF)").click()
    path = download.value.path()
    with open(path, "rb") as handle:
        assert handle.read(4) == b"%PDF"


def test_parent_and_young_person_on_min_side(browser, page, live_app, live_server, oidc_provider):
    for client in oidc_provider.clients.values():
        client.redirect_uris.append(live_server + "/min-side/logg-inn/tilbake")
        client.post_logout_redirect_uris.append(live_server + "/min-side/logg-inn")
    oidc_provider.people.update(PEOPLE)
    with configured(live_app, oidc_provider, only="family"):
        family_id, codes = _world(live_app)
        parent_ctx, parent = _sign_in_family(browser, live_server, oidc_provider, "mor16", codes["mor16"])
        young_ctx, young = _sign_in_family(browser, live_server, oidc_provider, "ung16", codes["ung16"])
        try:
            # The first page: the plan, the four levels explained; keyboard reachable, axe clean, 320 px.
            assert young.get_by_role("heading", name="Hva nivåene betyr").is_visible()
            assert young.get_by_text("Det går bra, og det holder seg").is_visible()
            assert axe_serious(young) == []
            _no_sideways_scroll(young)
            young.keyboard.press("Tab")
            assert young.evaluate("document.activeElement !== document.body")
            screenshot(young, "minside-home-320")

            # Each sees exactly their own and the household's consents (the parent also the child's).
            parent.get_by_role("link", name="Samtykker").click()
            parent_cards = parent.get_by_test_id("consent").all_inner_texts()
            assert any("hele husstanden" in text for text in parent_cards)
            assert any("Lilly Strand" in text for text in parent_cards)
            assert not any("Helsestasjon" in text for text in parent_cards)
            young.get_by_role("link", name="Samtykker").click()
            young_cards = young.get_by_test_id("consent").all_inner_texts()
            assert any("Helsestasjon (test)" in text for text in young_cards)
            assert any("hele husstanden" in text for text in young_cards)
            assert not any("Lilly" in text for text in young_cards)
            assert axe_serious(young) == []
            _no_sideways_scroll(young)

            # The young person's own rating before the meeting …
            young.get_by_role("link", name="Min vurdering").click()
            young.get_by_role("group", name="Bolig").get_by_label("Utsatt").check()
            young.get_by_label("Kommentar (valgfritt)").first.fill("Trangt på rommet")
            assert axe_serious(young) == []
            _no_sideways_scroll(young)
            young.get_by_role("button", name="Lagre vurderingen min").click()
            assert young.get_by_text("Vurderingen din er lagret").is_visible()
            screenshot(young, "minside-rating-saved-320")

            # … appears in the team's meeting form, marked as the family's own.
            sign_in(page, NURSE_EMAIL, factories.PASSWORD)
            page.goto(f"/familier/{family_id}/moter/ny")
            own = page.get_by_test_id("family-own-ratings")
            assert "Jonas om Bolig: Utsatt" in own.inner_text()
            assert "gitt av familien selv" in own.inner_text()
            assert page.goto(f"/familier/{family_id}/plan").status == 200

            # He withdraws his consent: the health station's member loses access at once.
            young.get_by_role("link", name="Samtykker").click()
            young.get_by_role("button", name="Trekk tilbake samtykket til Helsestasjon (test)").click()
            assert young.get_by_text("er trukket tilbake").first.is_visible()
            assert page.goto(f"/familier/{family_id}/plan").status == 403

            # Both download their access log.
            _download_access_log(young)
            _download_access_log(parent)
            assert axe_serious(parent) == []
            _no_sideways_scroll(parent)

            # Nynorsk on the family's pages, on a tablet as well.
            parent.set_viewport_size({"width": 768, "height": 1024})
            parent.get_by_role("link", name="Planen vår", exact=True).click()
            parent.get_by_role("link", name="Nynorsk").click()
            assert parent.get_by_role("heading", name="Kva nivåa tyder").is_visible()
            assert parent.evaluate("document.documentElement.lang") == "nn"
            assert axe_serious(parent) == []
            _no_sideways_scroll(parent)
            screenshot(parent, "minside-nynorsk-768")
            parent.get_by_role("link", name="Bokmål").click()
            assert parent.get_by_role("heading", name="Hva nivåene betyr").is_visible()
        finally:
            parent_ctx.close()
            young_ctx.close()
