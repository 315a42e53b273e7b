"""``velferdslab worker``: run the task queue's jobs; ``velferdslab batch purge``: drop old batches."""

from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import with_appcontext

from velferdslab.audit.actions import AuditAction


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs that are queued now, then stop.")
@click.option("--queue", "queue_name", default=None, help="Queue name (default: VELFERDSLAB_BATCH_QUEUE or "
              "velferdslab-reports).")
@with_appcontext
def worker_command(burst: bool, queue_name: str | None):
    """Run queue jobs (quarterly progress reports) from Redis (VELFERDSLAB_REDIS_URL).

    One job at a time in this process, inside the app's context (RQ's SimpleWorker: no fork, so
    database connections are never shared with a child). Run one worker per core, on as many
    hosts as needed; they share nothing but PostgreSQL and Redis. Retries that wait are released
    by the worker's scheduler.
    """
    from rq import Queue
    from rq.worker import SimpleWorker

    from velferdslab.batch import services
    from velferdslab.core.errors import ServiceError

    try:
        connection = services.redis_connection()
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    queue = Queue(queue_name or services.queue_name(), connection=connection)
    SimpleWorker([queue], connection=connection).work(burst=burst, with_scheduler=True)


@click.group("batch")
def batch_commands():
    """Batches of reports made on the task queue."""


@batch_commands.command("purge")
@click.option("--days", default=90, show_default=True, type=click.IntRange(1, 3650),
              help="Delete batches (and their PDFs) older than this.")
@with_appcontext
def purge_command(days: int):
    """Delete old batches: their PDFs hold personal data and can be made again at any time."""
    from sqlalchemy import delete, select

    from velferdslab.audit import services as audit
    from velferdslab.batch.models import ReportBatch, ReportBatchItem
    from velferdslab.core.models import utcnow
    from velferdslab.extensions import db

    cutoff = utcnow() - timedelta(days=days)
    old = select(ReportBatch.id).where(ReportBatch.created_at < cutoff)
    ids = list(db.session.scalars(old))
    if ids:
        db.session.execute(delete(ReportBatchItem).where(ReportBatchItem.batch_id.in_(ids)))
        db.session.execute(delete(ReportBatch).where(ReportBatch.id.in_(ids)))
        audit.record(AuditAction.REPORT_BATCH_PURGE, object_type="report_batch", summary={"batches": len(ids),
                                                                                          "days": days})
    db.session.commit()
    click.echo(f"Deleted {len(ids)} batch(es) older than {days} days.")
