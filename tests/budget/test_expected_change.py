"""The expected level change of a spend (issue 14, predicted versus actual): optional, 0–3 levels
within 6 months of payment, validated in the API (422 with the field) and the form, shown on the
spend's page."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.budget.factories import KR, funded_family, spend_data
from velferdslab.budget.models import SpendRequest
from velferdslab.extensions import db


@pytest.fixture
def setup(ctx, lab):
    return funded_family(lab, allocated=100_000 * KR)


def _body(setup, **overrides):
    body = spend_data(setup, 1_000 * KR, **overrides)
    body["wanted_on"] = body["wanted_on"].isoformat()
    return body


def test_the_api_stores_and_returns_the_expected_change(setup, login):
    client = login(setup.member)
    response = client.post(f"/api/v1/families/{setup.family.id}/spend-requests",
                           json=_body(setup, expected_level_change=2))
    assert response.status_code == 201, response.json
    assert response.json["expected_level_change"] == 2
    # Optional: older clients leave it out.
    response = client.post(f"/api/v1/families/{setup.family.id}/spend-requests", json=_body(setup))
    assert response.status_code == 201 and response.json["expected_level_change"] is None


@pytest.mark.parametrize("value", [4, -1, "1", 1.5, True])
def test_a_bad_expected_change_is_422_with_the_field(setup, login, value):
    client = login(setup.member)
    response = client.post(f"/api/v1/families/{setup.family.id}/spend-requests",
                           json=_body(setup, expected_level_change=value))
    assert response.status_code == 422 and "expected_level_change" in response.json["errors"]
    assert db.session.scalar(select(func.count()).select_from(SpendRequest)) == 0


def test_a_change_beyond_the_top_level_is_refused(setup, login):
    client = login(setup.member)
    response = client.post(f"/api/v1/families/{setup.family.id}/spend-requests",
                           json=_body(setup, level_from=3, level_to=4, expected_level_change=2))
    assert response.status_code == 422 and "expected_level_change" in response.json["errors"]


def test_the_form_takes_it_and_the_spend_page_shows_it(setup, login):
    client = login(setup.member)
    url = f"/familier/{setup.family.id}/budsjett/ny"
    form = client.get(url).get_data(as_text=True)
    assert "Forventet endring innen 6 måneder" in form and 'name="expected_level_change"' in form
    response = client.post(url, data={
        "csrf_token": factories.csrf_from(form), "amount": "1 000", "payee": "Utleier AS",
        "purpose": "Depositum", "category": "deposit", "theme": "bolig", "goal_id": str(setup.goal.id),
        "expected_effect": "Stabil bolig", "level_from": "1", "level_to": "3", "expected_level_change": "1",
        "wanted_on": "2026-12-01", "action": "submit"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    created = db.session.scalars(select(SpendRequest)).one()
    assert created.expected_level_change == 1
    page = client.get(f"/budsjett/utgifter/{created.id}").get_data(as_text=True)
    assert 'id="expected-level-change"' in page and "Opp 1 nivå" in page
    bad = client.post(url, data={
        "csrf_token": factories.csrf_from(form), "amount": "1 000", "payee": "Utleier AS",
        "purpose": "Depositum", "category": "deposit", "theme": "bolig", "goal_id": str(setup.goal.id),
        "expected_effect": "Stabil bolig", "level_from": "4", "level_to": "4", "expected_level_change": "2",
        "wanted_on": "2026-12-01", "action": "submit"})
    assert bad.status_code == 422 and "alt på øverste nivå" in bad.get_data(as_text=True)
