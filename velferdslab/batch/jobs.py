"""The queue's jobs. A worker (``velferdslab worker``) runs them inside the app's context.

A job must be safe to run again (RQ retries it, a user may send an item again): it does nothing for
an item that is already done, and it commits its own work.
"""

from __future__ import annotations

import contextlib
import logging

from flask import has_app_context

from velferdslab.audit.actions import AuditAction, Purpose
from velferdslab.extensions import db

log = logging.getLogger(__name__)


def _app_context():
    """The worker's app context, or a new app when the job runs under a plain ``rq worker``."""
    if has_app_context():
        return contextlib.nullcontext()
    from velferdslab import create_app

    return create_app().app_context()


def render_item(item_id: int) -> str:
    """Render one family's progress report for its batch and store the PDF.

    The report is made as the user who asked for the batch, and only while they may still see the
    family (team membership and consent, checked now, not when the batch was queued). A family
    they may no longer see fails at once with ``no_access`` and is not retried; any other error is
    retried by RQ, and marks the item failed (``render_error``) when the retries are spent.
    """
    with _app_context():
        try:
            return _render(item_id)
        finally:
            db.session.remove()  # a worker lives long: never carry a session into the next job


def _render(item_id: int) -> str:
    from rq import get_current_job

    from velferdslab.audit import services as audit
    from velferdslab.auth.models import User
    from velferdslab.batch import render, services
    from velferdslab.batch.models import ReportBatchItem
    from velferdslab.cases.gate import family_access
    from velferdslab.core.models import utcnow

    item = db.session.get(ReportBatchItem, item_id)
    if item is None or item.status == "done":
        return "skipped"
    batch = item.batch
    user = db.session.get(User, batch.requested_by_id)
    access = family_access(user, item.family_id) if user is not None and user.active else None
    if access is None or access.gated:
        item.status, item.error, item.finished_at = "failed", "no_access", utcnow()
        item.attempts += 1
        services.mark_finished_if_complete(batch.id)
        db.session.commit()
        return "no_access"
    try:
        pdf = render.progress_pdf(user, access, batch.period_start, batch.period_end, batch.language)
    except Exception:
        db.session.rollback()
        job = get_current_job()
        final = job is None or not (job.retries_left or 0) > 0  # RQ retries while retries are left
        # The row was there before the rollback, but nothing holds it: an erasure of the family
        # (privacy deletes its batch items) may have committed in between. Then there is nothing
        # left to mark or retry, and the report must not be made.
        item = db.session.get(ReportBatchItem, item_id)
        if item is None:
            log.exception("progress report for batch item %s failed; the item is gone (erased)", item_id)
            return "gone"
        item.attempts += 1
        if final:
            item.status, item.error, item.finished_at = "failed", "render_error", utcnow()
            services.mark_finished_if_complete(item.batch_id)
        db.session.commit()
        log.exception("progress report for batch item %s failed (attempt %s%s)", item_id,
                      item.attempts, ", final" if final else ", will retry")
        raise
    item.pdf, item.size, item.status, item.error = pdf, len(pdf), "done", None
    item.attempts += 1
    item.finished_at = utcnow()
    db.session.flush()
    audit.record(AuditAction.REPORT_BATCH_RENDER, actor=user, lab_id=batch.lab_id, family_id=item.family_id,
                 object_type="report_batch", object_id=batch.id, purpose=Purpose.QUARTERLY_REPORT,
                 summary={"bytes": len(pdf), "period_start": batch.period_start, "period_end": batch.period_end})
    services.mark_finished_if_complete(batch.id)
    db.session.commit()
    return "done"
