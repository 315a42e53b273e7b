"""budget: ledger, delegations, authority rules, spend requests

The ledger's rules live in the database, not only in the application: a trigger applies every
inserted transfer to the two account balances, a CHECK constraint keeps each balance within its
bounds (so an overspending INSERT fails, whoever sends it), and transfers, decisions and
delegations cannot be updated or deleted. PostgreSQL also refuses TRUNCATE and any change of a
balance that does not come from a transfer. SQLite gets the same transfer trigger and
immutability triggers (it has no trigger depth, so a raw balance UPDATE is refused only on
PostgreSQL).

Revision ID: b14b45973391
Revises: 3ccd0e77c181
Create Date: 2026-11-29 05:52:59.092123

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b14b45973391'
down_revision = '3ccd0e77c181'
branch_labels = None
depends_on = None

APPEND_ONLY = ("ledger_transfer", "spend_decision", "budget_delegation")

POSTGRES_UP = [
    """
    CREATE FUNCTION ledger_apply_transfer() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF (SELECT count(*) FROM ledger_account
            WHERE id IN (NEW.debit_account_id, NEW.credit_account_id) AND lab_id = NEW.lab_id) <> 2 THEN
            RAISE EXCEPTION 'ledger transfer between accounts of another lab' USING ERRCODE = 'check_violation';
        END IF;
        -- One statement, rows locked in index order: concurrent transfers cannot deadlock here.
        UPDATE ledger_account
           SET balance = balance + CASE WHEN id = NEW.credit_account_id THEN NEW.amount ELSE -NEW.amount END
         WHERE id IN (NEW.debit_account_id, NEW.credit_account_id);
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER ledger_transfer_apply AFTER INSERT ON ledger_transfer
    FOR EACH ROW EXECUTE FUNCTION ledger_apply_transfer()
    """,
    """
    CREATE FUNCTION ledger_account_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            IF NEW.balance <> 0 THEN
                RAISE EXCEPTION 'a ledger account opens with balance 0' USING ERRCODE = 'check_violation';
            END IF;
            RETURN NEW;
        END IF;
        IF (NEW.lab_id, NEW.year, NEW.kind, NEW.agency_id, NEW.family_id, NEW.code)
           IS DISTINCT FROM (OLD.lab_id, OLD.year, OLD.kind, OLD.agency_id, OLD.family_id, OLD.code) THEN
            RAISE EXCEPTION 'a ledger account never changes what it is' USING ERRCODE = 'check_violation';
        END IF;
        -- Depth 1 is a statement on this table; the transfer trigger's update runs at depth 2.
        IF NEW.balance <> OLD.balance AND pg_trigger_depth() < 2 THEN
            RAISE EXCEPTION 'ledger balances change only through transfers' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER ledger_account_guard BEFORE INSERT OR UPDATE ON ledger_account
    FOR EACH ROW EXECUTE FUNCTION ledger_account_guard()
    """,
    """
    CREATE FUNCTION budget_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END $$
    """,
    """
    CREATE TRIGGER ledger_account_no_delete BEFORE DELETE ON ledger_account
    FOR EACH ROW EXECUTE FUNCTION budget_refuse_change()
    """,
    """
    CREATE TRIGGER ledger_account_no_truncate BEFORE TRUNCATE ON ledger_account
    FOR EACH STATEMENT EXECUTE FUNCTION budget_refuse_change()
    """,
] + [statement for table in APPEND_ONLY for statement in (
    f"""
    CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION budget_refuse_change()
    """,
    f"""
    CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION budget_refuse_change()
    """,
)]

SQLITE_UP = [
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
    CREATE TRIGGER ledger_account_opens_empty BEFORE INSERT ON ledger_account WHEN NEW.balance <> 0
    BEGIN SELECT RAISE(ABORT, 'a ledger account opens with balance 0'); END
    """,
    """
    CREATE TRIGGER ledger_account_no_delete BEFORE DELETE ON ledger_account
    BEGIN SELECT RAISE(ABORT, 'ledger_account is append-only: DELETE refused'); END
    """,
] + [statement for table in APPEND_ONLY for statement in (
    f"""
    CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
    BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END
    """,
    f"""
    CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
    BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END
    """,
)]


