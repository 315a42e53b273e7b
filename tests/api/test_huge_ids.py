"""Ids in request bodies and query strings beyond what a column holds get 422 (or 404), never a 500."""

import pytest

from tests import factories

HUGE = 10**20


@pytest.fixture
def lead_client(lab, login):
    agency = factories.agency(lab)
    lead = factories.user(lab, roles=("team_lead",), agency=agency)
    family = factories.family(lab)
    factories.team_member(family, lead, role="lead")
    factories.consent(family, agency)
    return login(lead), family, agency


def _bodies(family_id, agency_id):
    return [
        ("post", f"/api/v1/families/{family_id}/consents",
         {"agency_id": HUGE, "purpose": "team", "categories": ["bolig"], "given_by_member_id": HUGE,
          "given_on": "2026-01-01"}),
        ("post", f"/api/v1/families/{family_id}/actions", {"title": "x", "owner_user_id": HUGE, "goal_id": HUGE}),
        ("post", f"/api/v1/families/{family_id}/team/memberships",
         {"user_id": HUGE, "role": "member", "start_date": "2026-01-01"}),
        ("post", f"/api/v1/families/{family_id}/meetings",
         {"held_on": "2026-01-01", "attendee_user_ids": [HUGE], "attendee_member_ids": [HUGE]}),
        ("get", f"/api/v1/reports/outcome?agency_id={HUGE}", None),
        ("get", f"/api/v1/reports/outcome?assumption_set_id={HUGE}", None),
    ]


@pytest.mark.parametrize("index", range(6))
def test_huge_ids_never_500(lead_client, index):
    client, family, agency = lead_client
    method, url, body = _bodies(family.id, agency.id)[index]
    response = getattr(client, method)(url, json=body) if body is not None else client.get(url)
    assert response.status_code in (403, 404, 422), (url, response.status_code, response.get_data(as_text=True)[:300])
