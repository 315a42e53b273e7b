"""report_release: when each quarter's outcome report was published (issue 14, closed periods only)

The outcome report publishes closed quarters only: the first reading after a quarter has been closed
for ``REPORT_RELEASE_LAG_DAYS`` fixes the quarter's release instant, and every report ending with
that quarter is computed as recorded at that instant (``reports.releases``).

Revision ID: e14f0f000001
Revises: e14d0d000001
Create Date: 2026-12-02 06:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e14f0f000001"
down_revision = "e14d0d000001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report_release",
        sa.Column("quarter_end", sa.Date(), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("quarter_end", name=op.f("pk_report_release")),
    )


def downgrade():
    op.drop_table("report_release")
