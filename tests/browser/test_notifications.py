"""The bell in the header counts the unread notifications, the list (*Varsler*) shows them and
each one leads to its item, in Chromium as the team lead uses it (issue 18)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.browser.conftest import DEMO_LOGINS, axe_serious, sign_in

pytestmark = pytest.mark.browser


def _notify_lead(app, count: int) -> tuple[int, list[str]]:
    from velferdslab.auth.models import User
    from velferdslab.cases.gate import accessible_families
    from velferdslab.extensions import db
    from velferdslab.notify import services
    from velferdslab.notify.models import Kind

    with app.app_context():
        lead = db.session.scalar(select(User).where(User.email == DEMO_LOGINS["team_lead"]))
        family = next(a.family for a in accessible_families(lead) if not a.gated)
        links = []
        for n, kind in enumerate([Kind.ACTION_OVERDUE, Kind.MEETING_TOMORROW, Kind.CONSENT_EXPIRING][:count]):
            link = services.path_for("cases.family_page", family_id=family.id)
            services.notify(lead, kind, link=link, dedupe_key=f"browser-test:{n}", family_id=family.id)
            links.append(link)
        db.session.commit()
        return services.unread_count(lead), links


def test_the_bell_counts_and_the_list_leads_to_the_item(page, live_app):
    unread, links = _notify_lead(live_app, 3)
    assert unread >= 3
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, "team_lead")
    bell = page.locator(".site-header a.bell")
    assert bell.locator(".count").inner_text().split()[0] == str(unread)
    bell.click()
    page.wait_for_url(re.compile(r"/varsler$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Varsler"
    items = page.locator(".notification-list li.unread")
    assert items.count() == unread
    assert page.get_by_role("link", name="Et tiltak du eier har passert fristen").count() >= 1
    assert axe_serious(page) == []

    page.get_by_role("link", name="Et tiltak du eier har passert fristen").first.click()
    page.wait_for_url(re.compile(re.escape(links[0]) + "$"))
    assert page.locator(".site-header a.bell .count").inner_text().split()[0] == str(unread - 1)

    page.goto("/varsler")
    page.get_by_role("button", name="Merk alle som lest").click()
    page.wait_for_url(re.compile(r"/varsler$"))
    assert page.locator(".site-header a.bell .count").count() == 0
    assert page.locator(".notification-list li.unread").count() == 0
