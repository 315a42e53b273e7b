"""every member's voice (issue 15): ratings about a member and given by a member, and the children's scale

``theme_rating.subject_member_id`` is the family member a rating is about (NULL: the household, as
every rating before), ``given_by_member_id`` the family member whose own view it is (perspective
``member``), and ``scale`` how it was asked (``four_step``, or ``child``: three answers stored as
levels 1–3). The existing ratings keep their perspective and stay about the household; none is
linked to a member (which young person gave a "young person" rating is not known). The unique
constraint per (assessment, theme, perspective) becomes a unique index that also takes the giver
and the subject.

Revision ID: e15b0b000001
Revises: e13a0a000001
Create Date: 2026-12-01 21:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e15b0b000001"
down_revision = "e18a0a000001"
branch_labels = None
depends_on = None

OLD_PERSPECTIVES = "perspective IN ('team', 'family', 'young_person')"
HOUSEHOLD = "given_by_member_id IS NULL AND subject_member_id IS NULL"
NEW_PERSPECTIVES = "perspective IN ('team', 'family', 'young_person', 'member')"


def upgrade():
    with op.batch_alter_table("theme_rating", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_member_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("given_by_member_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("scale", sa.String(length=10), server_default="four_step", nullable=False))
        batch_op.create_foreign_key(
            batch_op.f("fk_theme_rating_subject_member_id_family_member"),
            "family_member",
            ["subject_member_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_theme_rating_given_by_member_id_family_member"),
            "family_member",
            ["given_by_member_id"],
            ["id"],
        )
        batch_op.drop_constraint(batch_op.f("uq_theme_rating_assessment_id_theme_perspective"), type_="unique")
        batch_op.drop_constraint(batch_op.f("ck_theme_rating_perspective_known"), type_="check")
        batch_op.create_check_constraint("perspective_known", NEW_PERSPECTIVES)
        batch_op.create_check_constraint("scale_known", "scale IN ('four_step', 'child')")
        batch_op.create_check_constraint("child_scale_range", "scale = 'four_step' OR level <= 3")
        batch_op.create_check_constraint("member_gives", "(perspective = 'member') = (given_by_member_id IS NOT NULL)")
        batch_op.create_index("ix_theme_rating_subject", ["subject_member_id"], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_theme_rating_voice"),
            ["assessment_id", "theme", "perspective", "given_by_member_id", "subject_member_id"],
        )
    op.create_index(
        "uq_theme_rating_household",
        "theme_rating",
        ["assessment_id", "theme", "perspective"],
        unique=True,
        sqlite_where=sa.text(HOUSEHOLD),
        postgresql_where=sa.text(HOUSEHOLD),
    )


def downgrade():
    # The ratings a member gave, or about a member, have no place in the old shape.
    op.execute("DELETE FROM theme_rating WHERE perspective = 'member' OR subject_member_id IS NOT NULL")
    op.drop_index("uq_theme_rating_household", table_name="theme_rating")
    with op.batch_alter_table("theme_rating", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_theme_rating_voice"), type_="unique")
        batch_op.drop_index("ix_theme_rating_subject")
        batch_op.drop_constraint(batch_op.f("ck_theme_rating_member_gives"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_theme_rating_child_scale_range"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_theme_rating_scale_known"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_theme_rating_perspective_known"), type_="check")
        batch_op.create_check_constraint("perspective_known", OLD_PERSPECTIVES)
        batch_op.create_unique_constraint(
            batch_op.f("uq_theme_rating_assessment_id_theme_perspective"), ["assessment_id", "theme", "perspective"]
        )
        batch_op.drop_constraint(batch_op.f("fk_theme_rating_given_by_member_id_family_member"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_theme_rating_subject_member_id_family_member"), type_="foreignkey")
        batch_op.drop_column("scale")
        batch_op.drop_column("given_by_member_id")
        batch_op.drop_column("subject_member_id")
