"""How many SQL statements one approval sends (issue 19: an approval in a few round trips).

A statement counter, no timing: the API approval and the page's approval POST, each with a warm
session and authority rules already cached for the lab, must stay within a fixed budget."""

from __future__ import annotations

import os
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from tests import factories
from tests.budget.factories import KR, funded_family, spend
from tests.budget.test_views import hidden
from velferdslab.extensions import db

# One warm approval, everything included: the sign-in (session or token, user, roles), the family
# gate, the spend locked with its funding, the idempotency key, the decisions, the closed-year check,
# the family's accounts and the funding agencies' pools locked in one statement, the rule set with
# its rules in one statement, the funding check, the writes, the notification to the requester and
# the audit seal. 38 (API, PostgreSQL) before issue 19; SQLite sends a few more (its write lock).
API_BUDGET = 33
PAGE_BUDGET = 32


@contextmanager
def counted():
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)
    if os.environ.get("VELFERDSLAB_SHOW_STATEMENTS"):
        for statement in seen:
            print("----", " ".join(statement.split())[:400])


@pytest.fixture
def setup(ctx, lab):
    return funded_family(lab, allocated=100_000 * KR)


def _warm(client, setup):
    """One approval first, so rules and the session are as on a long-lived worker."""
    first = spend(setup, 100 * KR)
    assert client.post(f"/api/v1/spend-requests/{first.id}/approve",
                       headers={"Idempotency-Key": "warm-approve-0001"}).status_code == 200


def test_an_api_approval_is_a_fixed_small_number_of_statements(setup, login):
    client = login(setup.lead)
    _warm(client, setup)
    request = spend(setup, 2_000 * KR)
    with counted() as seen:
        response = client.post(f"/api/v1/spend-requests/{request.id}/approve",
                               headers={"Idempotency-Key": "approve-count-0001"})
    assert response.status_code == 200, response.json
    assert len(seen) <= API_BUDGET, f"{len(seen)}: " + "\n".join(s[:200] for s in seen)


def test_a_page_approval_is_a_fixed_small_number_of_statements(setup, login):
    client = login(setup.lead)
    _warm(client, setup)
    request = spend(setup, 2_000 * KR)
    url = f"/budsjett/utgifter/{request.id}/godkjenn"
    confirm = client.get(url + "?next=queue").get_data(as_text=True)
    key = hidden(confirm, "idempotency_key")
    data = {"csrf_token": factories.csrf_from(confirm), "idempotency_key": key, "next": "queue"}
    with counted() as seen:
        response = client.post(url, data=data)
    assert response.status_code == 302
    assert len(seen) <= PAGE_BUDGET, f"{len(seen)}: " + "\n".join(s[:200] for s in seen)
