"""Item 18: hostile input is refused by one guard in front of every route, with the field named.

The walks below send each kind of bad input to every write route of the app (forms and API), signed
in as a team lead of a real family, with a valid CSRF token, so that without the guard the input
would reach the views: a NUL byte or a lone surrogate went on to PostgreSQL (which cannot store
either: a 500), JSON nested 1 000 deep exhausted the decoder's recursion (a 500 everywhere), a date
in year 1 or 9999 overflowed the date arithmetic, a 20-digit id overflowed the integer columns.
"""

from __future__ import annotations

import pytest

from tests import factories
from tests.cases.world import build_world

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
SKIP = {"static"}


@pytest.fixture
def world(ctx):
    return build_world()


def _routes(app, world, methods, api: bool | None = None):
    """(method, url) for every route taking one of ``methods``, its ids filled with the world's."""
    values = {"family_id": world.family.id}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP:
            continue
        is_api = rule.rule.startswith("/api/")
        if api is not None and is_api != api:
            continue
        url = rule.rule
        for argument in rule.arguments:
            value = str(values.get(argument, 1))
            for converter in ("int", "string", "path"):
                url = url.replace(f"<{converter}:{argument}>", value)
            url = url.replace(f"<{argument}>", value)
        for method in sorted(rule.methods & set(methods)):
            yield method, url


@pytest.fixture
def lead(world, login):
    client = login(world.lead)
    return client


def _assert_named(response, field: str, status: int = 422) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code == status, (response.status_code, body[:300])
    if response.is_json:
        assert field in response.get_json()["errors"], body[:300]
    else:
        assert f"<li>{field}:" in body, body[:3000]


def test_the_walks_cover_the_app(app, world):
    """A walk that finds nothing proves nothing: there are many write routes of each kind."""
    assert len(list(_routes(app, world, WRITE_METHODS, api=True))) > 30
    assert len(list(_routes(app, world, WRITE_METHODS, api=False))) > 30


def test_nul_byte_in_json_on_every_api_write_route(app, world, lead):
    failures = []
    for method, url in _routes(app, world, WRITE_METHODS, api=True):
        response = lead.open(url, method=method, json={"name": "Per\x00son", "title": "ok"},
                             headers={"X-CSRFToken": lead.csrf})
        if response.status_code != 422 or "name" not in (response.get_json() or {}).get("errors", {}):
            failures.append(f"{method} {url} -> {response.status_code}")
    assert failures == []


def test_lone_surrogate_in_json_on_every_api_write_route(app, world, lead):
    failures = []
    for method, url in _routes(app, world, WRITE_METHODS, api=True):
        response = lead.open(url, method=method, data='{"note": "x\\ud800y"}', content_type="application/json",
                             headers={"X-CSRFToken": lead.csrf})
        if response.status_code != 422 or "note" not in (response.get_json() or {}).get("errors", {}):
            failures.append(f"{method} {url} -> {response.status_code}")
    assert failures == []


def test_json_nested_1000_deep_on_every_api_write_route(app, world, lead):
    deep = '{"ratings": ' + "[" * 1000 + "]" * 1000 + "}"
    failures = []
    for method, url in _routes(app, world, WRITE_METHODS, api=True):
        response = lead.open(url, method=method, data=deep, content_type="application/json",
                             headers={"X-CSRFToken": lead.csrf})
        if response.status_code != 400 or not response.is_json:
            failures.append(f"{method} {url} -> {response.status_code}")
    assert failures == []


def test_nested_json_below_the_limit_still_reaches_the_schema(world, lead):
    """The limit leaves ordinary bodies alone: a nested but shallow body gets the schema's own 422."""
    response = lead.post(f"/api/v1/families/{world.family.id}/actions", json={"title": [[["x"]]]})
    assert response.status_code == 422
    assert "nestet" not in response.get_data(as_text=True)