def upgrade():
    op.create_table('ledger_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lab_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('family_id', sa.Integer(), nullable=True),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('balance', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(family_id IS NULL) = (kind IN ('delegation', 'pool'))", name=op.f('ck_ledger_account_family_when_family_kind')),
    sa.CheckConstraint("(kind = 'delegation' AND balance <= 0) OR (kind <> 'delegation' AND balance >= 0)", name=op.f('ck_ledger_account_balance_within_bounds')),
    sa.CheckConstraint("kind IN ('delegation', 'pool', 'allocation', 'committed', 'paid')", name=op.f('ck_ledger_account_kind_known')),
    sa.CheckConstraint('year BETWEEN 2000 AND 2100', name=op.f('ck_ledger_account_year_range')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_ledger_account_agency_id_agency')),
    sa.ForeignKeyConstraint(['family_id'], ['family.id'], name=op.f('fk_ledger_account_family_id_family')),
    sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], name=op.f('fk_ledger_account_lab_id_lab')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_account')),
    sa.UniqueConstraint('code', name=op.f('uq_ledger_account_code'))
    )
    with op.batch_alter_table('ledger_account', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_account_family_year', ['family_id', 'year'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_account_lab_id'), ['lab_id'], unique=False)
        batch_op.create_index('ix_ledger_account_lab_year_kind', ['lab_id', 'year', 'kind'], unique=False)

    op.create_table('authority_rule_set',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lab_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_authority_rule_set_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], name=op.f('fk_authority_rule_set_lab_id_lab')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_authority_rule_set')),
    sa.UniqueConstraint('lab_id', 'version', name=op.f('uq_authority_rule_set_lab_id_version'))
    )
    op.create_table('budget_delegation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lab_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('decision_reference', sa.String(length=100), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_budget_delegation_amount_positive')),
    sa.CheckConstraint('year BETWEEN 2000 AND 2100', name=op.f('ck_budget_delegation_year_range')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_budget_delegation_agency_id_agency')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_budget_delegation_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], name=op.f('fk_budget_delegation_lab_id_lab')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budget_delegation'))
    )
    with op.batch_alter_table('budget_delegation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_budget_delegation_lab_id'), ['lab_id'], unique=False)

    op.create_table('authority_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_set_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=12), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.Column('max_per_spend', sa.BigInteger(), nullable=True),
    sa.Column('max_per_family_year', sa.BigInteger(), nullable=True),
    sa.Column('approvals_required', sa.SmallInteger(), nullable=False),
    sa.CheckConstraint("role IN ('team_lead', 'manager')", name=op.f('ck_authority_rule_role_known')),
    sa.CheckConstraint('approvals_required BETWEEN 1 AND 2', name=op.f('ck_authority_rule_approvals_range')),
    sa.CheckConstraint('max_per_family_year IS NULL OR max_per_family_year > 0', name=op.f('ck_authority_rule_max_per_family_year_positive')),
    sa.CheckConstraint('max_per_spend IS NULL OR max_per_spend > 0', name=op.f('ck_authority_rule_max_per_spend_positive')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_authority_rule_agency_id_agency')),
    sa.ForeignKeyConstraint(['rule_set_id'], ['authority_rule_set.id'], name=op.f('fk_authority_rule_rule_set_id_authority_rule_set')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_authority_rule'))
    )
    with op.batch_alter_table('authority_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_authority_rule_rule_set_id'), ['rule_set_id'], unique=False)

    op.create_table('spend_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lab_id', sa.Integer(), nullable=False),
    sa.Column('family_id', sa.Integer(), nullable=False),
    sa.Column('budget_year', sa.SmallInteger(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('payee', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.String(length=1000), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('theme', sa.String(length=20), nullable=False),
    sa.Column('goal_id', sa.Integer(), nullable=False),
    sa.Column('expected_effect', sa.String(length=1000), nullable=False),
    sa.Column('level_from', sa.SmallInteger(), nullable=True),
    sa.Column('level_to', sa.SmallInteger(), nullable=False),
    sa.Column('wanted_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('route', sa.String(length=12), nullable=True),
    sa.Column('approved_role', sa.String(length=12), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rejection_reason', sa.String(length=500), nullable=True),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('payment_reference', sa.String(length=100), nullable=True),
    sa.Column('paid_by_id', sa.Integer(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancellation_reason', sa.String(length=500), nullable=True),
    sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("category IN ('deposit', 'moving', 'furniture', 'debt_settlement', 'course_licence', 'equipment', 'transport', 'children_leisure', 'childcare', 'other')", name=op.f('ck_spend_request_category_known')),
    sa.CheckConstraint("route IS NULL OR route IN ('team', 'management')", name=op.f('ck_spend_request_route_known')),
    sa.CheckConstraint("status <> 'cancelled' OR cancellation_reason IS NOT NULL", name=op.f('ck_spend_request_cancelled_has_reason')),
    sa.CheckConstraint("status <> 'paid' OR (paid_on IS NOT NULL AND payment_reference IS NOT NULL)", name=op.f('ck_spend_request_paid_has_date_and_reference')),
    sa.CheckConstraint("status <> 'rejected' OR rejection_reason IS NOT NULL", name=op.f('ck_spend_request_rejected_has_reason')),
    sa.CheckConstraint("status IN ('draft', 'cancelled') OR (submitted_at IS NOT NULL AND route IS NOT NULL)", name=op.f('ck_spend_request_submitted_has_route')),
    sa.CheckConstraint("status IN ('draft', 'requested', 'approved', 'rejected', 'paid', 'cancelled')", name=op.f('ck_spend_request_status_known')),
    sa.CheckConstraint("theme IN ('bolig', 'arbeid', 'skole', 'nettverk', 'okonomi', 'helse', 'oppvekst')", name=op.f('ck_spend_request_theme_known')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_spend_request_amount_positive')),
    sa.CheckConstraint('level_from IS NULL OR (level_from BETWEEN 1 AND 4 AND level_to >= level_from)', name=op.f('ck_spend_request_level_from_range')),
    sa.CheckConstraint('level_to BETWEEN 1 AND 4', name=op.f('ck_spend_request_level_to_range')),
    sa.ForeignKeyConstraint(['cancelled_by_id'], ['user_account.id'], name=op.f('fk_spend_request_cancelled_by_id_user_account')),
    sa.ForeignKeyConstraint(['family_id'], ['family.id'], name=op.f('fk_spend_request_family_id_family')),
    sa.ForeignKeyConstraint(['goal_id'], ['goal.id'], name=op.f('fk_spend_request_goal_id_goal')),
    sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], name=op.f('fk_spend_request_lab_id_lab')),
    sa.ForeignKeyConstraint(['paid_by_id'], ['user_account.id'], name=op.f('fk_spend_request_paid_by_id_user_account')),
    sa.ForeignKeyConstraint(['requester_id'], ['user_account.id'], name=op.f('fk_spend_request_requester_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spend_request'))
    )
    with op.batch_alter_table('spend_request', schema=None) as batch_op:
        batch_op.create_index('ix_spend_request_family_year', ['family_id', 'budget_year'], unique=False)
        batch_op.create_index('ix_spend_request_queue', ['lab_id', 'status', 'route', 'submitted_at'], unique=False)

    op.create_table('budget_idempotency_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('operation', sa.String(length=20), nullable=False),
    sa.Column('spend_request_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['spend_request_id'], ['spend_request.id'], name=op.f('fk_budget_idempotency_key_spend_request_id_spend_request')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_budget_idempotency_key_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budget_idempotency_key')),
    sa.UniqueConstraint('user_id', 'key', name=op.f('uq_budget_idempotency_key_user_id_key'))
    )
    op.create_table('ledger_transfer',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lab_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('debit_account_id', sa.Integer(), nullable=False),
    sa.Column('credit_account_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('spend_request_id', sa.Integer(), nullable=True),
    sa.Column('delegation_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('delegation', 'delegation_reversal', 'allocation', 'allocation_return', 'reserve', 'release', 'payment')", name=op.f('ck_ledger_transfer_kind_known')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_ledger_transfer_amount_positive')),
    sa.CheckConstraint('debit_account_id <> credit_account_id', name=op.f('ck_ledger_transfer_two_accounts')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_ledger_transfer_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['credit_account_id'], ['ledger_account.id'], name=op.f('fk_ledger_transfer_credit_account_id_ledger_account')),
    sa.ForeignKeyConstraint(['debit_account_id'], ['ledger_account.id'], name=op.f('fk_ledger_transfer_debit_account_id_ledger_account')),
    sa.ForeignKeyConstraint(['delegation_id'], ['budget_delegation.id'], name=op.f('fk_ledger_transfer_delegation_id_budget_delegation')),
    sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], name=op.f('fk_ledger_transfer_lab_id_lab')),
    sa.ForeignKeyConstraint(['spend_request_id'], ['spend_request.id'], name=op.f('fk_ledger_transfer_spend_request_id_spend_request')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_transfer'))
    )
    with op.batch_alter_table('ledger_transfer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_transfer_credit_account_id'), ['credit_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_transfer_debit_account_id'), ['debit_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_transfer_delegation_id'), ['delegation_id'], unique=False)
        batch_op.create_index('ix_ledger_transfer_lab_time', ['lab_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_transfer_spend_request_id'), ['spend_request_id'], unique=False)

    op.create_table('spend_decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('spend_request_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=10), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=12), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('rule_version', sa.Integer(), nullable=True),
    sa.Column('final', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("decision <> 'approve' OR (rule_id IS NOT NULL AND rule_version IS NOT NULL)", name=op.f('ck_spend_decision_approval_names_rule')),
    sa.CheckConstraint("decision <> 'reject' OR reason IS NOT NULL", name=op.f('ck_spend_decision_rejection_has_reason')),
    sa.CheckConstraint("decision IN ('approve', 'reject')", name=op.f('ck_spend_decision_decision_known')),
    sa.CheckConstraint("role IN ('team_lead', 'manager')", name=op.f('ck_spend_decision_role_known')),
    sa.ForeignKeyConstraint(['rule_id'], ['authority_rule.id'], name=op.f('fk_spend_decision_rule_id_authority_rule')),
    sa.ForeignKeyConstraint(['spend_request_id'], ['spend_request.id'], name=op.f('fk_spend_decision_spend_request_id_spend_request')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_spend_decision_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spend_decision')),
    sa.UniqueConstraint('spend_request_id', 'user_id', 'decision', name=op.f('uq_spend_decision_spend_request_id_user_id_decision'))
    )
    with op.batch_alter_table('spend_decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spend_decision_spend_request_id'), ['spend_request_id'], unique=False)

    for statement in POSTGRES_UP if op.get_bind().dialect.name == "postgresql" else SQLITE_UP:
        op.execute(statement)


def downgrade():
    # Dropping a table drops its triggers; PostgreSQL keeps the functions, so they go explicitly.
    for table in ("spend_decision", "ledger_transfer", "budget_idempotency_key", "spend_request",
                  "authority_rule", "budget_delegation", "authority_rule_set", "ledger_account"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        for function in ("ledger_apply_transfer", "ledger_account_guard", "budget_refuse_change"):
            op.execute(f"DROP FUNCTION {function}()")
