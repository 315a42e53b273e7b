"""report batches (queued progress reports)

A batch of progress reports (a lab's quarter) rendered by RQ workers; each item keeps its PDF in
the database so any app worker on any host can serve the download.

Revision ID: abe6ab7562d1
Revises: 9a3dd8fe46d7
Create Date: 2026-11-29 06:13:08.569357

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'abe6ab7562d1'
down_revision = '9a3dd8fe46d7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('report_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lab_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('quarterly_progress')", name=op.f('ck_report_batch_kind_known')),
    sa.CheckConstraint('period_end >= period_start', name=op.f('ck_report_batch_period_order')),
    sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], name=op.f('fk_report_batch_lab_id_lab')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], name=op.f('fk_report_batch_requested_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_batch'))
    )
    with op.batch_alter_table('report_batch', schema=None) as batch_op:
        batch_op.create_index('ix_report_batch_requester', ['requested_by_id', 'created_at'], unique=False)

    op.create_table('report_batch_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('family_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.SmallInteger(), nullable=False),
    sa.Column('error', sa.String(length=40), nullable=True),
    sa.Column('pdf', sa.LargeBinary(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status <> 'done' OR pdf IS NOT NULL", name=op.f('ck_report_batch_item_done_has_pdf')),
    sa.CheckConstraint("status IN ('queued', 'done', 'failed')", name=op.f('ck_report_batch_item_status_known')),
    sa.ForeignKeyConstraint(['batch_id'], ['report_batch.id'], name=op.f('fk_report_batch_item_batch_id_report_batch')),
    sa.ForeignKeyConstraint(['family_id'], ['family.id'], name=op.f('fk_report_batch_item_family_id_family')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_batch_item')),
    sa.UniqueConstraint('batch_id', 'family_id', name=op.f('uq_report_batch_item_batch_id_family_id'))
    )
    with op.batch_alter_table('report_batch_item', schema=None) as batch_op:
        batch_op.create_index('ix_report_batch_item_batch_status', ['batch_id', 'status'], unique=False)



def downgrade():
    with op.batch_alter_table('report_batch_item', schema=None) as batch_op:
        batch_op.drop_index('ix_report_batch_item_batch_status')

    op.drop_table('report_batch_item')
    with op.batch_alter_table('report_batch', schema=None) as batch_op:
        batch_op.drop_index('ix_report_batch_requester')

    op.drop_table('report_batch')
