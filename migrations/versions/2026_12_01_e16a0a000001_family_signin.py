"""the family's own sign-in (issue 16): a member's sign-in link, invitations, family sessions

``family_login`` links a family member to the person who signs in as them, by a keyed hash of the
provider's identifier (never the identifier); ``family_invitation`` holds the team lead's one-time
codes (hashed, expiring, single use); ``family_session`` the family's own sessions (Min side).

Revision ID: e16a0a000001
Revises: e13a0a000001
Create Date: 2026-12-01 21:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e16a0a000001"
down_revision = "e15b0b000001"
branch_labels = None
depends_on = None


def _member_fk(table):
    return sa.ForeignKeyConstraint(
        ["member_id"], ["family_member.id"], name=op.f(f"fk_{table}_member_id_family_member"), ondelete="CASCADE"
    )


def upgrade():
    op.create_table(
        "family_login",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("identity_hash", sa.String(length=64), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        _member_fk("family_login"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_login")),
        sa.UniqueConstraint("member_id", name=op.f("uq_family_login_member_id")),
        sa.UniqueConstraint("identity_hash", name=op.f("uq_family_login_identity_hash")),
    )
    op.create_table(
        "family_invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        _member_fk("family_invitation"),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user_account.id"], name=op.f("fk_family_invitation_created_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_invitation")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_family_invitation_code_hash")),
    )
    with op.batch_alter_table("family_invitation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_family_invitation_member_id"), ["member_id"], unique=False)
    op.create_table(
        "family_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        _member_fk("family_session"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_family_session_token_hash")),
    )
    with op.batch_alter_table("family_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_family_session_member_id"), ["member_id"], unique=False)


def downgrade():
    with op.batch_alter_table("family_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_family_session_member_id"))
    op.drop_table("family_session")
    with op.batch_alter_table("family_invitation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_family_invitation_member_id"))
    op.drop_table("family_invitation")
    op.drop_table("family_login")
