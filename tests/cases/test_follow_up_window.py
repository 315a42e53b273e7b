"""A follow-up assessment is dated near its due date (issue 14): closure + 6 or + 12 months, ± 2
months. Outside the window the API answers 422 and the form a Norwegian message, and nothing is
saved."""

from datetime import timedelta

from sqlalchemy import func, select

from tests import factories
from tests.cases.world import ratings
from velferdslab.cases.enrolment.services import close_enrolment, current_enrolment
from velferdslab.cases.journey.models import JourneyAssessment
from velferdslab.cases.rules import add_months
from velferdslab.extensions import db


def _close(world, days_ago: int):
    enrolment = current_enrolment(world.family.id)
    close_enrolment(world.access(world.lead), enrolment, actor=world.lead,
                    closed_on=world.today - timedelta(days=days_ago), reason="goals_reached")
    db.session.commit()
    return enrolment


def _follow_ups(world) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(JourneyAssessment).where(
        JourneyAssessment.family_id == world.family.id, JourneyAssessment.kind.like("follow_up%")))


def test_api_refuses_a_12_month_follow_up_one_month_after_closure(world, login):
    _close(world, 31)
    client = login(world.lead)
    response = client.post(f"/api/v1/families/{world.family.id}/assessments",
                           json={"assessed_on": world.today.isoformat(), "kind": "follow_up_12", "ratings": ratings()})
    assert response.status_code == 422, response.get_data(as_text=True)
    message = response.get_json()["errors"]["assessed_on"][0]
    assert "12 måneder" in message and "2 måneder slingringsmonn" in message
    assert _follow_ups(world) == 0


def test_api_takes_a_6_month_follow_up_inside_the_window(world, login):
    enrolment = _close(world, 200)
    client = login(world.lead)
    day = add_months(enrolment.closed_on, 6)
    assert day <= world.today
    response = client.post(f"/api/v1/families/{world.family.id}/assessments",
                           json={"assessed_on": day.isoformat(), "kind": "follow_up_6", "ratings": ratings()})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert _follow_ups(world) == 1


def test_form_refuses_a_follow_up_outside_the_window(world, login):
    _close(world, 31)
    client = login(world.lead)
    url = f"/familier/{world.family.id}/vurderinger/ny"
    page = client.get(url)
    assert page.status_code == 200
    data = {f"team_{r['theme']}": "2" for r in ratings()} | {
        "assessed_on": world.today.isoformat(), "kind": "follow_up_6",
        "csrf_token": factories.csrf_from(page.get_data(as_text=True))}
    response = client.post(url, data=data)
    assert response.status_code == 422
    assert "En oppfølging etter 6 måneder dateres mellom" in response.get_data(as_text=True)
    assert _follow_ups(world) == 0
