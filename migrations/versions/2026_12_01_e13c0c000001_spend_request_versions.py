"""spend request versions: a rejected request can be revised (issue 13)

A revision is a new spend request row: ``version`` one higher than the request it revises, and
``revises_id`` naming it (unique: one revision per request, so the versions form one chain). The
rejected request keeps its status, reason and decisions. ``edited_by_id`` records a team lead who
changed someone else's draft, so they cannot approve it (maker–checker).

Revision ID: e13c0c000001
Revises: d4a1f7e2c913
Create Date: 2026-12-01 17:50:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e13c0c000001'
down_revision = 'd4a1f7e2c913'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('spend_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.SmallInteger(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('revises_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('edited_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_spend_request_revises_id_spend_request'), 'spend_request',
                                    ['revises_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_spend_request_edited_by_id_user_account'), 'user_account',
                                    ['edited_by_id'], ['id'])
        batch_op.create_unique_constraint(batch_op.f('uq_spend_request_revises_id'), ['revises_id'])
        batch_op.create_check_constraint(batch_op.f('ck_spend_request_version_matches_revises'),
                                         '(revises_id IS NULL) = (version = 1)')
    with op.batch_alter_table('spend_request', schema=None) as batch_op:
        batch_op.alter_column('version', server_default=None)


def downgrade():
    with op.batch_alter_table('spend_request', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_spend_request_version_matches_revises'), type_='check')
        batch_op.drop_constraint(batch_op.f('uq_spend_request_revises_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_spend_request_edited_by_id_user_account'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_spend_request_revises_id_spend_request'), type_='foreignkey')
        batch_op.drop_column('edited_by_id')
        batch_op.drop_column('revises_id')
        batch_op.drop_column('version')
