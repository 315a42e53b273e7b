"""Assumption sets: versioned, administrators only, every bad input a 422 that changes nothing."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.reports import factories as rf
from velferdslab.audit.models import AuditEvent
from velferdslab.core.errors import ConflictError, ServiceError
from velferdslab.extensions import db
from velferdslab.reports import services
from velferdslab.reports.models import AssumptionSet

KR = 100


@pytest.fixture
def agency(lab):
    return factories.agency(lab, name="NAV Test", kind="nav")


@pytest.fixture
def admin(lab):
    return factories.user(lab, roles=("admin",))


def body(agency, **overrides) -> dict:
    data = {"name": "Asker 2026", "deadweight": 0.2, "drop_off": 0.1, "discount_rate": 0.04, "horizon_years": 5,
            "costs": [{"level": level, "agency_id": agency.id, "yearly_cost": kr * KR}
                      for level, kr in rf.COSTS_KR.items()]}
    data.update(overrides)
    return data


def count_sets() -> int:
    return db.session.scalar(select(func.count()).select_from(AssumptionSet))


def test_revising_writes_a_new_version_and_keeps_the_old(lab, agency, admin):
    first = rf.assumption_set(lab, agency)
    assert (first.version, first.series_id, first.is_current) == (1, first.id, True)
    assert first.rate("deadweight") == Fraction(1, 5) and first.horizon_years == 5  # the defaults
    second = services.revise_set(first, {"discount_rate": Decimal("0.035")}, actor=admin)
    assert (second.version, second.series_id, second.supersedes_id) == (2, first.id, first.id)
    assert not first.is_current and second.is_current
    assert second.rate("discount_rate") == Fraction(35, 1000)
    assert first.rate("discount_rate") == Fraction(4, 100)  # untouched
    assert [v.version for v in services.versions(second)] == [2, 1]
    assert services.default_set(lab.id) == second
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("reports.assumptions_%"))
                                .order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["reports.assumptions_created", "reports.assumptions_revised"]
    assert events[1].summary == {"series_id": first.id, "version": 2, "supersedes_id": first.id}


def test_a_stale_version_is_a_conflict(lab, agency, admin):
    first = rf.assumption_set(lab, agency)
    services.revise_set(first, {"name": "Ny"}, actor=admin)
    with pytest.raises(ConflictError):
        services.revise_set(first, {"name": "Samtidig"}, actor=admin)
    current = services.default_set(lab.id)
    with pytest.raises(ConflictError):
        services.revise_set(current, {"name": "Gammel"}, actor=admin, expected_version=1)


def test_retiring_keeps_the_versions_but_takes_the_set_out_of_use(lab, agency, admin):
    row = rf.assumption_set(lab, agency)
    services.retire_set(row, actor=admin)
    assert services.current_sets(lab.id) == [] and services.default_set(lab.id) is None
    assert services.get_set(lab.id, row.id) is row
    with pytest.raises(ConflictError):
        services.retire_set(row, actor=admin)


@pytest.mark.parametrize("changes, field", [
    ({"deadweight": Decimal("-0.1")}, "deadweight"),
    ({"deadweight": Decimal("1.5")}, "deadweight"),
    ({"drop_off": 2}, "drop_off"),
    ({"discount_rate": Decimal("0.12345")}, "discount_rate"),
    ({"success_rate": 0.5}, "success_rate"),  # a float would lose exactness
    ({"horizon_years": 0}, "horizon_years"),
    ({"horizon_years": 51}, "horizon_years"),
    ({"target_level": 1}, "target_level"),
    ({"staff_cost_per_family_month": -100}, "staff_cost_per_family_month"),
    ({"name": ""}, "name"),
    ({"costs": []}, "costs"),
    ({"approved_by": 1}, "approved_by"),
])
def test_bad_assumptions_are_refused_by_the_service(lab, agency, changes, field):
    with pytest.raises(ServiceError) as error:
        services.create_set(lab, {**body(agency), "deadweight": Decimal("0.2"), "drop_off": Decimal("0.1"),
                                  "discount_rate": Decimal("0.04"), **changes}, actor=None)
    assert error.value.field == field
    assert count_sets() == 0


def test_costs_must_be_whole_non_negative_and_from_the_lab(lab, agency):
    other_lab_agency = factories.agency(factories.lab())
    for costs in ([{"level": 1, "agency_id": agency.id, "yearly_cost": -1}],
                  [{"level": 5, "agency_id": agency.id, "yearly_cost": 1}],
                  [{"level": 1, "agency_id": other_lab_agency.id, "yearly_cost": 1}],
                  [{"level": 1, "agency_id": agency.id, "yearly_cost": 1},
                   {"level": 1, "agency_id": agency.id, "yearly_cost": 2}]):
        with pytest.raises(ServiceError) as error:
            services.create_set(lab, {"name": "X", "costs": costs}, actor=None)
        assert error.value.field == "costs"


# --- API ------------------------------------------------------------------------------------------

def test_api_create_read_revise_retire(lab, agency, admin, login):
    client = login(admin)
    created = client.post("/api/v1/assumption-sets", json=body(agency))
    assert created.status_code == 201, created.get_json()
    row = created.get_json()
    assert row["version"] == 1 and row["deadweight"] == 0.2 and len(row["costs"]) == 4
    revised = client.patch(f"/api/v1/assumption-sets/{row['id']}", json={"horizon_years": 3, "version": 1})
    assert revised.status_code == 200 and revised.get_json()["version"] == 2
    stale = client.patch(f"/api/v1/assumption-sets/{row['id']}", json={"horizon_years": 4})
    assert stale.status_code == 409
    versions = client.get(f"/api/v1/assumption-sets/{row['id']}/versions").get_json()
    assert [v["version"] for v in versions] == [2, 1]
    new_id = revised.get_json()["id"]
    assert client.delete(f"/api/v1/assumption-sets/{new_id}").status_code == 204
    assert client.get("/api/v1/assumption-sets").get_json() == []


@pytest.mark.parametrize("changes, field", [
    ({"deadweight": -0.1}, "deadweight"),
    ({"deadweight": 1.01}, "deadweight"),
    ({"discount_rate": "abc"}, "discount_rate"),
    ({"discount_rate": "NaN"}, "discount_rate"),
    ({"horizon_years": 0}, "horizon_years"),
    ({"horizon_years": 2.5}, "horizon_years"),
    ({"costs": [{"level": 1, "agency_id": 1, "yearly_cost": -5}]}, "costs"),
    ({"costs": [{"level": 1, "agency_id": 1, "yearly_cost": 1.5}]}, "costs"),
    ({"lab_id": 2}, "lab_id"),
    ({"version": 3}, "version"),
])
def test_api_bad_input_is_422_and_changes_nothing(lab, agency, admin, login, changes, field):
    client = login(admin)
    response = client.post("/api/v1/assumption-sets", json=body(agency, **changes))
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    assert count_sets() == 0


@pytest.mark.parametrize("role, write, read", [("admin", 201, 200), ("manager", 403, 200), ("team_lead", 403, 403),
                                               ("caseworker", 403, 403)])
def test_who_may_read_and_keep_assumptions(lab, agency, login, role, write, read):
    client = login(factories.user(lab, roles=(role,)))
    assert client.post("/api/v1/assumption-sets", json=body(agency)).status_code == write
    assert client.get("/api/v1/assumption-sets").status_code == read
    assert client.get("/rapporter/forutsetninger").status_code == read


def test_another_labs_set_is_not_found(lab, agency, login):
    other = factories.lab()
    row = rf.assumption_set(other, factories.agency(other))
    client = login(factories.user(lab, roles=("admin",)))
    assert client.get(f"/api/v1/assumption-sets/{row.id}").status_code == 404
    assert client.get(f"/rapporter/forutsetninger/{row.id}").status_code == 404
    assert client.patch(f"/api/v1/assumption-sets/{row.id}", json={"name": "x"}).status_code == 404


# --- the benefit model through the API -----------------------------------------------------------

def test_benefit_on_your_own_numbers(lab, agency, login):
    rf.assumption_set(lab, agency)
    client = login(factories.user(lab, roles=("manager",)))
    response = client.post("/api/v1/reports/benefit", json={
        "transitions": [{"intake_level": 1, "now_level": 3, "families": 2}], "spend_paid": 0})
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert result["yearly_saving"] == 2 * 850_000 * KR
    assert result["return_per_krone"] is None  # nothing invested: not defined, and no division by zero
    assert result["payback_year"] is None  # nothing invested: never "paid back"
    assert result["payback_text"] == "ingenting investert, så ingenting å betale tilbake"
    assert result["break_even_success_rate"] is None
    assert result["break_even_text"].startswith("ikke definert")


def test_benefit_api_explains_a_break_even_rate_outside_zero_and_one_like_the_page(lab, agency, login):
    rf.assumption_set(lab, agency)
    client = login(factories.user(lab, roles=("manager",)))
    # Far more invested than every family below target could ever save: break-even above 100 %.
    result = client.post("/api/v1/reports/benefit", json={
        "transitions": [{"intake_level": 1, "now_level": 1, "families": 2}],
        "spend_paid": 100_000_000 * KR}).get_json()
    assert result["break_even_success_rate"] > 1
    assert result["break_even_text"] == "over 100 % (ikke oppnåelig)"
    assert result["payback_text"] == "ikke innen horisonten"
    # Already profitable without any more success: at or below 0 %.
    result = client.post("/api/v1/reports/benefit", json={
        "transitions": [{"intake_level": 1, "now_level": 4, "families": 2},
                        {"intake_level": 1, "now_level": 1, "families": 1}], "spend_paid": 1_000 * KR}).get_json()
    assert result["break_even_success_rate"] <= 0
    assert result["break_even_text"].startswith("0 %")
    assert result["payback_text"] == "i år 1"


@pytest.mark.parametrize("payload, field", [
    ({"transitions": [{"intake_level": 0, "now_level": 3, "families": 1}]}, "transitions"),
    ({"transitions": [{"intake_level": 1, "now_level": 3, "families": -1}]}, "transitions"),
    ({"transitions": [], "spend_paid": -1}, "spend_paid"),
    ({"transitions": [], "success_rate": 1.5}, "success_rate"),
    ({"spend_paid": 100}, "transitions"),
    ({"transitions": [], "start": "2026-01-01"}, "transitions"),
    ({"start": "2026-05-01", "end": "2026-01-01"}, "end"),
    ({"assumption_set_id": 999999}, "assumption_set_id"),
])
def test_benefit_bad_input_is_422(lab, agency, login, payload, field):
    rf.assumption_set(lab, agency)
    client = login(factories.user(lab, roles=("manager",)))
    response = client.post("/api/v1/reports/benefit", json=payload)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]


def test_benefit_without_any_assumption_set_is_a_clear_422(lab, login):
    client = login(factories.user(lab, roles=("manager",)))
    response = client.post("/api/v1/reports/benefit", json={"transitions": []})
    assert response.status_code == 422
    assert "forutsetninger" in response.get_json()["errors"]["assumption_set_id"][0]


# --- the editor (HTML) ---------------------------------------------------------------------------

def test_the_editor_creates_and_revises(lab, agency, admin, login):
    client = login(admin)
    page = client.get("/rapporter/forutsetninger/ny")
    assert page.status_code == 200
    form = {"name": "Asker", "deadweight": "20", "drop_off": "10", "discount_rate": "4", "success_rate": "50",
            "horizon_years": "5", "target_level": "3", "staff_cost": "6 000",
            f"cost_1_{agency.id}": "1 000 000", f"cost_2_{agency.id}": "500 000", f"cost_3_{agency.id}": "150 000,50",
            f"cost_4_{agency.id}": "0"}
    response = client.post("/rapporter/forutsetninger/ny", data={**form, "csrf_token": client.csrf})
    assert response.status_code == 302, response.get_data(as_text=True)
    row = services.default_set(lab.id)
    assert row.staff_cost_per_family_month == 6_000 * KR
    assert {(c.level, c.yearly_cost) for c in row.costs} == {(1, 100_000_000), (2, 50_000_000), (3, 15_000_050),
                                                             (4, 0)}
    edit = client.get(f"/rapporter/forutsetninger/{row.id}/endre").get_data(as_text=True)
    assert 'value="1000000.00"' in edit or 'value="1000000"' in edit
    revised = client.post(f"/rapporter/forutsetninger/{row.id}/endre",
                          data={**form, "deadweight": "25", "version": "1", "csrf_token": client.csrf})
    assert revised.status_code == 302
    assert services.default_set(lab.id).version == 2


@pytest.mark.parametrize("change", [{"deadweight": "120"}, {"discount_rate": "-1"}, {"horizon_years": "0"},
                                    {"deadweight": ""}, {"cost_1": "-500"}, {"cost_1": "mye"}, {"staff_cost": "-1"}])
def test_the_editor_refuses_bad_input_with_422(lab, agency, admin, login, change):
    client = login(admin)
    form = {"name": "Asker", "deadweight": "20", "drop_off": "10", "discount_rate": "4", "success_rate": "50",
            "horizon_years": "5", "target_level": "3", f"cost_1_{agency.id}": "1 000 000"}
    for key, value in change.items():
        form[f"{key}_{agency.id}" if key == "cost_1" else key] = value
    response = client.post("/rapporter/forutsetninger/ny", data={**form, "csrf_token": client.csrf})
    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)
    assert count_sets() == 0


@pytest.mark.parametrize("path", ["/api/v1/assumption-sets/9223372036854775808",
                                  "/api/v1/assumption-sets/2147483648/versions",
                                  "/rapporter/forutsetninger/9223372036854775808",
                                  "/api/v1/reports/outcome?assumption_set_id=9223372036854775808",
                                  "/api/v1/reports/outcome?agency_id=9223372036854775808",
                                  "/api/v1/reports/outcome?cohort=99999999999999999999",
                                  "/rapporter/resultater?agency_id=9223372036854775808",
                                  "/rapporter/resultater?assumption_set_id=9223372036854775808"])
def test_ids_no_key_can_hold_are_not_found_not_500(lab, login, path):
    client = login(factories.user(lab, roles=("manager",)))
    assert client.get(path).status_code in (404, 422)


def test_benefit_with_huge_numbers_is_not_500(lab, agency, login):
    rf.assumption_set(lab, agency)
    client = login(factories.user(lab, roles=("manager",)))
    response = client.post("/api/v1/reports/benefit", json={
        "transitions": [{"intake_level": 1, "now_level": 4, "families": 1_000_000}],
        "spend_paid": 0, "family_months": 100_000_000, "assumption_set_id": 2**63})
    assert response.status_code == 422
