"""The hash chain: sealed at commit in order without gaps, and verify names the first broken event
after an edit, a deletion, a swap, a rewritten chain and a cut-off tail (item 7)."""

from __future__ import annotations

import hashlib
import json
import threading

import psycopg
import pytest
from sqlalchemy import select, text

from tests.audit.conftest import events
from velferdslab.audit import chain, checkpoints
from velferdslab.audit import services as audit
from velferdslab.audit.canonical import GENESIS
from velferdslab.audit.models import AuditChainHead, AuditEvent
from velferdslab.extensions import db


def head() -> AuditChainHead:
    return db.session.execute(select(AuditChainHead).execution_options(populate_existing=True)).scalar_one()


def verify(trusted_checkpoints=()):
    return chain.verify(db.session.connection(), trusted_checkpoints)


def test_events_are_unsealed_until_commit_then_chained_in_order(ctx):
    start = head().seq
    written = [audit.record("test.event", object_id=i) for i in range(3)]
    assert all(e.chain_seq is None and e.hash is None for e in written)
    db.session.commit()
    assert [e.chain_seq for e in written] == [start + 1, start + 2, start + 3]
    assert written[1].prev_hash == written[0].hash and written[2].prev_hash == written[1].hash
    assert (head().seq, head().hash) == (start + 3, written[2].hash)
    stored = db.session.scalars(select(AuditEvent.hash).where(AuditEvent.id.in_([e.id for e in written]))
                                .order_by(AuditEvent.chain_seq)).all()
    assert stored == [e.hash for e in written]


def test_events_for_a_list_of_families_are_one_insert_and_sealed_like_the_others(ctx, count_queries):
    start = head().seq
    with count_queries() as counter:
        written = audit.record_for_families("test.list", {7: {"gated": True}, 3: None, 5: {"status": "Ola Nordmann"}},
                                            purpose="mine familier")
    inserts = [s for s in counter.statements if s.lstrip().upper().startswith("INSERT")]
    # PostgreSQL: one multi-row INSERT … RETURNING. SQLite: SQLAlchemy's ORM inserts row by row there.
    assert len(inserts) == (1 if db.engine.dialect.name == "postgresql" else 3), counter.statements
    assert [(e.family_id, e.object_type, e.object_id, e.purpose) for e in written] == [
        (7, "family", "7", "mine familier"), (3, "family", "3", "mine familier"), (5, "family", "5", "mine familier")]
    # The summary is cleaned as for audit.record: free text never reaches the row.
    assert written[0].summary == {"gated": True} and written[1].summary is None
    assert written[2].summary == {"status": audit.REDACTED}
    assert audit.record_for_families("test.list", []) == []
    db.session.commit()
    assert sorted(e.chain_seq for e in written) == [start + 1, start + 2, start + 3]
    assert verify().ok


def test_a_rolled_back_transaction_leaves_no_gap(ctx):
    start = head().seq
    audit.record("test.rolled_back")
    db.session.rollback()
    later = events(2)
    assert [e.chain_seq for e in later] == [start + 1, start + 2]
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "test.rolled_back")) is None


def test_events_of_a_rolled_back_savepoint_are_not_sealed(ctx):
    start = head().seq
    kept = audit.record("test.kept")
    nested = db.session.begin_nested()
    audit.record("test.undone")
    nested.rollback()
    db.session.commit()
    assert kept.chain_seq == start + 1 and head().seq == start + 1
    assert verify().ok


def test_the_hash_is_the_documented_canonical_form(ctx):
    """Recompute one event's hash from the database row with json and hashlib alone (the spec an
    outside auditor would implement), so the format cannot drift without this test noticing."""
    [event] = events(1, action="family.view", family_id=42)
    row = db.session.execute(text("SELECT * FROM audit_event WHERE id = :id"), {"id": event.id}).mappings().one()
    stamp = event.occurred_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    fields = [1, row["chain_seq"], row["id"], stamp, row["lab_id"], row["actor_id"], row["actor_role"],
              row["agency_id"], row["family_id"], row["action"], row["object_type"], row["object_id"],
              row["purpose"], row["request_id"], row["address"], row["summary"]]
    assert row["summary"] == '{"fields":["a","b"],"n":0}'  # stored canonical: sorted keys, compact
    canonical = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    assert row["hash"] == hashlib.sha256(row["prev_hash"].encode() + canonical).hexdigest()


