"""notifications: the list, e-mail deliveries, preferences and the private calendar feed (issue 18)

No row holds a family's name, a note or an amount: a notification is a kind, a link and dates; a
delivery is the state of one e-mail; the calendar feed stores only the hash of its secret.

Revision ID: e18a0a000001
Revises: e13a0a000001
Create Date: 2026-12-01 21:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e18a0a000001"
down_revision = "e13a0a000001"
branch_labels = None
depends_on = None

KINDS = (
    "spend_waiting",
    "spend_approved",
    "spend_rejected",
    "spend_paid",
    "action_due",
    "action_overdue",
    "assessment_due",
    "follow_up_due",
    "meeting_tomorrow",
    "consent_expiring",
    "emergency_access",
    "mail_refused",
)


def _one_of(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade():
    op.create_table(
        "notification_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("lab_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=40), nullable=True),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            _one_of("status", ("queued", "sent", "failed", "skipped")),
            name=op.f("ck_notification_delivery_status_known"),
        ),
        sa.CheckConstraint(_one_of("mode", ("immediate", "digest")), name=op.f("ck_notification_delivery_mode_known")),
        sa.ForeignKeyConstraint(["lab_id"], ["lab.id"], name=op.f("fk_notification_delivery_lab_id_lab")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_notification_delivery_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_delivery")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notification_delivery_dedupe_key")),
    )
    with op.batch_alter_table("notification_delivery", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_delivery_lab_id"), ["lab_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_delivery_user_id"), ["user_id"], unique=False)

    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("lab_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("family_id", sa.Integer(), nullable=True),
        sa.Column("link", sa.String(length=300), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(_one_of("kind", KINDS), name=op.f("ck_notification_kind_known")),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["notification_delivery.id"],
            name=op.f("fk_notification_delivery_id_notification_delivery"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["family_id"], ["family.id"], name=op.f("fk_notification_family_id_family"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["lab_id"], ["lab.id"], name=op.f("fk_notification_lab_id_lab")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_notification_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notification_dedupe_key")),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_delivery_id"), ["delivery_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_family_id"), ["family_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_lab_id"), ["lab_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_user_id"), ["user_id"], unique=False)

    op.create_table(
        "notification_preference",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.CheckConstraint(_one_of("kind", KINDS), name=op.f("ck_notification_preference_kind_known")),
        sa.CheckConstraint(
            _one_of("channel", ("off", "immediate", "daily")), name=op.f("ck_notification_preference_channel_known")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_notification_preference_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "kind", name=op.f("pk_notification_preference")),
    )

    op.create_table(
        "calendar_feed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("show_names", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_calendar_feed_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feed")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feed_token_hash")),
        sa.UniqueConstraint("user_id", name=op.f("uq_calendar_feed_user_id")),
    )


def downgrade():
    op.drop_table("calendar_feed")
    op.drop_table("notification_preference")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_user_id"))
        batch_op.drop_index(batch_op.f("ix_notification_lab_id"))
        batch_op.drop_index(batch_op.f("ix_notification_family_id"))
        batch_op.drop_index(batch_op.f("ix_notification_delivery_id"))
    op.drop_table("notification")
    with op.batch_alter_table("notification_delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_delivery_user_id"))
        batch_op.drop_index(batch_op.f("ix_notification_delivery_lab_id"))
    op.drop_table("notification_delivery")
