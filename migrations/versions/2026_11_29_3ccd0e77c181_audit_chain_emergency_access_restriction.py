"""audit chain, emergency access, family restriction

The audit trail becomes a hash chain (``chain_seq``, ``prev_hash``, ``hash``; the summary is kept
as canonical JSON text so the stored bytes are what is hashed), with a one-row chain head that
committing writers lock. Events already stored are chained here, in id order. On PostgreSQL,
triggers make ``audit_event`` append-only: UPDATE (except the one-time sealing of the chain
columns), DELETE and TRUNCATE are refused, and the chain head never moves backwards.

Also: emergency-access grants, and ``family.restricted_at`` / ``family.erased_at``.

Revision ID: 3ccd0e77c181
Revises: bef44b9f5eda
Create Date: 2026-11-29 05:52:41.924561

"""
import hashlib
import json
from datetime import UTC

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '3ccd0e77c181'
down_revision = 'bef44b9f5eda'
branch_labels = None
depends_on = None

GENESIS = "0" * 64

APPEND_ONLY_SQL = """
CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The one UPDATE allowed: the committing transaction seals a new event into the chain once,
    -- filling the three chain columns and changing nothing else.
    IF TG_OP = 'UPDATE'
       AND OLD.chain_seq IS NULL AND OLD.prev_hash IS NULL AND OLD.hash IS NULL
       AND NEW.chain_seq IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL
       AND (NEW.id, NEW.occurred_at, NEW.lab_id, NEW.actor_id, NEW.actor_role, NEW.agency_id, NEW.family_id,
            NEW.action, NEW.object_type, NEW.object_id, NEW.purpose, NEW.request_id, NEW.address, NEW.summary)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.occurred_at, OLD.lab_id, OLD.actor_id, OLD.actor_role, OLD.agency_id, OLD.family_id,
            OLD.action, OLD.object_type, OLD.object_id, OLD.purpose, OLD.request_id, OLD.address, OLD.summary)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege', HINT = 'Audit events are never changed or removed.';
END
$$;
CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();

CREATE FUNCTION audit_chain_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.seq > OLD.seq THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_chain_head only moves forward: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_chain_head_forward BEFORE UPDATE ON audit_chain_head
    FOR EACH ROW EXECUTE FUNCTION audit_chain_head_forward_only();
CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_head_forward_only();
CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_head_forward_only();
"""

DROP_APPEND_ONLY_SQL = """
DROP TRIGGER IF EXISTS audit_chain_head_no_truncate ON audit_chain_head;
DROP TRIGGER IF EXISTS audit_chain_head_no_delete ON audit_chain_head;
DROP TRIGGER IF EXISTS audit_chain_head_forward ON audit_chain_head;
DROP FUNCTION IF EXISTS audit_chain_head_forward_only();
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event;
DROP TRIGGER IF EXISTS audit_event_no_delete ON audit_event;
DROP TRIGGER IF EXISTS audit_event_no_update ON audit_event;
DROP FUNCTION IF EXISTS audit_event_append_only();
"""

_events = sa.table(
    "audit_event",
    sa.column("id", sa.Integer), sa.column("occurred_at", sa.DateTime(timezone=True)),
    sa.column("lab_id", sa.Integer), sa.column("actor_id", sa.Integer), sa.column("actor_role", sa.String),
    sa.column("agency_id", sa.Integer), sa.column("family_id", sa.Integer), sa.column("action", sa.String),
    sa.column("object_type", sa.String), sa.column("object_id", sa.String), sa.column("purpose", sa.String),
    sa.column("request_id", sa.String), sa.column("address", sa.String), sa.column("summary", sa.Text),
    sa.column("chain_seq", sa.BigInteger), sa.column("prev_hash", sa.String), sa.column("hash", sa.String),
)


def _chain_existing_events(bind) -> tuple[int, str]:
    """Chain the events stored before this revision, in id order (format 1 of audit.canonical,
    copied here so the migration keeps working whatever the app's code becomes)."""
    compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    canonical = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode
    seq, prev = 0, GENESIS
    rows = bind.execute(sa.select(_events).order_by(_events.c.id)).mappings().all()
    for row in rows:
        seq += 1
        summary = None if row["summary"] is None else canonical(json.loads(row["summary"]))
        stamp = row["occurred_at"]
        stamp = (stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp).astimezone(UTC)
        fields = [1, seq, row["id"], stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), row["lab_id"], row["actor_id"],
                  row["actor_role"], row["agency_id"], row["family_id"], row["action"], row["object_type"],
                  row["object_id"], row["purpose"], row["request_id"], row["address"], summary]
        digest = hashlib.sha256(prev.encode("ascii") + compact(fields).encode()).hexdigest()
        bind.execute(_events.update().where(_events.c.id == row["id"])
                     .values(summary=summary, chain_seq=seq, prev_hash=prev, hash=digest))
        prev = digest
    return seq, prev


def upgrade():
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    head = op.create_table('audit_chain_head',
    sa.Column('id', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_audit_chain_head_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head'))
    )
    op.create_table('emergency_access',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lab_id', sa.Integer(), nullable=False),
    sa.Column('family_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('expires_at > granted_at', name=op.f('ck_emergency_access_expires_after_granted')),
    sa.CheckConstraint('length(reason) >= 20', name=op.f('ck_emergency_access_reason_given')),
    sa.ForeignKeyConstraint(['family_id'], ['family.id'], name=op.f('fk_emergency_access_family_id_family')),
    sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], name=op.f('fk_emergency_access_lab_id_lab')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['user_account.id'], name=op.f('fk_emergency_access_reviewed_by_id_user_account')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_emergency_access_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_emergency_access'))
    )
    with op.batch_alter_table('emergency_access', schema=None) as batch_op:
        batch_op.create_index('ix_emergency_access_family', ['family_id'], unique=False)
        batch_op.create_index('ix_emergency_access_lab_granted', ['lab_id', 'granted_at'], unique=False)
        batch_op.create_index('ix_emergency_access_user_family', ['user_id', 'family_id', 'expires_at'], unique=False)

    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chain_seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
        batch_op.alter_column('summary', existing_type=sa.JSON(), type_=sa.Text(), existing_nullable=True,
                              postgresql_using='summary::text')
        batch_op.create_unique_constraint(batch_op.f('uq_audit_event_chain_seq'), ['chain_seq'])

    seq, last = _chain_existing_events(bind)
    op.bulk_insert(head, [{"id": 1, "seq": seq, "hash": last}])

    with op.batch_alter_table('family', schema=None) as batch_op:
        batch_op.add_column(sa.Column('restricted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))

    if postgres:
        op.execute(APPEND_ONLY_SQL)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DROP_APPEND_ONLY_SQL)
    with op.batch_alter_table('family', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
        batch_op.drop_column('restricted_at')

    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_event_chain_seq'), type_='unique')
        batch_op.alter_column('summary', existing_type=sa.Text(), type_=sa.JSON(), existing_nullable=True,
                              postgresql_using='summary::json')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('chain_seq')

    with op.batch_alter_table('emergency_access', schema=None) as batch_op:
        batch_op.drop_index('ix_emergency_access_user_family')
        batch_op.drop_index('ix_emergency_access_lab_granted')
        batch_op.drop_index('ix_emergency_access_family')

    op.drop_table('emergency_access')
    op.drop_table('audit_chain_head')