def test_an_intact_trail_verifies(ctx):
    events(5)
    report = verify()
    assert report.ok, report.breaks
    assert report.checked == report.head_seq == head().seq >= 5


def test_an_edited_event_is_named(ctx, tamper):
    written = events(6)
    target = written[2]
    tamper("UPDATE audit_event SET object_id = 'forged' WHERE id = :id", id=target.id)
    report = verify()
    assert not report.ok
    first = report.first_break
    assert (first.kind, first.event_id, first.seq) == ("edited", target.id, target.chain_seq)


def test_an_edited_and_rehashed_event_breaks_the_next_link(ctx, tamper):
    written = events(4)
    target = written[1]
    tamper("UPDATE audit_event SET hash = :h WHERE id = :id", h="f" * 64, id=target.id)
    report = verify()
    # The forged hash no longer matches the event's own content: named at the event itself.
    assert (report.first_break.kind, report.first_break.event_id) == ("edited", target.id)


def test_a_forged_middle_event_is_named_itself_not_the_one_after_it(ctx, tamper):
    """Item 12.9: a middle event's content changed and its hash recomputed to match: it passes on
    its own, and the event after it no longer links to it — verify names the forged event."""
    written = events(5)
    target = written[2]
    tamper("UPDATE audit_event SET object_id = 'forged' WHERE id = :id", id=target.id)
    db.session.refresh(target)
    forged = chain.chain_hash(target.prev_hash, chain.event_bytes(chain.canonical_fields(target)))
    tamper("UPDATE audit_event SET hash = :h WHERE id = :id", h=forged, id=target.id)
    report = verify()
    first = report.first_break
    assert (first.kind, first.event_id, first.seq) == ("edited", target.id, target.chain_seq), first
    assert "original hash" in first.detail
    assert report.head_seq == target.chain_seq - 1 and report.checked == report.head_seq


def test_a_deleted_event_is_named_by_the_gap(ctx, tamper):
    written = events(5)
    gone, after = written[2], written[3]
    tamper("DELETE FROM audit_event WHERE id = :id", id=gone.id)
    report = verify()
    first = report.first_break
    assert (first.kind, first.event_id, first.seq) == ("gap", after.id, after.chain_seq)
    assert f"seq {gone.chain_seq} missing" in first.detail


def test_two_swapped_events_are_named(ctx, tamper):
    written = events(5)
    a, b = written[1], written[2]
    # Swap their places in the chain (what an ORDER BY would show).
    tamper("UPDATE audit_event SET chain_seq = -1 WHERE id = :a", a=a.id)
    tamper("UPDATE audit_event SET chain_seq = :s WHERE id = :b", s=a.chain_seq, b=b.id)
    tamper("UPDATE audit_event SET chain_seq = :s WHERE id = :a", s=b.chain_seq, a=a.id)
    report = verify()
    first = report.first_break
    assert (first.kind, first.seq, first.event_id) == ("link", a.chain_seq, b.id)


def test_swapped_contents_are_named(ctx, tamper):
    written = events(4, action="family.view")
    a, b = written[1], written[2]
    tamper("UPDATE audit_event SET object_id = CASE id WHEN :a THEN :ob ELSE :oa END WHERE id IN (:a, :b)",
           a=a.id, b=b.id, oa=a.object_id, ob=b.object_id)
    first = verify().first_break
    assert (first.kind, first.event_id) == ("edited", a.id)


