"""Item 16: serialization failures and deadlocks (40001, 40P01) are retried a bounded number of times."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from tests.budget.factories import KR, funded_family, spend, year
from velferdslab.audit.models import AuditEvent
from velferdslab.budget import ledger, services
from velferdslab.budget.models import LedgerTransfer, SpendRequest
from velferdslab.extensions import db


class FakePgError(Exception):
    def __init__(self, sqlstate: str):
        super().__init__(f"injected {sqlstate}")
        self.sqlstate = sqlstate


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def fresh(spend_id: int) -> SpendRequest:
    db.session.expire_all()
    return db.session.get(SpendRequest, spend_id)


@pytest.fixture
def setup(ctx, lab):
    return funded_family(lab, allocated=50_000 * KR)


def inject(monkeypatch, sqlstate: str, times: int) -> list[int]:
    """Make the reservation fail with ``sqlstate`` the first ``times`` times, after it has written."""
    calls = []
    real = services._reserve

    def failing(*args):
        real(*args)  # the failed attempt has written a transfer: it must vanish
        calls.append(1)
        if len(calls) <= times:
            raise OperationalError("INSERT INTO ledger_transfer …", {}, FakePgError(sqlstate))

    monkeypatch.setattr(services, "_reserve", failing)
    return calls


@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
def test_an_approval_is_retried_after_serialization_failures_and_deadlocks(setup, login, monkeypatch, sqlstate):
    request = spend(setup, 5_000 * KR)
    calls = inject(monkeypatch, sqlstate, times=2)
    response = login(setup.lead).post(f"/api/v1/spend-requests/{request.id}/approve")
    assert response.status_code == 200, response.json
    assert len(calls) == 3
    assert fresh(request.id).status == "approved"
    assert count(LedgerTransfer, LedgerTransfer.spend_request_id == request.id) == 1
    assert count(AuditEvent, AuditEvent.action == "spend.approve", AuditEvent.object_id == str(request.id)) == 1
    assert ledger.family_balance(setup.family.id, year()).committed == 5_000 * KR
    assert ledger.verify(setup.lab.id) == []


def test_retries_are_bounded_and_end_in_a_clear_503(setup, login, monkeypatch):
    request = spend(setup, 5_000 * KR)
    calls = inject(monkeypatch, "40001", times=10**6)
    response = login(setup.lead).post(f"/api/v1/spend-requests/{request.id}/approve")
    assert response.status_code == 503
    assert "Prøv igjen" in response.json["message"]
    assert len(calls) == ledger.MAX_ATTEMPTS
    assert fresh(request.id).status == "requested"
    assert count(LedgerTransfer, LedgerTransfer.spend_request_id == request.id) == 0
    assert count(AuditEvent, AuditEvent.action == "spend.approve") == 0


def test_other_database_errors_are_not_retried(setup, monkeypatch):
    request = spend(setup, 5_000 * KR)
    calls = inject(monkeypatch, "23505", times=10**6)  # unique violation: retrying would not help
    with pytest.raises(OperationalError):
        ledger.run_with_retries(lambda: services.approve_spend(request.id, setup.lead))
    assert len(calls) == 1


@pytest.mark.postgres
@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
def test_postgres_raised_failures_are_retried(setup, login, sqlstate):
    """The same, with the error raised by PostgreSQL itself (a trigger that fails twice; a sequence
    counts the attempts, since sequences are not rolled back)."""
    db.session.execute(text("CREATE SEQUENCE budget_test_attempts"))
    db.session.execute(text(f"""
        CREATE FUNCTION budget_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF nextval('budget_test_attempts') <= 2 THEN
                RAISE EXCEPTION 'injected failure' USING ERRCODE = '{sqlstate}';
            END IF;
            RETURN NEW;
        END $$"""))
    db.session.execute(text("CREATE TRIGGER budget_test_fail BEFORE INSERT ON spend_decision "
                            "FOR EACH ROW EXECUTE FUNCTION budget_test_fail()"))
    request = spend(setup, 5_000 * KR)
    response = login(setup.lead).post(f"/api/v1/spend-requests/{request.id}/approve")
    assert response.status_code == 200, response.json
    assert db.session.scalar(text("SELECT last_value FROM budget_test_attempts")) == 3
    assert count(LedgerTransfer, LedgerTransfer.spend_request_id == request.id) == 1
    assert count(AuditEvent, AuditEvent.action == "spend.approve", AuditEvent.object_id == str(request.id)) == 1
    assert ledger.verify(setup.lab.id) == []
