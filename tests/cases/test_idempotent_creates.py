"""Issue 12, item 3: every create in the API can be retried safely with an ``Idempotency-Key``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.cases.test_bad_input import count
from tests.cases.world import ratings
from velferdslab.cases.journey.models import JourneyAssessment
from velferdslab.cases.meetings.models import Meeting
from velferdslab.cases.plan.models import Action, Goal
from velferdslab.core import idempotency
from velferdslab.core.idempotency import StoredResponse
from velferdslab.core.models import utcnow
from velferdslab.extensions import db


def MEETING(world) -> dict:  # noqa: N802 - a constant body, per world
    return {"held_on": world.today.isoformat(), "notes": "Notat"}


CREATES = {
    "meeting": ("meetings", Meeting, lambda w: {"held_on": w.today.isoformat(), "notes": "Notat"}),
    "action": ("actions", Action, lambda w: {"title": "Søke bolig", "owner_is_family": True}),
    "assessment": ("assessments", JourneyAssessment,
                   lambda w: {"assessed_on": w.today.isoformat(), "ratings": ratings()}),
    "goal": ("goals", Goal, lambda w: {"theme": "bolig", "horizon": "short", "text": "Få en stabil bolig"}),
}


@pytest.mark.parametrize("what", sorted(CREATES))
def test_a_create_sent_twice_with_one_key_creates_once_and_answers_the_same(world, login, what):
    path, model, body = CREATES[what]
    client = login(world.member)
    url = f"/api/v1/families/{world.family.id}/{path}"
    headers = {"Idempotency-Key": f"retry-{what}-0001"}
    first = client.post(url, json=body(world), headers=headers)
    assert first.status_code == 201, first.get_json()
    again = client.post(url, json=body(world), headers=headers)
    assert again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert count(model, family_id=world.family.id) == 1
    # Without a key, a second call is a second create (the client did not ask for a replay).
    assert client.post(url, json=body(world)).status_code == 201
    assert count(model, family_id=world.family.id) == 2


def test_the_same_key_for_another_request_is_refused_and_changes_nothing(world, login):
    client = login(world.member)
    url = f"/api/v1/families/{world.family.id}/meetings"
    headers = {"Idempotency-Key": "one-key-for-two"}
    assert client.post(url, json=MEETING(world), headers=headers).status_code == 201
    other_day = (world.today - timedelta(days=1)).isoformat()
    response = client.post(url, json={**MEETING(world), "held_on": other_day}, headers=headers)
    assert response.status_code == 422 and "idempotency_key" in response.get_json()["errors"]
    # Another path with the same key is another request too.
    response = client.post(f"/api/v1/families/{world.family.id}/actions", headers=headers,
                           json={"title": "Søke bolig", "owner_is_family": True})
    assert response.status_code == 422
    assert count(Meeting, family_id=world.family.id) == 1 and count(Action, family_id=world.family.id) == 0


def test_keys_are_per_user(world, login):
    url = f"/api/v1/families/{world.family.id}/meetings"
    headers = {"Idempotency-Key": "shared-by-chance"}
    assert login(world.member).post(url, json=MEETING(world), headers=headers).status_code == 201
    response = login(world.lead).post(url, json=MEETING(world), headers=headers)
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert count(Meeting, family_id=world.family.id) == 2


@pytest.mark.parametrize("key", ["short", "x" * 101, "with space inside", "nøkkel-med-æøå"])
def test_a_malformed_key_is_a_422(world, login, key):
    response = login(world.member).post(f"/api/v1/families/{world.family.id}/meetings",
                                        json=MEETING(world),
                                        headers={"Idempotency-Key": key.encode().decode("latin-1")})
    assert response.status_code == 422 and "idempotency_key" in response.get_json()["errors"]
    assert count(Meeting, family_id=world.family.id) == 0


def test_a_failed_create_stores_nothing_and_can_be_corrected_with_the_same_key(world, login):
    client = login(world.member)
    url = f"/api/v1/families/{world.family.id}/meetings"
    headers = {"Idempotency-Key": "fix-and-retry"}
    assert client.post(url, json={"held_on": "not a date"}, headers=headers).status_code == 422
    assert count(StoredResponse) == 0
    assert client.post(url, json=MEETING(world), headers=headers).status_code == 201


def test_a_key_is_forgotten_after_the_retention(world, login):
    client = login(world.member)
    url = f"/api/v1/families/{world.family.id}/meetings"
    headers = {"Idempotency-Key": "old-key-0001"}
    assert client.post(url, json=MEETING(world), headers=headers).status_code == 201
    row = db.session.scalar(select(StoredResponse))
    row.created_at = utcnow() - idempotency.RETENTION - timedelta(minutes=1)
    db.session.flush()
    response = client.post(url, json=MEETING(world), headers=headers)
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert count(Meeting, family_id=world.family.id) == 2 and count(StoredResponse) == 1


def test_a_stranger_gets_no_replay(world, login):
    """A replay answers only its own user: another team's lead with the same key reaches the gate."""
    url = f"/api/v1/families/{world.family.id}/meetings"
    headers = {"Idempotency-Key": "stolen-key-01"}
    assert login(world.member).post(url, json=MEETING(world), headers=headers).status_code == 201
    response = login(world.other_lead).post(url, json=MEETING(world), headers=headers)
    assert response.status_code == 404


def test_the_api_documents_the_header_on_every_create(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    posts = {path: item["post"] for path, item in spec["paths"].items() if "post" in item}
    assert len(posts) > 20
    for path, operation in posts.items():
        names = [p.get("name") for p in operation.get("parameters", []) if p.get("in") == "header"]
        if path.endswith("/tokens"):
            assert "Idempotency-Key" not in names  # its answer holds the token: never stored
        else:
            assert names.count("Idempotency-Key") == 1, path
