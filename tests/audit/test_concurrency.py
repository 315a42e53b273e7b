"""50 concurrent writers leave one valid chain with no gaps (item 7), on a database of their own
with real commits: each writer commits several transactions of a few events each, all at once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from tests.conftest import build_app, make_database_url, migrate_to_head
from velferdslab.audit import chain
from velferdslab.audit import services as audit
from velferdslab.audit.models import AuditChainHead, AuditEvent
from velferdslab.extensions import db

WRITERS = 50
TRANSACTIONS = 4
EVENTS_PER_TRANSACTION = 3


@pytest.mark.real_commits
@pytest.mark.slow
def test_fifty_concurrent_writers_leave_a_valid_chain_without_gaps(backend, tmp_path):
    url, remove = make_database_url(backend, tmp_path)
    # 30 connections at most (pool 20 + overflow 10) for 50 threads: they queue for the pool too.
    options = {"pool_size": 20, "max_overflow": 10, "pool_timeout": 60, "hide_parameters": True} \
        if backend == "postgresql" else {"connect_args": {"timeout": 60}, "hide_parameters": True}
    app = build_app(url, SQLALCHEMY_ENGINE_OPTIONS=options)
    try:
        migrate_to_head(app)
        start = threading.Barrier(WRITERS)
        errors: list[BaseException] = []

        def writer(n: int) -> None:
            try:
                with app.app_context():
                    start.wait(timeout=60)
                    for t in range(TRANSACTIONS):
                        for e in range(EVENTS_PER_TRANSACTION):
                            audit.record("test.concurrent", object_type="writer", object_id=n,
                                         summary={"transaction": t, "event": e})
                        db.session.commit()
            except BaseException as error:  # noqa: BLE001 - reported below, with the writer
                errors.append(error)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert errors == []
        with app.app_context():
            total = WRITERS * TRANSACTIONS * EVENTS_PER_TRANSACTION
            seqs = db.session.scalars(select(AuditEvent.chain_seq).order_by(AuditEvent.chain_seq)).all()
            assert seqs == list(range(1, total + 1))  # every event sealed, no gap, no repeat
            head = db.session.scalar(select(AuditChainHead))
            assert head.seq == total
            # A transaction's events are consecutive in the chain: the seal is atomic per commit.
            rows = db.session.execute(select(AuditEvent.object_id, AuditEvent.chain_seq)
                                      .order_by(AuditEvent.chain_seq)).all()
            runs = [rows[i:i + EVENTS_PER_TRANSACTION] for i in range(0, total, EVENTS_PER_TRANSACTION)]
            assert all(len({r.object_id for r in run}) == 1 for run in runs)
            assert db.session.scalar(select(func.count(func.distinct(AuditEvent.object_id)))) == WRITERS
            with db.engine.connect() as connection:
                report = chain.verify(connection)
            assert report.ok, report.breaks
            assert report.checked == total and report.head_hash == head.hash
            db.engine.dispose()
    finally:
        remove()
