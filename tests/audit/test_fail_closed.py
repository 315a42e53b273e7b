"""Fail-closed (item 5): if the audit row cannot be written, the request fails, shows nothing of the
family, and commits nothing — whether the INSERT fails or the sealing at commit does."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from tests import factories
from tests.audit.factories import team
from velferdslab.audit.models import AuditEvent
from velferdslab.auth.models import Agency
from velferdslab.extensions import db


def _break(table: str, when: str) -> None:
    """Make every ``when`` (INSERT/UPDATE) on ``table`` fail, for this test's transaction only."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("CREATE FUNCTION pg_temp.audit_down() RETURNS trigger LANGUAGE plpgsql AS "
                                "$$ BEGIN RAISE EXCEPTION 'audit store unavailable'; END $$"))
        db.session.execute(text(f"CREATE TRIGGER audit_down BEFORE {when} ON {table} "
                                "FOR EACH ROW EXECUTE FUNCTION pg_temp.audit_down()"))
    else:
        db.session.execute(text(f"CREATE TRIGGER audit_down BEFORE {when} ON {table} "
                                "BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END"))


@pytest.fixture
def production_errors(app, monkeypatch):
    """Answer unexpected errors as production does (a 500 page) instead of raising into the test."""
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)


@pytest.mark.parametrize("table, when", [("audit_event", "INSERT"), ("audit_chain_head", "UPDATE")])
def test_a_family_page_whose_read_cannot_be_audited_shows_nothing(ctx, lab, login, production_errors, table, when):
    fam, _lead, worker = team(lab)
    members = [m.first_name for m in fam.members]
    client = login(worker)
    before = db.session.scalar(select(db.func.count()).select_from(AuditEvent))
    _break(table, when)
    for url in (f"/familier/{fam.id}", f"/api/v1/families/{fam.id}"):
        response = client.get(url)
        body = response.get_data(as_text=True)
        assert response.status_code == 500, url
        assert fam.household_name not in body and not any(name in body for name in members), url
    assert db.session.scalar(select(db.func.count()).select_from(AuditEvent)) == before


def test_a_change_whose_audit_row_cannot_be_written_is_not_committed(ctx, lab, login, production_errors):
    client = login(factories.user(lab, roles=("admin",)))
    _break("audit_event", "INSERT")
    response = client.post("/admin/etater/ny", data={"name": "Etaten som ikke ble", "kind": "nav"})
    assert response.status_code == 500
    assert db.session.scalar(select(Agency).where(Agency.name == "Etaten som ikke ble")) is None


def test_without_the_failure_the_same_requests_work(ctx, lab, login):
    """The control: the tests above fail because of the audit write, not for another reason."""
    fam, _lead, worker = team(lab)
    client = login(worker)
    assert client.get(f"/familier/{fam.id}").status_code == 200
    admin = login(factories.user(lab, roles=("admin",)))
    assert admin.post("/admin/etater/ny", data={"name": "Etaten som ble", "kind": "nav"}).status_code == 302
    assert db.session.scalar(select(Agency).where(Agency.name == "Etaten som ble")) is not None
