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
