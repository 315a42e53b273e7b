"""enrolment: when the start and the closure were recorded (issue 14, the report's as-of date)

``started_on`` and ``closed_on`` are the days staff give, and may be backdated; the outcome report's
*as-of* date needs to know whether a start or closure had been **recorded** by then. Existing rows
keep NULL: the report then takes the day itself (recorded on the day it names).

Revision ID: e14d0d000001
Revises: e17b0b000001
Create Date: 2026-12-02 01:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e14d0d000001"
down_revision = "e17b0b000001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("enrolment") as batch:
        batch.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("enrolment") as batch:
        batch.drop_column("closed_at")
        batch.drop_column("started_at")
