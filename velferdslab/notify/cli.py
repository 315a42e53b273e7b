"""``velferdslab notify run``: the daily check and digest, for cron (idempotent: run it as often as you like)."""

from __future__ import annotations

from datetime import date, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("notify")
def notify_commands():
    """Notifications: the due-date check, the daily digest, e-mail left in the queue."""


@notify_commands.command("run")
@click.option(
    "--date",
    "on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Check as if today were this date (default: today in Europe/Oslo).",
)
@with_appcontext
def run_command(on):
    """Make the day's due-date notifications and digests, and send the e-mail still queued.

    Every notification and digest has a key of its own, so a second run the same day makes and
    sends nothing again. With Redis the mail goes to the task queue (``velferdslab worker`` sends
    it, retrying with back-off); without it, it is sent from this command, one try per run.
    """
    from velferdslab.core.models import today_local
    from velferdslab.extensions import db
    from velferdslab.notify import dispatch, services

    today: date = on.date() if on else today_local()
    made = services.check_due(today)
    db.session.commit()
    digests = services.make_digests(today)
    db.session.commit()
    if current_app.config.get("REDIS_URL"):
        stale = services.queued_deliveries(older_than=timedelta(hours=1))
        if stale:
            dispatch.enqueue(stale)
        click.echo(
            f"{made} new notification(s), {len(digests)} digest(s); {len(stale)} queued e-mail(s) sent "
            "to the task queue again."
        )
        return
    outcome = dispatch.send_inline(services.queued_deliveries(older_than=timedelta(0)))
    click.echo(
        f"{made} new notification(s), {len(digests)} digest(s); e-mail: "
        + (", ".join(f"{v} {k}" for k, v in sorted(outcome.items())) or "none queued")
        + "."
    )
