"""Issue 14 in the browser: a county user (role ``region``) reads the outcome report across labs,
and management reads the predicted-versus-actual section (*Forventet og faktisk endring*) of the
outcome report — both axe clean, without sideways scroll, at 1366 px and at tablet width."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import axe_serious, screenshot, sign_in

pytestmark = pytest.mark.browser

WIDTHS = (768, 1366)
REGION_EMAIL = "fylke@asker.demo.velferdslab.no"
REGION_PASSWORD = "Blåbær-ved-Holmenkollen-77"


def _fits(page, where: str, shot: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_timeout(50)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{where} scrolls sideways at {width} px ({scroll})"
        assert axe_serious(page) == [], f"{where} at {width} px"
        screenshot(page, f"{shot}-{width}")


@pytest.fixture
def region_user(live_app):
    from sqlalchemy import select

    from velferdslab.auth import services
    from velferdslab.auth.models import Lab, User
    from velferdslab.extensions import db
    from velferdslab.reports import services as report_services

    with live_app.app_context():
        lab = db.session.scalars(select(Lab).order_by(Lab.id)).first()
        user = db.session.scalar(select(User).where(User.email == REGION_EMAIL))
        if user is None:
            user = services.create_user(lab, name="Fylkets leser", email=REGION_EMAIL, password=REGION_PASSWORD,
                                        roles={"region"})
            report_services.grant_lab_access(user, lab)
        db.session.commit()
    return REGION_EMAIL


def test_a_region_user_reads_the_report_across_labs(page, region_user):
    sign_in(page, region_user, REGION_PASSWORD)
    page.goto("/rapporter/resultater/laber?start=2015-01-01")
    heading = page.get_by_role("heading", level=1)
    assert heading.is_visible()
    assert page.locator("#table-flow").is_visible()
    _fits(page, "report across labs", "report-labs")


def test_management_reads_predicted_against_actual_change(page):
    sign_in(page, "manager")
    page.goto("/rapporter/resultater?start=2015-01-01")
    page.wait_for_url(re.compile(r"start="))
    section = page.locator("section#effects")
    assert section.get_by_role("heading", name="Forventet og faktisk endring").is_visible()
    assert section.locator("table").count() == 2
    section.scroll_into_view_if_needed()
    _fits(page, "predicted against actual", "report-effects")
