"""The queue's job for notification e-mail; a worker (``velferdslab worker``) runs it in the app's context.

RQ retries a failed send with back-off; the last try marks the delivery failed (``mail.deliver``).
"""

from __future__ import annotations

from velferdslab.batch.jobs import _app_context
from velferdslab.extensions import db


def send_delivery(delivery_id: int) -> str:
    from rq import get_current_job

    from velferdslab.notify import mail

    with _app_context():
        try:
            job = get_current_job()
            final = job is None or not (job.retries_left or 0) > 0
            return mail.deliver(delivery_id, final=final)
        finally:
            db.session.remove()
