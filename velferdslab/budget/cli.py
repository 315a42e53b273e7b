"""`velferdslab budget …`: check the ledger from the command line."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group("budget")
def budget() -> None:
    """Delegated budgets and the ledger."""


@budget.command("verify")
@with_appcontext
def verify() -> None:
    """Recompute every balance from the transfers and check every transfer against the amount its
    audit event recorded; exit 1 if any balance, bound, lab total or audited amount is wrong."""
    from sqlalchemy import func, select

    from velferdslab.budget import ledger
    from velferdslab.budget.models import LedgerAccount, LedgerTransfer
    from velferdslab.extensions import db

    problems = ledger.verify()
    accounts = db.session.scalar(select(func.count()).select_from(LedgerAccount))
    transfers = db.session.scalar(select(func.count()).select_from(LedgerTransfer))
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.ClickException(f"the ledger is wrong in {len(problems)} place(s)")
    click.echo(f"Regnskapet stemmer: {accounts} kontoer, {transfers} posteringer, alle saldoer lik summen av "
               "posteringene og innenfor grensene, og hver postering lik beløpet i revisjonssporet.")