def _rehash_from(start_seq: int) -> str:
    """What an attacker with database access can do: recompute the chain after a forgery (the
    head row is left alone; returns the new last hash)."""
    rows = db.session.execute(select(AuditEvent).where(AuditEvent.chain_seq >= start_seq)
                              .order_by(AuditEvent.chain_seq).execution_options(populate_existing=True)).scalars()
    prev = db.session.scalar(select(AuditEvent.hash).where(AuditEvent.chain_seq == start_seq - 1)) or GENESIS
    for row in rows:
        digest = chain.chain_hash(prev, chain.event_bytes(chain.canonical_fields(row)))
        db.session.execute(text("UPDATE audit_event SET prev_hash = :p, hash = :h WHERE id = :id"),
                           {"p": prev, "h": digest, "id": row.id})
        prev = digest
    return prev


def test_a_rewritten_chain_passes_alone_but_not_against_a_signed_checkpoint(ctx, tamper, signing_key, tmp_path):
    written = events(5)
    checkpoints.write(db.session.connection(), signing_key, tmp_path)
    target = written[1]
    tamper("UPDATE audit_event SET action = 'test.forged' WHERE id = :id", id=target.id)
    last = _rehash_from(target.chain_seq)
    assert verify().first_break.kind == "head"  # the head row still holds the old last hash
    tamper("UPDATE audit_chain_head SET hash = :h", h=last)
    assert verify().ok  # a full rewrite, head included, is consistent: that is why checkpoints exist
    report = checkpoints.verify_trail(db.session.connection(), tmp_path, [signing_key.public_key()])
    assert not report.ok
    assert report.first_break.kind == "checkpoint"
    assert report.first_break.seq == written[-1].chain_seq


def test_a_cut_off_tail_is_caught_by_the_checkpoint(ctx, tamper, signing_key, tmp_path):
    written = events(6)
    path = checkpoints.write(db.session.connection(), signing_key, tmp_path)
    assert json.loads(path.read_text())["seq"] == written[-1].chain_seq
    tamper("DELETE FROM audit_event WHERE chain_seq > :s", s=written[3].chain_seq)
    tamper("UPDATE audit_chain_head SET seq = :s, hash = :h", s=written[3].chain_seq, h=written[3].hash)
    assert verify().ok  # the chain that is left is consistent
    report = checkpoints.verify_trail(db.session.connection(), tmp_path, [signing_key.public_key()])
    first = report.first_break
    assert (first.kind, first.seq) == ("truncated", written[-1].chain_seq)
    assert f"ends at seq {written[3].chain_seq}" in first.detail


def test_a_cut_off_tail_is_reported_without_a_checkpoint(ctx, tamper):
    """Item 12.8: the last events deleted (head row untouched) is a break on the head alone."""
    seqs = [e.chain_seq for e in events(6)]
    tamper("DELETE FROM audit_event WHERE chain_seq > :s", s=seqs[3])
    report = verify()
    assert not report.ok
    first = report.first_break
    assert (first.kind, first.seq) == ("truncated", seqs[5])
    assert f"ends at seq {seqs[3]}" in first.detail
    assert f"seq {seqs[4]}–{seqs[5]} missing" in first.detail


def test_the_last_event_alone_cut_off_is_reported(ctx, tamper):
    last = events(3)[-1].chain_seq
    tamper("DELETE FROM audit_event WHERE chain_seq = :s", s=last)
    first = verify().first_break
    assert (first.kind, first.seq) == ("truncated", last)


def test_a_rewritten_last_event_is_named_against_the_head(ctx, tamper):
    written = events(3)
    target = written[-1]
    tamper("UPDATE audit_event SET action = 'test.forged' WHERE id = :id", id=target.id)
    _rehash_from(target.chain_seq)
    first = verify().first_break
    assert (first.kind, first.event_id, first.seq) == ("head", target.id, target.chain_seq)


def test_events_committed_while_verify_reads_are_not_a_cut(ctx, monkeypatch):
    """The head is read after the events: a commit in between moves it past them, which is not a
    cut because those events are there (and continue the chain)."""
    events(3)
    snapshot = list(chain._rows(db.session.connection(), 100))
    events(2)
    monkeypatch.setattr(chain, "_rows", lambda connection, batch: iter(snapshot))
    report = verify()
    assert report.ok, report.breaks
    assert report.head_seq == snapshot[-1][0] == head().seq - 2


