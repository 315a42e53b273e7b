"""Getting e-mail out of the request: deliveries made in a transaction go to the task queue only
after it commits (a worker must find the rows), as the report batches do.

With Redis (``VELFERDSLAB_REDIS_URL``) each delivery is one RQ job (``notify.jobs.send_delivery``)
on the batch queue, so ``velferdslab worker`` runs it, with RQ's retries and back-off
(``VELFERDSLAB_NOTIFY_RETRY_INTERVALS``). Without Redis, development writes the mail to the console
and ``instance/mail/`` from a thread of its own; anywhere else the delivery stays queued until
``velferdslab notify run`` sends it. A request never waits for a mail server.
"""

from __future__ import annotations

import logging
import threading

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from velferdslab.extensions import db

log = logging.getLogger(__name__)

JOB = "velferdslab.notify.jobs.send_delivery"
_PENDING = "notify_dispatch"


def after_commit(delivery_ids: list[int]) -> None:
    db.session().info.setdefault(_PENDING, []).extend(delivery_ids)


def retry_intervals() -> list[int]:
    return list(current_app.config["NOTIFY_RETRY_INTERVALS"])


def enqueue(delivery_ids: list[int], connection=None) -> None:
    from rq import Queue, Retry

    from velferdslab.batch import services as batch

    intervals = retry_intervals()
    retry = Retry(max=len(intervals), interval=intervals) if intervals else None
    target = batch.queue(connection)
    target.enqueue_many(
        [
            Queue.prepare_data(
                JOB,
                args=(delivery_id,),
                retry=retry,
                timeout=120,
                result_ttl=3600,
                failure_ttl=7 * 24 * 3600,
                job_id=None,
                description=f"notification e-mail, delivery {delivery_id}",
            )
            for delivery_id in delivery_ids
        ]
    )


def send_inline(delivery_ids: list[int]) -> dict[str, int]:
    """Send now, in this process (``notify run`` without Redis): one attempt each; a delivery
    fails for good when its attempts reach the number of tries RQ would have made."""
    from velferdslab.notify import mail
    from velferdslab.notify.models import NotificationDelivery

    outcome: dict[str, int] = {}
    tries = len(retry_intervals()) + 1
    for delivery_id in delivery_ids:
        delivery = db.session.get(NotificationDelivery, delivery_id)
        final = delivery is None or delivery.attempts + 1 >= tries
        try:
            result = mail.deliver(delivery_id, final=final)
        except mail.SendFailed:
            result = "retry"
        outcome[result] = outcome.get(result, 0) + 1
    return outcome


def _in_thread(app, delivery_ids: list[int]) -> None:
    with app.app_context():
        try:
            send_inline(delivery_ids)
        finally:
            db.session.remove()


def send_later(delivery_ids: list[int]) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config.get("REDIS_URL"):
        try:
            enqueue(delivery_ids)
        except Exception:  # the rows are committed and queued: `velferdslab notify run` sends them
            log.exception("could not queue %d notification e-mail(s); `notify run` sends them", len(delivery_ids))
    elif app.config["SMTP"]["backend"] == "console" and app.config["VELFERDSLAB_ENV"] == "development":
        threading.Thread(target=_in_thread, args=(app, delivery_ids), daemon=True).start()


@event.listens_for(Session, "after_commit")
def _dispatch_committed(session: Session) -> None:
    delivery_ids = session.info.pop(_PENDING, None)
    if delivery_ids:
        send_later(delivery_ids)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    if not session.in_transaction():
        session.info.pop(_PENDING, None)
