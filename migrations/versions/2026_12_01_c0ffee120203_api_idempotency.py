"""api idempotency: the stored answer to a create sent with an Idempotency-Key

Issue 12, items 2 and 3: every POST in the API may carry an Idempotency-Key; the answer of the
first successful request is kept 24 hours (per user and key) and repeated for a retry.

Revision ID: c0ffee120203
Revises: abe6ab7562d1
Create Date: 2026-12-01 15:05:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c0ffee120203'
down_revision = 'abe6ab7562d1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_idempotency',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('location', sa.String(length=300), nullable=True),
    sa.Column('family_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_idempotency')),
    sa.UniqueConstraint('user_id', 'key', name='uq_api_idempotency_user_key')
    )
    with op.batch_alter_table('api_idempotency', schema=None) as batch_op:
        batch_op.create_index('ix_api_idempotency_family_id', ['family_id'], unique=False)
        batch_op.create_index('ix_api_idempotency_created_at', ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('api_idempotency', schema=None) as batch_op:
        batch_op.drop_index('ix_api_idempotency_created_at')
        batch_op.drop_index('ix_api_idempotency_family_id')
    op.drop_table('api_idempotency')
