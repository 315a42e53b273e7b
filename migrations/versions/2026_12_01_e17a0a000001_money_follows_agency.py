"""money follows the agency (issue 17): the funding of every spend, authority by funding agency

``spend_funding`` names the agencies (with amounts summing to the request's amount) whose money
a spend request uses; ``budget_theme_agency`` is a lab's theme → agency default for the form's
proposal; authority rules gain conditions (funding agency, theme, category) and a limit per
funding agency per year.

Existing requests get their funding by this rule (docs/budget.md, "Funding"):

1. a request that reserved money (approved, paid, or cancelled after approval) is funded by
   exactly what its ``reserve`` transfers took from each agency's allocation for the family (the
   transfer's debit account names the agency);
2. any other request (draft, waiting, rejected, cancelled before approval) is funded in full by
   one agency: the theme's default agency (by agency kind, as the application's
   ``THEME_AGENCY_KINDS``) when the family has an allocation from it that year; otherwise the
   agency of the family's largest allocation that year; otherwise the theme's default agency of
   the lab; otherwise the lab's first agency. A lab without agencies has no funding to name.

Revision ID: e17a0a000001
Revises: e13a0a000001
Create Date: 2026-12-01 21:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e17a0a000001'
down_revision = 'e15a0a000001'
branch_labels = None
depends_on = None


THEME_CHECK = "theme IS NULL OR theme IN ('bolig', 'arbeid', 'skole', 'nettverk', 'okonomi', 'helse', 'oppvekst')"
CATEGORY_CHECK = ("category IS NULL OR category IN ('deposit', 'moving', 'furniture', 'debt_settlement', "
                  "'course_licence', 'equipment', 'transport', 'children_leisure', 'childcare', 'other')")
AGENCY_YEAR_CHECK = "max_per_agency_year IS NULL OR max_per_agency_year > 0"
SQLITE_COLUMNS = (
    "funding_agency_id INTEGER CONSTRAINT fk_authority_rule_funding_agency_id_agency REFERENCES agency (id)",
    f"theme VARCHAR(20) CONSTRAINT ck_authority_rule_theme_known CHECK ({THEME_CHECK})",
    f"category VARCHAR(20) CONSTRAINT ck_authority_rule_category_known CHECK ({CATEGORY_CHECK})",
    f"max_per_agency_year BIGINT CONSTRAINT ck_authority_rule_max_per_agency_year_positive CHECK ({AGENCY_YEAR_CHECK})",
)


def upgrade():
    op.create_table('budget_theme_agency',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lab_id', sa.Integer(), nullable=False),
    sa.Column('theme', sa.String(length=20), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("theme IN ('bolig', 'arbeid', 'skole', 'nettverk', 'okonomi', 'helse', 'oppvekst')", name=op.f('ck_budget_theme_agency_theme_known')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_budget_theme_agency_agency_id_agency')),
    sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], name=op.f('fk_budget_theme_agency_lab_id_lab')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budget_theme_agency')),
    sa.UniqueConstraint('lab_id', 'theme', name=op.f('uq_budget_theme_agency_lab_id_theme'))
    )
    op.create_table('spend_funding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('spend_request_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_spend_funding_amount_positive')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_spend_funding_agency_id_agency')),
    sa.ForeignKeyConstraint(['spend_request_id'], ['spend_request.id'], name=op.f('fk_spend_funding_spend_request_id_spend_request')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spend_funding')),
    sa.UniqueConstraint('spend_request_id', 'agency_id', name=op.f('uq_spend_funding_spend_request_id_agency_id'))
    )
    with op.batch_alter_table('spend_funding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spend_funding_spend_request_id'), ['spend_request_id'], unique=False)

    if op.get_bind().dialect.name == 'sqlite':
        # Batch mode would recreate authority_rule, and dropping the old table fails while
        # decisions reference its rules (foreign keys are on). SQLite adds a column with its
        # constraints in place.
        for column in SQLITE_COLUMNS:
            op.execute(f"ALTER TABLE authority_rule ADD COLUMN {column}")
    else:
        with op.batch_alter_table('authority_rule', schema=None) as batch_op:
            batch_op.add_column(sa.Column('funding_agency_id', sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column('theme', sa.String(length=20), nullable=True))
            batch_op.add_column(sa.Column('category', sa.String(length=20), nullable=True))
            batch_op.add_column(sa.Column('max_per_agency_year', sa.BigInteger(), nullable=True))
            batch_op.create_foreign_key(batch_op.f('fk_authority_rule_funding_agency_id_agency'), 'agency',
                                        ['funding_agency_id'], ['id'])
            batch_op.create_check_constraint(batch_op.f('ck_authority_rule_theme_known'), THEME_CHECK)
            batch_op.create_check_constraint(batch_op.f('ck_authority_rule_category_known'), CATEGORY_CHECK)
            batch_op.create_check_constraint(batch_op.f('ck_authority_rule_max_per_agency_year_positive'),
                                             AGENCY_YEAR_CHECK)
    _fund_existing_requests()


# The theme's default agency kinds, in preference order (as ``budget.services.THEME_AGENCY_KINDS``
# when this migration was written; copied, so the migration does not change with the code).
THEME_AGENCY_KINDS = {"bolig": ("bolig", "nav"), "arbeid": ("nav",), "skole": ("skole", "barnevern"),
                      "nettverk": ("nav", "barnevern"), "okonomi": ("okonomi", "nav"), "helse": ("helse", "rus"),
                      "oppvekst": ("barnevern", "skole")}


def _fund_existing_requests():
    conn = op.get_bind()
    funding = sa.table('spend_funding', sa.column('spend_request_id', sa.Integer),
                       sa.column('agency_id', sa.Integer), sa.column('amount', sa.BigInteger))
    reserved = conn.execute(sa.text(
        "SELECT t.spend_request_id, a.agency_id, SUM(t.amount) FROM ledger_transfer t "
        "JOIN ledger_account a ON a.id = t.debit_account_id "
        "WHERE t.kind = 'reserve' AND t.spend_request_id IS NOT NULL "
        "GROUP BY t.spend_request_id, a.agency_id ORDER BY t.spend_request_id, a.agency_id")).all()
    rows = [{"spend_request_id": s, "agency_id": a, "amount": int(n)} for s, a, n in reserved]
    funded = {r["spend_request_id"] for r in rows}
    agencies: dict[int, list[tuple[int, str]]] = {}
    for agency_id, lab_id, kind in conn.execute(sa.text("SELECT id, lab_id, kind FROM agency ORDER BY id")):
        agencies.setdefault(lab_id, []).append((agency_id, kind))
    allocated: dict[tuple[int, int], dict[int, int]] = {}
    for family_id, year, agency_id, total in conn.execute(sa.text(
            "SELECT family_id, year, agency_id, SUM(balance) FROM ledger_account "
            "WHERE kind IN ('allocation', 'committed', 'paid') GROUP BY family_id, year, agency_id")):
        allocated.setdefault((family_id, year), {})[agency_id] = int(total or 0)
    for spend_id, lab_id, family_id, year, theme, amount in conn.execute(sa.text(
            "SELECT id, lab_id, family_id, budget_year, theme, amount FROM spend_request ORDER BY id")):
        if spend_id in funded or not agencies.get(lab_id):
            continue
        lab_agencies = agencies[lab_id]
        by_kind = [a for kind in THEME_AGENCY_KINDS.get(theme, ()) for a, k in lab_agencies if k == kind]
        given = {a: n for a, n in allocated.get((family_id, year), {}).items() if n > 0}
        choice = next((a for a in by_kind if a in given), None)
        if choice is None and given:
            choice = max(sorted(given), key=lambda a: given[a])
        if choice is None:
            choice = by_kind[0] if by_kind else lab_agencies[0][0]
        rows.append({"spend_request_id": spend_id, "agency_id": choice, "amount": int(amount)})
    if rows:
        op.bulk_insert(funding, rows)


def downgrade():
    # On SQLite this recreates authority_rule, which works while no decision references a rule.
    with op.batch_alter_table('authority_rule', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_authority_rule_max_per_agency_year_positive'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_authority_rule_category_known'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_authority_rule_theme_known'), type_='check')
        if op.get_bind().dialect.name != 'sqlite':  # SQLite's in-place foreign key goes with its column
            batch_op.drop_constraint(batch_op.f('fk_authority_rule_funding_agency_id_agency'), type_='foreignkey')
        batch_op.drop_column('max_per_agency_year')
        batch_op.drop_column('category')
        batch_op.drop_column('theme')
        batch_op.drop_column('funding_agency_id')

    with op.batch_alter_table('spend_funding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spend_funding_spend_request_id'))

    op.drop_table('spend_funding')
    op.drop_table('budget_theme_agency')
