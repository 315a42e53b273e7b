"""enrolment: when the start and the closure were recorded (issue 14, the report's as-of date);
report_lab_access: the labs a county or national user reads the outcome report of (issue 14)

``started_on`` and ``closed_on`` are the days staff give, and may be backdated; the outcome report's
*as-of* date needs to know whether a start or closure had been **recorded** by then. Existing rows
keep NULL: the report then takes the day itself (recorded on the day it names).

``report_lab_access`` (user, lab) lists the labs whose outcome report a user with the ``region``
role reads together (``reports.policy``); ``user_role.role`` gains ``region``.

Revision ID: e14d0d000001
Revises: e14e0e000001
Create Date: 2026-12-02 01:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e14d0d000001"
down_revision = "e14e0e000001"
branch_labels = None
depends_on = None

OLD_ROLES = "role IN ('caseworker', 'team_lead', 'manager', 'admin')"
NEW_ROLES = "role IN ('caseworker', 'team_lead', 'manager', 'admin', 'region')"


def _roles(check: str) -> None:
    with op.batch_alter_table("user_role", recreate="always") as batch:
        batch.drop_constraint(batch.f("ck_user_role_role_known"), type_="check")
        batch.create_check_constraint(batch.f("ck_user_role_role_known"), sa.text(check))


def upgrade():
    with op.batch_alter_table("enrolment") as batch:
        batch.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "report_lab_access",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("lab_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_report_lab_access_user_id_user_account")),
        sa.ForeignKeyConstraint(["lab_id"], ["lab.id"], name=op.f("fk_report_lab_access_lab_id_lab")),
        sa.PrimaryKeyConstraint("user_id", "lab_id", name=op.f("pk_report_lab_access")),
    )
    _roles(NEW_ROLES)


def downgrade():
    op.execute("DELETE FROM user_role WHERE role = 'region'")
    _roles(OLD_ROLES)
    op.drop_table("report_lab_access")
    with op.batch_alter_table("enrolment") as batch:
        batch.drop_column("closed_at")
        batch.drop_column("started_at")
