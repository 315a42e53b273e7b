"""meeting on a scale (issue 13): interpreter used per meeting, and the action changes a meeting made

``meeting.interpreter_used`` says whether an interpreter took part (false for the meetings before).
``meeting_action_change`` keeps each status change of an existing action made at a meeting
(from → to), so the meeting's page shows what it changed. Family data: erasure follows the meeting
(privacy inventory).

Revision ID: e13a0a000001
Revises: e13c0c000001
Create Date: 2026-12-01 17:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e13a0a000001'
down_revision = 'e13c0c000001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('interpreter_used', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table('meeting_action_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.String(length=12), nullable=False),
    sa.Column('to_status', sa.String(length=12), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['action.id'], name=op.f('fk_meeting_action_change_action_id_action'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'],
                            name=op.f('fk_meeting_action_change_meeting_id_meeting'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_action_change'))
    )
    with op.batch_alter_table('meeting_action_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_action_change_meeting_id'), ['meeting_id'], unique=False)


def downgrade():
    with op.batch_alter_table('meeting_action_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_action_change_meeting_id'))
    op.drop_table('meeting_action_change')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_column('interpreter_used')