def test_dates_outside_the_range_on_every_api_write_route(app, world, lead):
    failures = []
    for method, url in _routes(app, world, WRITE_METHODS, api=True):
        for value in ("0001-01-01", "9999-12-31", "9999-12-31T23:59:59"):
            response = lead.open(url, method=method, json={"start_date": value},
                                 headers={"X-CSRFToken": lead.csrf})
            if response.status_code != 422 or "start_date" not in (response.get_json() or {}).get("errors", {}):
                failures.append(f"{method} {url} {value} -> {response.status_code}")
    assert failures == []


def test_integer_beyond_64_bits_in_json(app, world, lead):
    failures = []
    for method, url in _routes(app, world, WRITE_METHODS, api=True):
        response = lead.open(url, method=method, json={"agency_id": 10**20}, headers={"X-CSRFToken": lead.csrf})
        if response.status_code != 422 or "agency_id" not in (response.get_json() or {}).get("errors", {}):
            failures.append(f"{method} {url} -> {response.status_code}")
    assert failures == []


def test_nul_byte_in_every_form_post(app, world, lead):
    """Every page form: a NUL byte in a field (and the CSRF token sent) is a Norwegian 422 page naming it."""
    failures = []
    for method, url in _routes(app, world, ("POST",), api=False):
        response = lead.post(url, data={"csrf_token": lead.csrf, "first_name": "A\x00"})
        body = response.get_data(as_text=True)
        if response.status_code != 422 or "<li>first_name:" not in body:
            failures.append(f"{method} {url} -> {response.status_code}")
    assert failures == []


def test_nul_byte_in_every_query_string(app, world, lead):
    failures = []
    for _method, url in _routes(app, world, ("GET",)):
        response = lead.get(url + "?q=a%00b")
        if response.status_code != 422:
            failures.append(f"GET {url} -> {response.status_code}")
    assert failures == []


@pytest.mark.parametrize("field", ["email", "password"])
def test_nul_byte_in_the_sign_in_form(app, world, field):
    client = app.test_client()
    page = client.get("/logg-inn")
    token = factories.csrf_from(page.get_data(as_text=True))
    data = {"email": world.lead.email, "password": factories.PASSWORD, "csrf_token": token}
    data[field] += "\x00"
    response = client.post("/logg-inn", data=data)
    _assert_named(response, field)


def test_hostile_key_is_named_escaped(world, lead):
    response = lead.post(f"/api/v1/families/{world.family.id}/actions", json={"ti\x00tle": "x"})
    assert response.status_code == 422
    assert "ti\\u0000tle" in response.get_json()["errors"]


@pytest.mark.parametrize(("query", "field"), [
    ("start=0001-01-01", "start"), ("end=9999-12-31", "end"),
    ("family_id=99999999999999999999", "family_id"), ("user_id=99999999999999999999", "user_id"),
])
@pytest.mark.parametrize("path", ["/admin/revisjon", "/admin/revisjon.csv"])
def test_audit_review_filters_out_of_range(world, login, path, query, field):
    response = login(world.admin).get(f"{path}?{query}")
    _assert_named(response, field)


@pytest.mark.parametrize("path", ["/admin/revisjon", "/admin/revisjon.csv"])
def test_audit_review_refuses_an_id_no_column_holds_instead_of_dropping_it(world, login, path):
    """3 000 000 000 fits in 64 bits but not in the 32-bit id: the filter is refused by its label, never
    dropped (which showed every family's events as if filtered)."""
    response = login(world.admin).get(f"{path}?family_id=3000000000")
    _assert_named(response, "Familienummer")


def test_audit_review_with_valid_filters_still_answers(world, login):
    response = login(world.admin).get(f"/admin/revisjon?start=2020-01-01&end=2099-12-31&family_id={world.family.id}")
    assert response.status_code == 200


def test_ordinary_text_and_dates_pass(world, lead):
    """The guard refuses only what no field can hold: a normal action is still created."""
    response = lead.post(f"/api/v1/families/{world.family.id}/actions",
                         json={"title": "Søke bostøtte 2026-01-01", "due_on": "2099-12-31",
                               "owner_user_id": world.lead.id})
    assert response.status_code == 201, response.get_data(as_text=True)


def test_numbers_past_the_int_conversion_limit_in_a_query(world, lead):
    """CPython refuses int() of more than 4 300 digits: the guard must not call it on them."""
    response = lead.get(f"/budsjett/oversikt?ar={'9' * 5000}")
    _assert_named(response, "ar")


