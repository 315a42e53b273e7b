"""audit: refuse pre-sealed inserts

An audit event is inserted with empty chain columns and sealed by the committing transaction
(``audit.chain.seal``). A row inserted with ``chain_seq``, ``prev_hash`` or ``hash`` already filled
(say at head + 1) would sit in the chain without moving the head, and every later seal would then
collide with it on ``chain_seq``: refuse such an INSERT in the database, on PostgreSQL and on
SQLite (a BEFORE INSERT trigger each; the error is an integrity error on both).

A bulk load that writes a chain it sealed itself (the benchmark's generator) disables the trigger
for the load, which only the table's owner may do.

Revision ID: 2a74cafb1284
Revises: c0ffee120213
Create Date: 2026-12-01 15:05:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '2a74cafb1284'
down_revision = 'c0ffee120213'
branch_labels = None
depends_on = None

MESSAGE = "audit_event: pre-sealed insert refused; an event is inserted unsealed and sealed at commit"

POSTGRES_UP = f"""
CREATE FUNCTION audit_event_insert_unsealed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.chain_seq IS NOT NULL OR NEW.prev_hash IS NOT NULL OR NEW.hash IS NOT NULL THEN
        RAISE EXCEPTION '{MESSAGE}'
            USING ERRCODE = 'check_violation', HINT = 'Insert audit events through audit.record.';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_event_no_presealed BEFORE INSERT ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_insert_unsealed();
"""

POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS audit_event_no_presealed ON audit_event;
DROP FUNCTION IF EXISTS audit_event_insert_unsealed();
"""

SQLITE_UP = f"""
CREATE TRIGGER audit_event_no_presealed BEFORE INSERT ON audit_event
WHEN NEW.chain_seq IS NOT NULL OR NEW.prev_hash IS NOT NULL OR NEW.hash IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, '{MESSAGE}');
END
"""

SQLITE_DOWN = "DROP TRIGGER IF EXISTS audit_event_no_presealed"


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    op.execute(POSTGRES_UP if postgres else SQLITE_UP)


def downgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    op.execute(POSTGRES_DOWN if postgres else SQLITE_DOWN)
