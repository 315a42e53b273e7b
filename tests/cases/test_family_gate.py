"""The family gate holds for every family-scoped route of every blueprint, HTML and API alike.

The routes are found in ``app.url_map``, not listed: every rule whose URL names family data (a
parameter in ``cases.gate.FAMILY_KEYS``: ``family_id``, ``spend_id``) must carry the gate on every
HTTP method, refuse an outsider with the audited 404 of a family that does not exist, and — for a
read by the family's lead — answer with the data and leave an audit event with its purpose. The
test names count the routes ("12/64 GET /familier/<family_id>/plan"), and a route added without
the gate fails here (shown with a deliberately ungated one).
"""

from __future__ import annotations

from datetime import date

import pytest
from flask import Blueprint
from sqlalchemy import select

from tests.cases.test_access_matrix import body_for, build_url, objects  # noqa: F401 - the fixture
from tests.conftest import build_app
from velferdslab.audit.actions import AuditAction, Purpose
from velferdslab.audit.models import AuditEvent
from velferdslab.budget import services as budget_services
from velferdslab.cases.gate import FAMILY_KEYS, declared_gate
from velferdslab.core.permissions import LOGIN, requires
from velferdslab.extensions import db

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
DENIALS = (AuditAction.FAMILY_DENIED, AuditAction.SPEND_DENIED)


def family_scoped(app) -> list[tuple[str, str, object]]:
    """(method, rule, endpoint) for every route whose URL names a family's data."""
    found = []
    for rule in app.url_map.iter_rules():
        if FAMILY_KEYS & set(rule.arguments):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((method, rule.rule, rule.endpoint))
    return sorted(found, key=lambda item: (item[1], item[0]))


def ungated(app) -> list[str]:
    """The family-scoped routes (and methods) that do not carry the gate."""
    return [f"{method} {rule}" for method, rule, endpoint in family_scoped(app)
            if declared_gate(app.view_functions[endpoint], method) is None]


# The routes are collected once from a throwaway app, so each one is a test of its own.
_COLLECTED = family_scoped(build_app("sqlite://"))
ROUTES = [pytest.param(method, rule, endpoint, id=f"{i + 1}/{len(_COLLECTED)} {method} {rule}")
          for i, (method, rule, endpoint) in enumerate(_COLLECTED)]
READS = [p for p in ROUTES if p.values[0] == "GET"]


def test_every_family_scoped_route_carries_the_gate(app, capsys):
    routes = family_scoped(app)
    print(f"family gate: {len(routes)} family-scoped routes (method × URL), "
          f"{len({r for _m, r, _e in routes})} URLs")
    assert len(routes) == len(_COLLECTED) and len(routes) >= 60
    assert ungated(app) == []


def test_a_route_added_without_the_gate_is_found():
    fresh = build_app("sqlite://")
    careless = Blueprint("careless", __name__)

    @careless.get("/familier/<int:family_id>/hemmelig")
    @requires(LOGIN)
    def secret(family_id: int):  # pragma: no cover - never called
        return "hemmelig"

    @careless.post("/budsjett/utgifter/<int:spend_id>/hemmelig")
    @requires(LOGIN)
    def secret_spend(spend_id: int):  # pragma: no cover - never called
        return "hemmelig"

    fresh.register_blueprint(careless)
    assert ungated(fresh) == ["POST /budsjett/utgifter/<int:spend_id>/hemmelig",
                              "GET /familier/<int:family_id>/hemmelig"]


@pytest.fixture
def values(world, objects):  # noqa: F811 - the imported fixture
    """An id for every URL parameter: the family's objects, and one spend request of its own."""
    spend = budget_services.create_spend(world.family.id, world.member, {
        "amount": 150000, "payee": "Utleier", "purpose": "Depositum", "category": "deposit", "theme": "bolig",
        "goal_id": objects["goal_id"], "expected_effect": "Stabil bolig", "level_from": 1, "level_to": 2,
        "wanted_on": date.today()})
    return {**objects, "spend_id": spend.id}


def _events(family_id: int, actions=None) -> list[AuditEvent]:
    db.session.expire_all()
    query = select(AuditEvent).where(AuditEvent.family_id == family_id)
    if actions:
        query = query.where(AuditEvent.action.in_([str(a) for a in actions]))
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


def _body(endpoint: str, world, values) -> dict:
    """A well-formed body for each API write, so the answer is about access, not about shape."""
    spend = {"amount": 100000, "payee": "Butikk", "purpose": "Utstyr", "category": "equipment", "theme": "bolig",
             "goal_id": values["goal_id"], "expected_effect": "Bedre", "level_to": 2,
             "wanted_on": date.today().isoformat()}
    return {"budget_api.FamilySpendRequests": spend, "budget_api.SpendById": {"payee": "Annen butikk"},
            "budget_api.SpendReject": {"reason": "Nei"}, "budget_api.SpendCancel": {"reason": "Nei"},
            "budget_api.SpendPay": {"paid_on": date.today().isoformat(), "reference": "F-1"},
            "budget_api.SpendReversePayment": {"reason": "Feil betaling"},
            }.get(endpoint) or body_for(endpoint, world, values)


def _send(client, method: str, url: str, endpoint: str, world, values):
    send = getattr(client, method.lower())
    if url.startswith("/api/"):
        return send(url, json=_body(endpoint, world, values))
    return send(url, data={})


@pytest.mark.parametrize(("method", "rule", "endpoint"), ROUTES)
def test_off_the_team_it_is_the_audited_404_of_a_missing_family(app, world, values, login, method, rule,
                                                                endpoint):
    """Someone of the same lab who works with families, but not on this family's team."""
    url_rule = next(r for r in app.url_map.iter_rules() if r.rule == rule and r.endpoint == endpoint)
    before = len(_events(world.family.id, DENIALS))
    response = _send(login(world.other_lead), method, build_url(url_rule, values), endpoint, world, values)
    assert response.status_code == 404, response.get_data(as_text=True)[:300]
    denials = _events(world.family.id, DENIALS)
    assert len(denials) == before + 1
    assert denials[-1].lab_id == world.family.lab_id and denials[-1].actor_id == world.other_lead.id


@pytest.mark.parametrize(("method", "rule", "endpoint"), READS)
def test_on_the_team_a_read_answers_and_is_audited_with_its_purpose(app, world, values, login, method, rule,
                                                                    endpoint):
    url_rule = next(r for r in app.url_map.iter_rules() if r.rule == rule and r.endpoint == endpoint)
    before = {e.id for e in _events(world.family.id)}
    response = login(world.lead).get(build_url(url_rule, values))
    assert 200 <= response.status_code < 300, (response.status_code, response.get_data(as_text=True)[:300])
    new = [e for e in _events(world.family.id) if e.id not in before]
    assert new, "a read of the family's data left no audit event"
    assert all(e.actor_id == world.lead.id and e.purpose in Purpose.codes() for e in new)
    assert all(AuditAction.get(e.action) is not None for e in new)


def test_the_walk_covers_spend_requests_too(app):
    rules = {rule for _m, rule, _e in family_scoped(app)}
    assert "/api/v1/spend-requests/<int:spend_id>/approve" in rules
    assert "/budsjett/utgifter/<int:spend_id>" in rules
