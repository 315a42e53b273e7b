"""Issue 19: every list of the API offers paging — ``limit`` and ``cursor`` in the query string,
documented in the OpenAPI schema, the same shape everywhere (the body a JSON array in the list's
order; ``X-Next-Cursor`` and ``Link: <…>; rel="next"`` on every page but the last)."""

from __future__ import annotations

from datetime import timedelta

from tests import factories
from tests.cases.world import build_world


def test_every_list_is_paged_in_the_document(client):
    document = client.get("/api/v1/openapi.json").get_json()
    lists = []
    for path, operations in document["paths"].items():
        get = operations.get("get")
        if get is None:
            continue
        schema = get["responses"].get("200", {}).get("content", {}).get("application/json", {}).get("schema", {})
        if schema.get("type") != "array":
            continue
        lists.append(path)
        names = {p["name"] for p in get.get("parameters", []) if p["in"] == "query"}
        assert {"limit", "cursor"} <= names, path
        assert {"X-Next-Cursor", "Link"} <= set(get["responses"]["200"]["headers"]), path
    assert "/api/v1/families" in lists and "/api/v1/families/{family_id}/assessments" in lists
    assert len(lists) >= 19


def test_paging_through_a_list_gives_every_item_once_in_order(ctx, login):
    world = build_world()
    for i in range(5):
        factories.assessment(world.family, {"bolig": 1 + i % 4}, assessed_on=world.today - timedelta(days=60 * (5 - i)))
    client = login(world.lead)
    url = f"/api/v1/families/{world.family.id}/assessments"
    whole = client.get(url).get_json()
    assert len(whole) == 5
    seen, response = [], client.get(f"{url}?limit=2")
    while True:
        assert response.status_code == 200
        seen += response.get_json()
        if "X-Next-Cursor" not in response.headers:
            assert "Link" not in response.headers
            break
        assert response.headers["Link"].endswith('rel="next"') and "cursor=" in response.headers["Link"]
        response = client.get(f"{url}?limit=2&cursor={response.headers['X-Next-Cursor']}")
    assert seen == whole
    # Families (a list with its own query): the same parameters and headers.
    second = factories.family(world.lab, name="Familien Andre", agency=world.nav)
    factories.team_member(second, world.lead, "lead")
    factories.consent(second, world.nav)
    response = client.get("/api/v1/families?limit=1")
    assert response.status_code == 200 and len(response.get_json()) == 1 and "X-Next-Cursor" in response.headers


def test_a_bad_limit_or_cursor_is_422_naming_the_field(ctx, login):
    world = build_world()
    client = login(world.lead)
    for query, name in (("limit=0", "limit"), ("limit=501", "limit"), ("limit=x", "limit"),
                        ("cursor=not-a-cursor", "cursor"), ("cursor=eyJvIjogLTF9", "cursor")):
        response = client.get(f"/api/v1/families?{query}")
        assert response.status_code == 422, query
        assert name in str(response.get_json()["errors"]), (query, response.get_json())
