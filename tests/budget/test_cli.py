"""`velferdslab budget verify` finds a balance that no longer matches its transfers."""

from sqlalchemy import text

from tests.budget.factories import KR, funded_family
from velferdslab.extensions import db


def test_verify_passes_and_then_catches_a_tampered_balance(app, ctx, lab):
    setup = funded_family(lab, allocated=10_000 * KR)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["budget", "verify"])
    assert result.exit_code == 0, result.output
    assert "Regnskapet stemmer" in result.output
    if db.session.get_bind().dialect.name == "postgresql":  # a superuser switches the guard off first
        db.session.execute(text("ALTER TABLE ledger_account DISABLE TRIGGER ledger_account_guard"))
    db.session.execute(text("UPDATE ledger_account SET balance = balance + 1 WHERE family_id = :f "
                            "AND kind = 'allocation'"), {"f": setup.family.id})
    result = runner.invoke(args=["budget", "verify"])
    assert result.exit_code == 1
    assert "transfers sum to" in result.output


def test_verify_catches_a_consistent_rewrite_against_the_audit_trail(app, ctx, lab):
    """Item 12.4: a transfer's amount changed and both balances adjusted passes every balance check;
    `budget verify` reports it from the amount the audit trail recorded."""
    from tests.budget.factories import rewrite_transfer, spend
    from velferdslab.budget import services
    from velferdslab.budget.models import LedgerTransfer

    setup = funded_family(lab, allocated=10_000 * KR)
    services.approve_spend(spend(setup, 4_000 * KR).id, setup.lead)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["budget", "verify"])
    assert result.exit_code == 0, result.output
    assert "lik beløpet i revisjonssporet" in result.output
    reserve = db.session.scalar(db.select(LedgerTransfer).where(LedgerTransfer.kind == "reserve"))
    rewrite_transfer(reserve, -1_000 * KR)
    result = runner.invoke(args=["budget", "verify"])
    assert result.exit_code == 1, result.output
    assert f"transfer {reserve.id} (reserve): amount {3_000 * KR} øre, but the audit trail" in result.output
    assert f"recorded {4_000 * KR} øre" in result.output
    assert "transfers sum to" not in result.output  # the balances themselves agree