def test_free_text_that_looks_like_a_foreign_date_passes(world, lead):
    """Only the ISO shape is a date to the guard: a reference "15-3-2024" or "1-2-3" is text."""
    for text in ("15-3-2024", "1-2-3"):
        response = lead.post(f"/api/v1/families/{world.family.id}/actions",
                             json={"title": text, "owner_user_id": world.lead.id})
        assert response.status_code == 201, (text, response.get_data(as_text=True))


def test_json_number_past_the_int_conversion_limit(world, lead):
    response = lead.post(f"/api/v1/families/{world.family.id}/actions", data='{"title": ' + "9" * 5000 + "}",
                         content_type="application/json")
    assert response.status_code in (400, 422), response.status_code
    assert response.is_json


# --- the bound lives on the date fields too: forms the guard cannot recognise by shape -------------

def _input_fields(field):
    from marshmallow import fields

    if isinstance(field, fields.List):
        yield from _input_fields(field.inner)
    elif isinstance(field, fields.Dict) and field.value_field is not None:
        yield from _input_fields(field.value_field)
    else:
        yield field


def test_every_api_date_field_refuses_years_outside_the_range(app):
    """marshmallow reads ``00010101`` and ``9999-W01-1`` as dates too; every Date/DateTime field of
    every schema of the app refuses them (core.schemas.Date / DateTime)."""
    from marshmallow import ValidationError, fields
    from marshmallow.class_registry import _registry

    checked, unbounded = 0, []
    classes = {cls for entries in _registry.values() for cls in entries if cls.__module__.startswith("velferdslab")}
    for cls in classes:
        for name, declared in cls().fields.items():
            for field in _input_fields(declared):
                if not isinstance(field, fields.Date | fields.DateTime) or field.dump_only:
                    continue
                checked += 1
                for value in ("00010101", "99991231", "9999-W01-1", "0001-01-01T00:00:00"):
                    try:
                        field.deserialize(value)
                    except ValidationError:
                        continue
                    unbounded.append(f"{cls.__module__}.{cls.__name__}.{name} accepts {value}")
    assert checked > 20
    assert unbounded == []


def test_every_form_date_field_is_the_bounded_one(app):
    from wtforms import DateField as WTFormsDateField
    from wtforms import Form
    from wtforms.fields.core import UnboundField

    from velferdslab.core.forms import DateField

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    found, plain = 0, []
    for form in subclasses(Form):
        if not form.__module__.startswith("velferdslab"):
            continue
        for name, value in vars(form).items():
            if isinstance(value, UnboundField) and issubclass(value.field_class, WTFormsDateField):
                found += 1
                if not issubclass(value.field_class, DateField):
                    plain.append(f"{form.__module__}.{form.__name__}.{name}")
    assert found > 8
    assert plain == []


def test_basic_format_date_in_the_api_is_refused_by_the_field(world, lead):
    response = lead.post(f"/api/v1/families/{world.family.id}/actions",
                         json={"title": "x", "due_on": "99991231", "owner_user_id": world.lead.id})
    assert response.status_code == 422
    assert "due_on" in response.get_json()["errors"]


def test_form_date_outside_the_range_is_a_form_error(app):
    from werkzeug.datastructures import MultiDict

    from velferdslab.audit.forms import ReviewFilterForm

    with app.test_request_context():
        form = ReviewFilterForm(MultiDict({"start": "1899-12-31"}))
        form.user_id.choices = form.agency_id.choices = [(0, "-")]
        assert not form.validate()
        assert "1900" in form.errors["start"][0]


def test_a_long_digit_string_in_a_body_is_text(world, lead):
    """A 25-digit payment reference (KID) is text in a body; only query strings and JSON numbers are
    numbers to the guard (the id and amount fields bound their own)."""
    kid = "1234567890123456789012345"
    response = lead.post(f"/api/v1/families/{world.family.id}/actions",
                         json={"title": f"{kid}", "owner_user_id": world.lead.id})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert lead.get(f"/familier?q={kid}").status_code == 422
