"""Item 19: names and short texts are put in NFC and refuse control and format characters.

A zero-width space (or a decomposed "å") made "the same" family member a second time past the
duplicate check; a bidi override made a name display reversed. One validator (core.text) is used by
the services of every name and short text: family members, the household, users, agencies, labs,
API tokens, actions, payees and the benefit model's assumption sets.
"""

from __future__ import annotations

import unicodedata

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.cases.world import build_world
from velferdslab.cases.household.models import FamilyMember
from velferdslab.core.errors import ServiceError
from velferdslab.core.text import short_text
from velferdslab.extensions import db

INVISIBLE = {
    "zero-width space": "\u200b",
    "zero-width joiner": "\u200d",
    "right-to-left override": "\u202e",
    "left-to-right isolate": "\u2066",
    "byte order mark": "\ufeff",
    "soft hyphen": "\u00ad",
    "bell": "\x07",
    "escape": "\x1b",
    "line feed": "\n",
    "line separator": "\u2028",
}


@pytest.fixture
def world(ctx):
    return build_world()


def members(world) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(FamilyMember)
                             .where(FamilyMember.family_id == world.family.id))


@pytest.mark.parametrize("character", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_short_text_refuses_control_and_format_characters(app, character):
    with app.test_request_context(), pytest.raises(ServiceError) as error:
        short_text(f"An{character}ne", "first_name")
    assert error.value.field == "first_name"
    assert f"U+{ord(character):04X}" in error.value.message


def test_short_text_is_nfc_and_keeps_ordinary_names(app):
    with app.test_request_context():
        assert short_text("  A\u030ase Ødegård-Ñúñez  ", "name") == "Åse Ødegård-Ñúñez"
        assert short_text("Åse", "name") == unicodedata.normalize("NFC", "Åse")
        assert short_text("Nguyễn Thị Minh Khai", "name") == "Nguyễn Thị Minh Khai"


@pytest.mark.parametrize("character", ["\u200b", "\u202e", "\ufeff"], ids=["zwsp", "rlo", "bom"])
def test_duplicate_member_with_an_invisible_character_is_refused(world, login, character):
    """"Anne" is in the family; "An<zero-width>ne" is the same person and must not come in."""
    client = login(world.member)
    body = {"first_name": f"An{character}ne", "last_name": "Berg", "birth_year": 1985, "role": "parent"}
    response = client.post(f"/api/v1/families/{world.family.id}/members", json=body)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "first_name" in response.get_json()["errors"]
    assert members(world) == 4


def test_duplicate_member_in_decomposed_form_is_caught_by_the_duplicate_check(world, login):
    client = login(world.member)
    body = {"first_name": "Åse", "last_name": "Berg", "birth_year": 1990, "role": "parent"}
    assert client.post(f"/api/v1/families/{world.family.id}/members", json=body).status_code == 201
    body["first_name"] = unicodedata.normalize("NFD", "Åse")
    response = client.post(f"/api/v1/families/{world.family.id}/members", json=body)
    assert response.status_code == 422
    assert "allerede" in response.get_json()["errors"]["first_name"][0]
    assert members(world) == 5


def test_member_form_with_zero_width_name(world, login):
    client = login(world.member)
    url = f"/familier/{world.family.id}/medlemmer/ny"
    token = factories.csrf_from(client.get(url).get_data(as_text=True))
    response = client.post(url, data={"csrf_token": token, "first_name": "Anne\u200b", "last_name": "Berg",
                                      "birth_year": "1985", "role": "parent"})
    assert response.status_code == 422
    assert "U+200B" in response.get_data(as_text=True)
    assert members(world) == 4


def test_household_name_with_bidi_override(world, login):
    response = login(world.lead).patch(f"/api/v1/families/{world.family.id}",
                                       json={"household_name": "Familien \u202egreB"})
    assert response.status_code == 422
    assert "household_name" in response.get_json()["errors"]


def test_user_and_agency_names(world, login):
    client = login(world.admin)
    response = client.post("/api/v1/users", json={"name": "Kari\u200b Nordmann", "email": "kari@example.no",
                                                  "password": "et langt og godt passord 42", "roles": ["caseworker"]})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "name" in response.get_json()["errors"]
    response = client.post("/api/v1/agencies", json={"name": "NAV\u200b", "kind": "nav"})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "name" in response.get_json()["errors"]


def test_action_title_and_token_name(world, login):
    client = login(world.lead)
    response = client.post(f"/api/v1/families/{world.family.id}/actions",
                           json={"title": "Søke\u200b bostøtte", "owner_user_id": world.lead.id})
    assert response.status_code == 422
    assert "title" in response.get_json()["errors"]
    response = client.post("/api/v1/tokens", json={"name": "laptop\u202e"})
    assert response.status_code == 422
    assert "name" in response.get_json()["errors"]


def test_long_free_texts_keep_their_line_breaks(world, login):
    """Notes are not names: a meeting note keeps its paragraphs."""
    client = login(world.lead)
    response = client.post(f"/api/v1/families/{world.family.id}/meetings",
                           json={"held_on": world.today.isoformat(), "notes": "Første avsnitt.\n\nAndre avsnitt."})
    assert response.status_code == 201, response.get_data(as_text=True)


def test_agency_name_in_decomposed_form_is_a_duplicate(world, login):
    client = login(world.admin)
    assert client.post("/api/v1/agencies", json={"name": "Åsane skole", "kind": "skole"}).status_code == 201
    response = client.post("/api/v1/agencies", json={"name": unicodedata.normalize("NFD", "Åsane skole"),
                                                     "kind": "skole"})
    assert response.status_code == 409
    assert "name" in response.get_json()["errors"]
