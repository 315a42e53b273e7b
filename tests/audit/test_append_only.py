"""Append-only on PostgreSQL (item 6): UPDATE, DELETE and TRUNCATE of audit events are refused by
triggers — only the one-time sealing at commit may fill the chain columns — and the privileges
printed by ``velferdslab audit privileges`` refuse them to the application role even without the
triggers."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.audit.conftest import events
from velferdslab.audit.cli import privileges_sql
from velferdslab.extensions import db

pytestmark = pytest.mark.postgres


def refused(sql: str, match: str = "append-only", **params) -> None:
    with pytest.raises(DBAPIError, match=match):
        with db.session.begin_nested():
            db.session.execute(text(sql), params)


def test_update_of_a_sealed_event_is_refused(ctx):
    [event] = events(1)
    refused("UPDATE audit_event SET action = 'forged' WHERE id = :id", id=event.id)
    refused("UPDATE audit_event SET hash = :h WHERE id = :id", h="0" * 64, id=event.id)
    refused("UPDATE audit_event SET chain_seq = NULL, prev_hash = NULL, hash = NULL WHERE id = :id", id=event.id)


def test_an_unsealed_event_may_only_be_sealed_not_changed(ctx):
    from velferdslab.audit import services as audit

    event = audit.record("test.unsealed")
    refused("UPDATE audit_event SET action = 'forged', chain_seq = 999999, prev_hash = 'x', hash = 'y' "
            "WHERE id = :id", id=event.id)
    refused("UPDATE audit_event SET summary = '{}' WHERE id = :id", id=event.id)
    db.session.commit()  # the real seal goes through
    assert event.chain_seq is not None


def test_delete_is_refused(ctx):
    [event] = events(1)
    refused("DELETE FROM audit_event WHERE id = :id", id=event.id)
    refused("DELETE FROM audit_event")


def test_truncate_is_refused(ctx):
    events(1)
    refused("TRUNCATE audit_event")
    refused("TRUNCATE audit_event CASCADE")


def test_the_chain_head_never_moves_back(ctx):
    events(2)
    refused("UPDATE audit_chain_head SET seq = seq - 1", match="only moves forward")
    refused("DELETE FROM audit_chain_head", match="only moves forward")


def test_the_app_role_privileges_refuse_even_without_triggers(ctx):
    [event] = events(1)
    role = f"audit_app_{uuid.uuid4().hex[:8]}"
    db.session.execute(text(f'CREATE ROLE "{role}" NOLOGIN'))
    for statement in privileges_sql(role).strip().splitlines():
        db.session.execute(text(statement))
    db.session.execute(text("SET LOCAL session_replication_role = replica"))  # triggers off: privileges alone

    def as_app(sql: str, **params):
        with db.session.begin_nested():
            db.session.execute(text(f'SET LOCAL ROLE "{role}"'))
            db.session.execute(text(sql), params)
            db.session.execute(text("RESET ROLE"))

    as_app("INSERT INTO audit_event (occurred_at, action) VALUES (now(), 'test.app_role')")
    as_app("UPDATE audit_event SET chain_seq = chain_seq WHERE id = :id", id=event.id)  # sealing columns only
    as_app("SELECT seq FROM audit_chain_head FOR UPDATE")
    for sql in ("UPDATE audit_event SET action = 'forged' WHERE id = :id", "DELETE FROM audit_event WHERE id = :id",
                "TRUNCATE audit_event"):
        with pytest.raises(DBAPIError, match="permission denied"):
            as_app(sql, id=event.id)
