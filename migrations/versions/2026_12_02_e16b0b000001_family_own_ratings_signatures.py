"""Min side (issue 16): the family's own ratings before a meeting, and electronic consent signatures

``family_own_rating`` holds a family member's own rating of a theme, given on Min side (one per
member and theme, the newest); ``consent_signature`` records that a member signed a consent form
electronically: when, and by which sign-in method and assurance level.

Revision ID: e16b0b000001
Revises: e17b0b000001
Create Date: 2026-12-02 01:20:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e16b0b000001"
down_revision = "e17b0b000001"
branch_labels = None
depends_on = None

THEMES = ("bolig", "arbeid", "skole", "nettverk", "okonomi", "helse", "oppvekst")


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade():
    op.create_table(
        "family_own_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("family_id", sa.Integer(), nullable=False),
        sa.Column("given_by_member_id", sa.Integer(), nullable=False),
        sa.Column("subject_member_id", sa.Integer(), nullable=True),
        sa.Column("theme", sa.String(length=20), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("scale", sa.String(length=10), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("level BETWEEN 1 AND 4", name=op.f("ck_family_own_rating_level_range")),
        sa.CheckConstraint("scale = 'four_step' OR level <= 3", name=op.f("ck_family_own_rating_child_scale_range")),
        sa.CheckConstraint(_in("theme", THEMES), name=op.f("ck_family_own_rating_theme_known")),
        sa.CheckConstraint(_in("scale", ("four_step", "child")), name=op.f("ck_family_own_rating_scale_known")),
        sa.ForeignKeyConstraint(["family_id"], ["family.id"], name=op.f("fk_family_own_rating_family_id_family")),
        sa.ForeignKeyConstraint(["given_by_member_id"], ["family_member.id"],
                                name=op.f("fk_family_own_rating_given_by_member_id_family_member"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["subject_member_id"], ["family_member.id"],
                                name=op.f("fk_family_own_rating_subject_member_id_family_member"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_own_rating")),
        sa.UniqueConstraint("given_by_member_id", "theme", name="uq_family_own_rating_member_theme"),
    )
    with op.batch_alter_table("family_own_rating", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_family_own_rating_family_id"), ["family_id"], unique=False)
    op.create_table(
        "consent_signature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consent_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("acr", sa.String(length=60), nullable=True),
        sa.ForeignKeyConstraint(["consent_id"], ["consent.id"], name=op.f("fk_consent_signature_consent_id_consent"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["family_member.id"],
                                name=op.f("fk_consent_signature_member_id_family_member"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_signature")),
        sa.UniqueConstraint("consent_id", "member_id", name="uq_consent_signature_consent_member"),
    )
    with op.batch_alter_table("consent_signature", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_signature_consent_id"), ["consent_id"], unique=False)


def downgrade():
    with op.batch_alter_table("consent_signature", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_signature_consent_id"))
    op.drop_table("consent_signature")
    with op.batch_alter_table("family_own_rating", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_family_own_rating_family_id"))
    op.drop_table("family_own_rating")
