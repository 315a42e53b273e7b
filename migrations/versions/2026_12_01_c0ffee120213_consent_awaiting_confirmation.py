"""consent.awaiting_confirmation (issue 12, item 13)

A consent recorded by someone of the agency it opens is valid only once another person confirms
it; the confirmation is a new row that supersedes it (consent rows are never edited).

Revision ID: c0ffee120213
Revises: c0ffee120212
Create Date: 2026-12-01 15:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c0ffee120213'
down_revision = 'c0ffee120212'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('awaiting_confirmation', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.drop_column('awaiting_confirmation')
