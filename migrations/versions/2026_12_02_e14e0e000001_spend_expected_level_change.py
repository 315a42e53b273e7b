"""spend request: the expected level change (issue 14, predicted versus actual)

``expected_level_change``: how many levels on the spend's theme the team expects the spend to
raise the family within 6 months of payment (0: hold the level, 1–3). Nullable: existing requests
have none (the outcome report then reads the hoped-for change, ``level_to − level_from``, where
the level now was given; docs/reports.md).

Revision ID: e14e0e000001
Revises: e16b0b000001
Create Date: 2026-12-02 01:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e14e0e000001'
down_revision = 'e16b0b000001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('spend_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expected_level_change', sa.SmallInteger(), nullable=True))
        batch_op.create_check_constraint(batch_op.f('ck_spend_request_expected_level_change_range'),
                                         'expected_level_change IS NULL OR expected_level_change BETWEEN 0 AND 3')


def downgrade():
    with op.batch_alter_table('spend_request', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_spend_request_expected_level_change_range'), type_='check')
        batch_op.drop_column('expected_level_change')
