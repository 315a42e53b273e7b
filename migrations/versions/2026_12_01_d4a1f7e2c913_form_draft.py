"""form draft: a form saved while it is filled in (issue 13, never lose work)

The meeting form is autosaved every few seconds, one draft per user, family and kind of form,
restored when the user comes back (after a new sign-in too) and deleted when the form is saved or
the draft discarded. Family data: erasure deletes the rows (privacy inventory, ``delete=True``).

Revision ID: d4a1f7e2c913
Revises: c0ffee120216
Create Date: 2026-12-01 15:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd4a1f7e2c913'
down_revision = 'c0ffee120216'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('form_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('family_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['family_id'], ['family.id'], name=op.f('fk_form_draft_family_id_family'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_form_draft_user_id_user_account'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form_draft')),
    sa.UniqueConstraint('user_id', 'family_id', 'kind', name=op.f('uq_form_draft_user_id_family_id_kind'))
    )
    with op.batch_alter_table('form_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_draft_family_id'), ['family_id'], unique=False)


def downgrade():
    with op.batch_alter_table('form_draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_form_draft_family_id'))
    op.drop_table('form_draft')
