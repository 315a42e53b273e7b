"""Item 26: fuzz every operation of the OpenAPI document as each role.

Schemathesis generates requests from the document; the app must never answer 500, every response
must match the schema it documents, and nobody reads a family that is not theirs (the seeded family
here belongs to a team none of the fuzzing users is on, so any 2xx naming it would be a leak).
"""

import pytest
from hypothesis import HealthCheck, given, settings

from tests import factories

pytest.importorskip("schemathesis")
import schemathesis  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402

ROLES = ("caseworker", "team_lead", "manager", "admin")
SECRET_NAME = "Hemmeligsen"


@pytest.fixture
def world(lab, ctx):
    """A lab with one family nobody fuzzing is on, and a signed token per role."""
    from velferdslab.auth import services

    agency = factories.agency(lab)
    outsider = factories.user(lab, roles=("team_lead",), agency=agency)
    family = factories.family(lab, name=f"Familien {SECRET_NAME}")
    factories.team_member(family, outsider, role="lead")
    tokens = {}
    for role in ROLES:
        user = factories.user(lab, roles=(role,), agency=agency)
        tokens[role] = services.create_api_token(user, "fuzz")[1]
    return {"family": family, "tokens": tokens}


def _summary(error) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return " | ".join(lines[:6])


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_no_500_and_responses_match_the_document(app, client, world, role):
    document = client.get("/api/v1/openapi.json").get_json()
    schema = schemathesis.openapi.from_dict(document)
    schema.app = app
    headers = {"Authorization": f"Bearer {world['tokens'][role]}"}
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=8, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case):
            response = case.call(headers=headers, app=app)
            label = f"{case.method} {case.formatted_path} -> {response.status_code}"
            if response.status_code >= 500:
                failures.append(label)
            if 200 <= response.status_code < 300 and SECRET_NAME in response.text:
                failures.append(f"leak: {label}")
            try:
                case.validate_response(response, checks=[response_schema_conformance])
            except BaseExceptionGroup as group:  # schemathesis reports its findings as a group
                for error in group.exceptions:
                    failures.append(f"schema: {label}: {_summary(error)}")

        run()
    assert failures == []