def test_an_event_written_around_the_service_is_reported_unsealed(ctx):
    events(2)
    db.session.execute(text("INSERT INTO audit_event (occurred_at, action) VALUES (:t, 'test.raw')"),
                       {"t": "2026-01-01 00:00:00.000000"})
    report = verify()
    assert report.unsealed == 1
    assert report.first_break.kind == "unsealed"


def test_a_forged_checkpoint_file_is_reported(ctx, signing_key, tmp_path):
    events(2)
    path = checkpoints.write(db.session.connection(), signing_key, tmp_path)
    payload = json.loads(path.read_text())
    payload["seq"] += 100
    path.write_text(json.dumps(payload))
    report = checkpoints.verify_trail(db.session.connection(), tmp_path, [signing_key.public_key()])
    assert report.first_break.kind == "checkpoint-signature"
    assert path.name in report.first_break.detail


def test_the_fast_path_agrees_with_the_python_canonical_form_on_awkward_text(ctx):
    """PostgreSQL builds the canonical text in SQL; it must equal Python's byte for byte, or verify
    would fall back to re-checking row by row (``rechecked``)."""
    awkward = ['quote " and \\ backslash', "tab\tnew\nline\rcr", "æøå ÆØÅ – ‘’ “” …", "emoji 🙂 and \u2028\u2029",
               "control \x01\x1f\x7f", "", "null", "{\"json\": [1, 2]}"]
    for value in awkward:
        audit.record("test.awkward", purpose=value, object_id=value[:60], summary={"n": 1, "k": "x"})
    audit.record('test."quoted"\\action')  # a code the fast path quotes without escaping
    db.session.commit()
    report = verify()
    assert report.ok, report.breaks
    # Only the odd action needed the Python re-check (on PostgreSQL; SQLite always hashes in Python).
    assert report.rechecked == (1 if db.session.get_bind().dialect.name == "postgresql" else 0)
    rows = list(chain._rows(db.session.connection(), 100))
    by_id = {row[1]: row for row in rows}
    for event in db.session.scalars(select(AuditEvent).where(AuditEvent.action == "test.awkward")):  # exact
        assert by_id[event.id][2] == chain.event_bytes(chain.canonical_fields(event)).decode()


@pytest.mark.postgres
def test_rows_read_ahead_in_a_thread_arrive_whole_and_in_order(ctx):
    """On PostgreSQL the next batch is fetched while this one is hashed (chain._prefetched): every
    row arrives once, in chain order, across batch boundaries."""
    events(7)
    rows = list(chain._rows(db.session.connection(), 2))
    assert [row[0] for row in rows] == list(range(1, head().seq + 1))
    assert len({row[1] for row in rows}) == len(rows)
    assert verify().ok


@pytest.mark.postgres
def test_a_reading_stopped_early_stops_its_thread_and_frees_the_connection(ctx):
    events(9)
    rows = chain._rows(db.session.connection(), 2)
    first = [next(rows) for _ in range(3)]
    rows.close()
    assert [row[0] for row in first] == [1, 2, 3]
    assert not [t for t in threading.enumerate() if t.name == "audit-verify-fetch"]
    # The server-side cursor was closed with the thread: the connection answers and can open it again.
    assert db.session.execute(text("SELECT 1")).scalar() == 1
    assert verify().ok


@pytest.mark.postgres
def test_an_error_while_reading_ahead_reaches_the_verifier(ctx, monkeypatch):
    events(2)
    monkeypatch.setattr(chain, "_PG_FAST", "SELECT chain_seq / 0 FROM audit_event")
    with pytest.raises(psycopg.errors.DivisionByZero):
        chain.verify(db.session.connection())
    assert not [t for t in threading.enumerate() if t.name == "audit-verify-fetch"]
