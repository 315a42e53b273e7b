"""books (issue 17): accounting codes, voucher lines, period exports, year-end

``budget_accounting_codes`` holds each agency's accounting dimensions per budget year (the
delegations themselves are append-only); ``budget_category_account`` maps a spend category to an
account (*art*). ``voucher_line`` is written with every payment (and payment reversal) transfer, one
line per paying agency. ``budget_period_export`` marks a period exported (locked);
``budget_year_close`` and ``budget_year_close_agency`` record a closed year and each agency's decision.

Every existing payment transfer gets its voucher line (without codes, in the period of its payment
date). ``ledger_transfer.kind`` gains ``payment_reversal``, ``carry_out`` and ``carry_in``. On SQLite the
CHECK can only change by rebuilding the table, which drops its triggers: they are created again
exactly as in b14b45973391.

Revision ID: e17b0b000001
Revises: e13a0a000001
Create Date: 2026-12-01 20:57:57.941485

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e17b0b000001"
down_revision = "e17a0a000001"
branch_labels = None
depends_on = None


OLD_KINDS = ("delegation", "delegation_reversal", "allocation", "allocation_return", "reserve", "release", "payment")
NEW_KINDS = OLD_KINDS + ("payment_reversal", "carry_out", "carry_in")

# The triggers of ledger_transfer on SQLite (b14b45973391), dropped with the rebuilt table.
SQLITE_TRANSFER_TRIGGERS = [
    """
    CREATE TRIGGER ledger_transfer_apply AFTER INSERT ON ledger_transfer
    BEGIN
        SELECT RAISE(ABORT, 'ledger transfer between accounts of another lab')
         WHERE (SELECT count(*) FROM ledger_account
                 WHERE id IN (NEW.debit_account_id, NEW.credit_account_id) AND lab_id = NEW.lab_id) <> 2;
        UPDATE ledger_account SET balance = balance - NEW.amount WHERE id = NEW.debit_account_id;
        UPDATE ledger_account SET balance = balance + NEW.amount WHERE id = NEW.credit_account_id;
    END
    """,
    """
    CREATE TRIGGER ledger_transfer_no_update BEFORE UPDATE ON ledger_transfer
    BEGIN SELECT RAISE(ABORT, 'ledger_transfer is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER ledger_transfer_no_delete BEFORE DELETE ON ledger_transfer
    BEGIN SELECT RAISE(ABORT, 'ledger_transfer is append-only: DELETE refused'); END
    """,
]


def _kinds_check(kinds) -> str:
    return "kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")"


def _set_transfer_kinds(kinds) -> None:
    name = op.f("ck_ledger_transfer_kind_known")
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("ledger_transfer_apply", "ledger_transfer_no_update", "ledger_transfer_no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        with op.batch_alter_table("ledger_transfer", recreate="always") as batch_op:
            batch_op.drop_constraint(name, type_="check")
            batch_op.create_check_constraint(name, _kinds_check(kinds))
        for statement in SQLITE_TRANSFER_TRIGGERS:
            op.execute(statement)
    else:
        op.drop_constraint(name, "ledger_transfer", type_="check")
        op.create_check_constraint(name, "ledger_transfer", _kinds_check(kinds))


def upgrade():
    _set_transfer_kinds(NEW_KINDS)
    op.create_table(
        "budget_accounting_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lab_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("ansvar", sa.String(length=10), nullable=False),
        sa.Column("funksjon", sa.String(length=3), nullable=False),
        sa.Column("art", sa.String(length=8), nullable=False),
        sa.Column("prosjekt", sa.String(length=20), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("year BETWEEN 2000 AND 2100", name=op.f("ck_budget_accounting_codes_year_range")),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], name=op.f("fk_budget_accounting_codes_agency_id_agency")),
        sa.ForeignKeyConstraint(["lab_id"], ["lab.id"], name=op.f("fk_budget_accounting_codes_lab_id_lab")),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["user_account.id"], name=op.f("fk_budget_accounting_codes_updated_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_accounting_codes")),
        sa.UniqueConstraint(
            "lab_id", "agency_id", "year", name=op.f("uq_budget_accounting_codes_lab_id_agency_id_year")
        ),
    )
    op.create_table(
        "budget_category_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lab_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("art", sa.String(length=8), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "category IN ('deposit', 'moving', 'furniture', 'debt_settlement', 'course_licence', 'equipment', 'transport', 'children_leisure', 'childcare', 'other')",
            name=op.f("ck_budget_category_account_category_known"),
        ),
        sa.ForeignKeyConstraint(["lab_id"], ["lab.id"], name=op.f("fk_budget_category_account_lab_id_lab")),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["user_account.id"], name=op.f("fk_budget_category_account_updated_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_category_account")),
        sa.UniqueConstraint("lab_id", "category", name=op.f("uq_budget_category_account_lab_id_category")),
    )
    op.create_table(
        "budget_period_export",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lab_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("control_sum", sa.BigInteger(), nullable=False),
        sa.Column("exported_by_id", sa.Integer(), nullable=True),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], name=op.f("fk_budget_period_export_agency_id_agency")),
        sa.ForeignKeyConstraint(
            ["exported_by_id"], ["user_account.id"], name=op.f("fk_budget_period_export_exported_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(["lab_id"], ["lab.id"], name=op.f("fk_budget_period_export_lab_id_lab")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_period_export")),
        sa.UniqueConstraint(
            "lab_id", "agency_id", "period", name=op.f("uq_budget_period_export_lab_id_agency_id_period")
        ),
    )
    op.create_table(
        "budget_year_close",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lab_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("year BETWEEN 2000 AND 2100", name=op.f("ck_budget_year_close_year_range")),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["user_account.id"], name=op.f("fk_budget_year_close_closed_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(["lab_id"], ["lab.id"], name=op.f("fk_budget_year_close_lab_id_lab")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_year_close")),
        sa.UniqueConstraint("lab_id", "year", name=op.f("uq_budget_year_close_lab_id_year")),
    )
    op.create_table(
        "budget_year_close_agency",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year_close_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("unused", sa.String(length=8), nullable=False),
        sa.Column("unpaid", sa.String(length=8), nullable=False),
        sa.Column("decision_reference", sa.String(length=100), nullable=True),
        sa.Column("carried", sa.BigInteger(), nullable=False),
        sa.Column("returned", sa.BigInteger(), nullable=False),
        sa.Column("commitments_carried", sa.BigInteger(), nullable=False),
        sa.Column("released", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("unpaid IN ('carry', 'release')", name=op.f("ck_budget_year_close_agency_unpaid_known")),
        sa.CheckConstraint("unused IN ('carry', 'return')", name=op.f("ck_budget_year_close_agency_unused_known")),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_budget_year_close_agency_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["year_close_id"],
            ["budget_year_close.id"],
            name=op.f("fk_budget_year_close_agency_year_close_id_budget_year_close"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_year_close_agency")),
        sa.UniqueConstraint(
            "year_close_id", "agency_id", name=op.f("uq_budget_year_close_agency_year_close_id_agency_id")
        ),
    )
    with op.batch_alter_table("budget_year_close_agency", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_budget_year_close_agency_year_close_id"), ["year_close_id"], unique=False)

    op.create_table(
        "voucher_line",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lab_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("spend_request_id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("budget_year", sa.SmallInteger(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("voucher_date", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("ansvar", sa.String(length=10), nullable=True),
        sa.Column("funksjon", sa.String(length=3), nullable=True),
        sa.Column("art", sa.String(length=8), nullable=True),
        sa.Column("prosjekt", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'payment' AND amount > 0) OR (kind = 'reversal' AND amount < 0)",
            name=op.f("ck_voucher_line_amount_sign"),
        ),
        sa.CheckConstraint("kind IN ('payment', 'reversal')", name=op.f("ck_voucher_line_kind_known")),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], name=op.f("fk_voucher_line_agency_id_agency")),
        sa.ForeignKeyConstraint(["lab_id"], ["lab.id"], name=op.f("fk_voucher_line_lab_id_lab")),
        sa.ForeignKeyConstraint(
            ["spend_request_id"], ["spend_request.id"], name=op.f("fk_voucher_line_spend_request_id_spend_request")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["ledger_transfer.id"], name=op.f("fk_voucher_line_transfer_id_ledger_transfer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_line")),
        sa.UniqueConstraint("transfer_id", name=op.f("uq_voucher_line_transfer_id")),
    )
    with op.batch_alter_table("voucher_line", schema=None) as batch_op:
        batch_op.create_index("ix_voucher_line_period", ["lab_id", "agency_id", "period"], unique=False)
        batch_op.create_index(batch_op.f("ix_voucher_line_spend_request_id"), ["spend_request_id"], unique=False)
    _backfill_voucher_lines()


def _backfill_voucher_lines() -> None:
    """Existing payments get their voucher lines (one per payment transfer, the agency of the debited
    committed account, the period of the payment date) without codes: the codes saved later fill
    them while their periods are open (docs/budget.md)."""
    month = (
        "strftime('%Y-%m', s.paid_on)" if op.get_bind().dialect.name == "sqlite" else "to_char(s.paid_on, 'YYYY-MM')"
    )
    op.execute(f"""
        INSERT INTO voucher_line (lab_id, agency_id, spend_request_id, transfer_id, kind, budget_year, period,
                                  voucher_date, amount, category, created_at)
        SELECT t.lab_id, a.agency_id, t.spend_request_id, t.id, 'payment', a.year, {month}, s.paid_on, t.amount,
               s.category, t.created_at
          FROM ledger_transfer t
          JOIN ledger_account a ON a.id = t.debit_account_id
          JOIN spend_request s ON s.id = t.spend_request_id
         WHERE t.kind = 'payment' AND s.paid_on IS NOT NULL
    """)  # noqa: S608 - the one interpolation is one of two fixed SQL expressions


def downgrade():
    with op.batch_alter_table("voucher_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voucher_line_spend_request_id"))
        batch_op.drop_index("ix_voucher_line_period")

    op.drop_table("voucher_line")
    with op.batch_alter_table("budget_year_close_agency", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_budget_year_close_agency_year_close_id"))

    op.drop_table("budget_year_close_agency")
    op.drop_table("budget_year_close")
    op.drop_table("budget_period_export")
    op.drop_table("budget_category_account")
    op.drop_table("budget_accounting_codes")
    _set_transfer_kinds(OLD_KINDS)
