"""consent per person, purpose and kind of information (issue 15)

A consent names whom it is about (``subject_member_id``; none: the household's shared matters),
how it was given (``method``, ``witness_name``), who withdrew it (``withdrawn_by_member_id``) and
which kinds of information it covers (``consent_category``: the seven themes and the note
categories). Existing consents become household consents covering every kind there is today,
recorded as ``method = 'migrated'``: nothing is widened — a household consent opens only the
household's shared matters, as before.

Revision ID: e15a0a000001
Revises: e13a0a000001
Create Date: 2026-12-01 21:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e15a0a000001"
down_revision = "e16a0a000001"
branch_labels = None
depends_on = None

# The kinds of information at the time of this migration (frozen here: the model's list may grow).
CATEGORIES = ("bolig", "arbeid", "skole", "nettverk", "okonomi", "helse", "oppvekst", "meeting_notes", "general")
METHODS = ("signed", "verbal", "migrated")


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _sqlite_add_columns():
    """SQLite adds the columns in place (ALTER TABLE ... ADD COLUMN with REFERENCES and CHECK): a batch
    would rebuild ``consent``, whose rows point at each other (``supersedes_id``), and the foreign-key
    check of dropping the old table fails on a database that holds consents."""
    op.execute("ALTER TABLE consent ADD COLUMN subject_member_id INTEGER REFERENCES family_member (id)")
    op.execute(
        "ALTER TABLE consent ADD COLUMN method VARCHAR(12) DEFAULT 'migrated' NOT NULL "
        f"CONSTRAINT ck_consent_method_known CHECK ({_in('method', METHODS)})"
    )
    op.execute(
        "ALTER TABLE consent ADD COLUMN witness_name VARCHAR(200) CONSTRAINT ck_consent_verbal_has_witness "
        "CHECK (method <> 'verbal' OR witness_name IS NOT NULL)"
    )
    op.execute("ALTER TABLE consent ADD COLUMN withdrawn_by_member_id INTEGER REFERENCES family_member (id)")


def _add_columns():
    with op.batch_alter_table("consent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_member_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("method", sa.String(length=12), server_default="migrated", nullable=False))
        batch_op.add_column(sa.Column("witness_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_by_member_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_consent_subject_member_id_family_member"), "family_member", ["subject_member_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_consent_withdrawn_by_member_id_family_member"),
            "family_member",
            ["withdrawn_by_member_id"],
            ["id"],
        )
        batch_op.create_check_constraint(batch_op.f("ck_consent_method_known"), _in("method", METHODS))
        batch_op.create_check_constraint(
            batch_op.f("ck_consent_verbal_has_witness"), "method <> 'verbal' OR witness_name IS NOT NULL"
        )


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_add_columns()
    else:
        _add_columns()
    op.create_table(
        "consent_category",
        sa.Column("consent_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.CheckConstraint(_in("category", CATEGORIES), name=op.f("ck_consent_category_category_known")),
        sa.ForeignKeyConstraint(
            ["consent_id"], ["consent.id"], name=op.f("fk_consent_category_consent_id_consent"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("consent_id", "category", name=op.f("pk_consent_category")),
    )
    # Every existing consent was per household and all-or-nothing: a household consent covering
    # every kind of information (its method says it was migrated). A withdrawal row's withdrawer
    # was stored as its giver; the row keeps that, and the withdrawer is recorded too.
    consent = sa.table(
        "consent",
        sa.column("id", sa.Integer),
        sa.column("withdrawn_on", sa.Date),
        sa.column("given_by_member_id", sa.Integer),
        sa.column("withdrawn_by_member_id", sa.Integer),
    )
    op.execute(
        consent.update()
        .where(consent.c.withdrawn_on.is_not(None))
        .values(withdrawn_by_member_id=consent.c.given_by_member_id)
    )
    category = sa.table("consent_category", sa.column("consent_id", sa.Integer), sa.column("category", sa.String))
    for code in CATEGORIES:
        op.execute(category.insert().from_select(["consent_id", "category"], sa.select(consent.c.id, sa.literal(code))))


def downgrade():
    op.drop_table("consent_category")
    if op.get_bind().dialect.name == "sqlite":  # the columns were added in place: a rebuild drops them
        with op.batch_alter_table("consent", schema=None, recreate="always") as batch_op:
            batch_op.drop_constraint("verbal_has_witness", type_="check")
            batch_op.drop_constraint("method_known", type_="check")
            for column in ("withdrawn_by_member_id", "witness_name", "method", "subject_member_id"):
                batch_op.drop_column(column)
        return
    with op.batch_alter_table("consent", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_consent_verbal_has_witness"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_consent_method_known"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_consent_withdrawn_by_member_id_family_member"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_consent_subject_member_id_family_member"), type_="foreignkey")
        batch_op.drop_column("withdrawn_by_member_id")
        batch_op.drop_column("witness_name")
        batch_op.drop_column("method")
        batch_op.drop_column("subject_member_id")
