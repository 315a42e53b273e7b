"""Item 12.9: an event inserted with its chain columns already filled is refused by the database
(a trigger on PostgreSQL and on SQLite), so it can neither pass verify nor block every later seal;
one slipped in around the trigger (a superuser) is reported by verify as beyond the head."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError, IntegrityError

from tests.audit.conftest import events
from velferdslab.audit import chain
from velferdslab.audit.canonical import chain_hash, event_bytes, timestamp
from velferdslab.audit.models import AuditChainHead, AuditEvent
from velferdslab.extensions import db

STAMP = datetime(2026, 1, 1, tzinfo=UTC)
INSERT = text("INSERT INTO audit_event (id, occurred_at, action, chain_seq, prev_hash, hash) "
              "VALUES (:id, :at, 'test.forged', :seq, :prev, :hash)")


def _head() -> tuple[int, str]:
    row = db.session.execute(select(AuditChainHead.seq, AuditChainHead.hash)
                             .execution_options(populate_existing=True)).one()
    return row.seq, row.hash


def _forged_at_head_plus_one() -> dict:
    """A row sealed correctly at head + 1, as someone writing SQL by hand would make it."""
    seq, prev = _head()
    event_id = (db.session.scalar(select(func.max(AuditEvent.id))) or 0) + 1000
    fields = (seq + 1, event_id, timestamp(STAMP), None, None, None, None, None, "test.forged", None, None, None,
              None, None, None)
    stamp = "2026-01-01 00:00:00.000000" if db.session.get_bind().dialect.name == "sqlite" else STAMP
    return {"id": event_id, "at": stamp, "seq": seq + 1, "prev": prev, "hash": chain_hash(prev, event_bytes(fields))}


def verify():
    return chain.verify(db.session.connection())


@pytest.mark.parametrize("filled", ["chain_seq", "prev_hash", "hash", "all"])
def test_a_pre_sealed_insert_is_refused_and_the_app_keeps_committing(ctx, filled):
    events(2)
    start, _ = _head()
    row = _forged_at_head_plus_one()
    if filled != "all":
        row = {**row, **{k: None for k, column in (("seq", "chain_seq"), ("prev", "prev_hash"), ("hash", "hash"))
                         if column != filled}}
    with pytest.raises((IntegrityError, DatabaseError), match="pre-sealed insert refused"):
        with db.session.begin_nested():
            db.session.execute(INSERT, row)
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "test.forged")) is None
    later = events(3)  # the next seals go through: nothing sits at head + 1
    assert [e.chain_seq for e in later] == [start + 1, start + 2, start + 3]
    report = verify()
    assert report.ok, report.breaks


def test_an_unsealed_insert_by_hand_is_still_allowed_and_reported(ctx):
    """The trigger refuses only filled chain columns; an unsealed row by hand stays visible to verify."""
    events(1)
    db.session.execute(text("INSERT INTO audit_event (occurred_at, action) VALUES (:t, 'test.raw')"),
                       {"t": "2026-01-01 00:00:00.000000"})
    assert verify().first_break.kind == "unsealed"


def test_a_pre_sealed_event_slipped_in_around_the_trigger_is_reported(ctx, tamper):
    """With the trigger switched off (a superuser), the row passed verify before item 12.8/9; now
    the chain runs past its head and verify names the row."""
    events(2)
    row = _forged_at_head_plus_one()
    tamper("INSERT INTO audit_event (id, occurred_at, action, chain_seq, prev_hash, hash) "
           "VALUES (:id, :at, 'test.forged', :seq, :prev, :hash)", **row)
    first = verify().first_break
    assert (first.kind, first.event_id, first.seq) == ("beyond-head", row["id"], row["seq"]), first
