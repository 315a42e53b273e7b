"""A family member signs in through the local OpenID Provider and reaches Min side (issue 16).

The team lead makes the one-time code on the family's sign-in page, a family member (in a browser
of their own) presses "Logg inn med ID-porten", signs in at the provider, types the code once and
lands on /min-side; signing out ends the session here and at the provider.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in
from tests.support.oidc import configured

pytestmark = pytest.mark.browser


def _led_family(app):
    from sqlalchemy import select

    from velferdslab.auth.models import User
    from velferdslab.cases.gate import accessible_families
    from velferdslab.extensions import db

    with app.app_context():
        lead = db.session.scalar(select(User).where(User.email == "investeringsleder@asker.demo.velferdslab.no"))
        access = next(a for a in accessible_families(lead) if a.is_lead and not a.gated)
        member = sorted(access.family.members, key=lambda m: m.birth_year)[0]
        return access.family.id, member.first_name


def test_a_family_member_signs_in_through_the_provider_and_reaches_min_side(
    browser, page, live_app, live_server, oidc_provider
):
    for client in oidc_provider.clients.values():
        client.redirect_uris.append(live_server + "/min-side/logg-inn/tilbake")
        client.post_logout_redirect_uris.append(live_server + "/min-side/logg-inn")
    with configured(live_app, oidc_provider, only="family"):
        family_id, first_name = _led_family(live_app)
        sign_in(page, "team_lead")
        page.goto(f"/familier/{family_id}")
        page.get_by_role("link", name="Innlogging for familien").click()
        page.get_by_role("button", name=f"Lag ny kode for {first_name}").click()
        code = page.get_by_test_id("invitation-code").inner_text()
        assert len(code) == 14

        family = browser.new_context(base_url=live_server, locale="nb-NO")
        try:
            phone = family.new_page()
            phone.set_default_timeout(10_000)
            phone.set_viewport_size({"width": 360, "height": 740})
            phone.goto("/min-side")
            assert phone.url.endswith("/min-side/logg-inn")
            phone.get_by_role("link", name="Logg inn med ID-porten").click()
            phone.wait_for_url(lambda url: url.startswith(oidc_provider.issuer + "/authorize?"))
            phone.get_by_label("Person").select_option("kari")
            phone.get_by_role("button", name="Sign in").click()
            phone.wait_for_url("**/min-side/koble")
            phone.get_by_label("Koden du fikk av investeringslederen").fill(code)
            phone.get_by_role("button", name="Fortsett").click()
            phone.wait_for_url("**/min-side")
            assert phone.get_by_text(f"Du er logget inn som {first_name}.").is_visible()
            # The family's cookie is its own, scoped to /min-side.
            cookie = next(c for c in family.cookies() if c["name"] == "velferdslab_familie")
            assert cookie["path"] == "/min-side" and cookie["httpOnly"]
            # A staff page refuses the family's session.
            phone.goto(f"/familier/{family_id}")
            assert "/logg-inn" in phone.url and "/min-side" not in phone.url
            phone.goto("/min-side")
            phone.get_by_role("button", name="Logg ut").click()
            phone.wait_for_url("**/min-side/logg-inn")
            assert oidc_provider.logouts[-1]["id_token_hint"]
            phone.goto("/min-side")
            assert phone.url.endswith("/min-side/logg-inn")
        finally:
            family.close()
