"""user_account.email unique per lab, not across labs (issue 12, item 16)

An administrator creating a user must not learn that the address is in use in another lab; sign-in
finds the one user whose password matches.

Revision ID: c0ffee120216
Revises: 2a74cafb1284
Create Date: 2026-12-01 15:40:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c0ffee120216'
down_revision = '2a74cafb1284'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint('uq_user_account_email', type_='unique')
        batch_op.create_unique_constraint('uq_user_account_lab_email', ['lab_id', 'email'])
        batch_op.create_index(batch_op.f('ix_user_account_email'), ['email'], unique=False)


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_account_email'))
        batch_op.drop_constraint('uq_user_account_lab_email', type_='unique')
        batch_op.create_unique_constraint('uq_user_account_email', ['email'])
