"""report_snapshot: a published report's statement rows, kept once computed (issues 14 and 19);
an index for the latest assessment of a family on or before a day

A published quarter is read as recorded at its release instant, so its statements give the same
rows every time: the first reading computes them and stores them here, later readings read them
(``reports.snapshots``). The index lets the predicted-versus-actual statement find the rating before
and after each payment in one index step.

Revision ID: e19c0c000001
Revises: e14f0f000001
Create Date: 2026-12-02 11:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e19c0c000001"
down_revision = "e14f0f000001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report_snapshot",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_report_snapshot")),
    )
    op.create_index("ix_journey_assessment_family_day", "journey_assessment", ["family_id", "assessed_on", "id"])


def downgrade():
    op.drop_index("ix_journey_assessment_family_day", table_name="journey_assessment")
    op.drop_table("report_snapshot")
