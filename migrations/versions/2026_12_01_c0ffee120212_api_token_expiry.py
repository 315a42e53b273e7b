"""api tokens expire: expires_at (issue 12, item 12)

Tokens end after a lifetime (API_TOKEN_DAYS, 90 by default) and after an idle time unused; a new
password ends them. Tokens that exist get 90 days from this migration.

Revision ID: c0ffee120212
Revises: c0ffee120203
Create Date: 2026-12-01 15:30:00

"""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c0ffee120212'
down_revision = 'c0ffee120203'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
    token = sa.table('api_token', sa.column('expires_at', sa.DateTime(timezone=True)))
    when = datetime.now(UTC) + timedelta(days=90)
    if op.get_bind().dialect.name == 'sqlite':
        when = when.replace(tzinfo=None)  # the app stores naive UTC on SQLite (core.models.UTCDateTime)
    op.execute(token.update().values(expires_at=when))
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade():
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
