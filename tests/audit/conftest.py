"""Fixtures for the audit tests: a signing key, a checkpoint folder, and a way to tamper."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from velferdslab.extensions import db


@pytest.fixture
def signing_key():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate()


@pytest.fixture
def tamper(db_session):
    """``tamper(sql, **params)`` runs SQL around the append-only triggers, as a superuser could.

    On PostgreSQL ``session_replication_role = replica`` switches ordinary triggers off for the
    rest of the test's transaction (rolled back with it). SQLite has only the trigger that refuses
    pre-sealed inserts; it is dropped inside the test's transaction (DDL is transactional there).
    """

    def run(sql: str, **params):
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            db.session.execute(text("DROP TRIGGER IF EXISTS audit_event_no_presealed"))
        db.session.execute(text(sql), params)

    return run


def events(n: int, **fields):
    """Write ``n`` audit events through the service and commit (which seals them)."""
    from velferdslab.audit import services as audit

    written = [audit.record(fields.get("action", "test.event"), lab_id=fields.get("lab_id"),
                            family_id=fields.get("family_id"), object_type="test", object_id=i,
                            summary={"n": i, "fields": ["a", "b"]}) for i in range(n)]
    db.session.commit()
    return written
