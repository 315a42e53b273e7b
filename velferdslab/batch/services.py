"""Starting, following, retrying and downloading batches of progress reports.

A batch covers every family of the lab that the requesting user may see and has consent for (a
team lead gets their teams' families). Its items are put on the RQ queue only **after** the
transaction that created them commits (a worker must find the rows), by the ``after_commit`` hook
below. Each item is one job with RQ's ``Retry``; a job whose retries are spent marks its item
failed, and the user can send the failed ones again.

Audit: starting a batch, every rendered report (in the worker, as the requesting user) and every
family in a downloaded zip are recorded.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from datetime import date

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, undefer

from velferdslab import config
from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction, Purpose
from velferdslab.auth.models import User
from velferdslab.batch.models import ReportBatch, ReportBatchItem
from velferdslab.cases.gate import accessible_families
from velferdslab.core.errors import ServiceError
from velferdslab.core.models import today_local, utcnow
from velferdslab.extensions import db

log = logging.getLogger(__name__)

DEFAULT_QUEUE = "velferdslab-reports"
DEFAULT_RETRY_INTERVALS = (10, 60, 300)  # seconds before the 1st, 2nd and 3rd retry
JOB = "velferdslab.batch.jobs.render_item"
_PENDING = "batch_enqueue"
_QUARTER = re.compile(r"^(\d{4})-K([1-4])$")


# --- configuration -------------------------------------------------------------------------------

def queue_name() -> str:
    return current_app.config.get("BATCH_QUEUE") or config.env("BATCH_QUEUE", DEFAULT_QUEUE)


def retry_intervals() -> list[int]:
    configured = current_app.config.get("BATCH_RETRY_INTERVALS")
    if configured is not None:
        return list(configured)
    raw = config.env("BATCH_RETRY_INTERVALS")
    return [int(x) for x in raw.split(",")] if raw else list(DEFAULT_RETRY_INTERVALS)


def redis_connection():
    """The Redis the queue lives in (``VELFERDSLAB_REDIS_URL``); 503 when it is not configured."""
    from redis import Redis

    url = current_app.config.get("REDIS_URL")
    if not url:
        raise ServiceError(_("Køen for bakgrunnsjobber er ikke satt opp (VELFERDSLAB_REDIS_URL mangler)."),
                           "queue", status=503)
    return Redis.from_url(url)


def queue(connection=None):
    from rq import Queue

    return Queue(queue_name(), connection=connection or redis_connection())


def _check_queue() -> None:
    from redis.exceptions import RedisError

    try:
        redis_connection().ping()
    except RedisError:
        raise ServiceError(_("Køen for bakgrunnsjobber svarer ikke akkurat nå. Prøv igjen om litt."), "queue",
                           status=503) from None


# --- quarters --------------------------------------------------------------------------------------

def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return start, date.fromordinal(end.toordinal() - 1)


def recent_quarters(today: date | None = None, count: int = 5) -> list[tuple[str, date, date]]:
    """The current quarter and the ones before it: (code like ``2026-K3``, first day, last day)."""
    today = today or today_local()
    year, quarter = today.year, (today.month - 1) // 3 + 1
    out = []
    for _n in range(count):
        out.append((f"{year}-K{quarter}", *quarter_bounds(year, quarter)))
        year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
    return out


def parse_quarter(code: str | None) -> tuple[date, date]:
    match = _QUARTER.match(code or "")
    if not match or not 2000 <= int(match.group(1)) <= 2100:
        raise ServiceError(_("Velg et kvartal, for eksempel 2026-K3."), "quarter")
    start, end = quarter_bounds(int(match.group(1)), int(match.group(2)))
    if start > today_local():
        raise ServiceError(_("Kvartalet har ikke begynt ennå."), "quarter")
    return start, end


def quarter_code(batch: ReportBatch) -> str:
    return f"{batch.period_start.year}-K{(batch.period_start.month - 1) // 3 + 1}"


# --- starting and following a batch ------------------------------------------------------------------

def start_quarterly_batch(user: User, quarter: str, *, language: str = "nb") -> ReportBatch:
    """Create a batch with one item per family the user may see (with consent) and queue it."""
    start, end = parse_quarter(quarter)
    if language not in ("nb", "en"):
        raise ServiceError(_("Ukjent språk."), "language")
    family_ids = sorted(a.family.id for a in accessible_families(user) if not a.gated)
    if not family_ids:
        raise ServiceError(_("Du har ingen familier med samtykke som det kan lages rapport for."), "quarter")
    _check_queue()
    batch = ReportBatch(lab_id=user.lab_id, requested_by_id=user.id, kind="quarterly_progress",
                        period_start=start, period_end=end, language=language, total=len(family_ids))
    db.session.add(batch)
    db.session.flush()
    items = [ReportBatchItem(batch_id=batch.id, family_id=family_id, status="queued", attempts=0)
             for family_id in family_ids]
    db.session.add_all(items)
    db.session.flush()
    audit.record(AuditAction.REPORT_BATCH_START, actor=user, lab_id=user.lab_id, object_type="report_batch",
                 object_id=batch.id, purpose=Purpose.QUARTERLY_REPORT,
                 summary={"families": len(family_ids), "period_start": start, "period_end": end})
    enqueue_after_commit([item.id for item in items])
    return batch


def progress(batch_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per batch: how many items are queued, done and failed (one statement)."""
    out = {batch_id: {"queued": 0, "done": 0, "failed": 0} for batch_id in batch_ids}
    if batch_ids:
        for batch_id, status, count in db.session.execute(
                select(ReportBatchItem.batch_id, ReportBatchItem.status, func.count())
                .where(ReportBatchItem.batch_id.in_(batch_ids))
                .group_by(ReportBatchItem.batch_id, ReportBatchItem.status)):
            out[batch_id][status] = count
    return out


def batches_for(user: User, limit: int = 20) -> list[ReportBatch]:
    return list(db.session.scalars(select(ReportBatch).where(ReportBatch.requested_by_id == user.id)
                                   .order_by(ReportBatch.created_at.desc(), ReportBatch.id.desc()).limit(limit)))


def get_batch(user: User, batch_id: int) -> ReportBatch:
    """The user's own batch, or 404: a batch holds family data, so only whoever asked for it sees it."""
    batch = db.session.get(ReportBatch, batch_id)
    if batch is None or batch.requested_by_id != user.id or batch.lab_id != user.lab_id:
        raise ServiceError(_("Fant ikke rapportbunken."), "batch", status=404)
    return batch


def requeue(user: User, batch: ReportBatch) -> int:
    """Send every item that is not done again (after final failures, or if the queue lost it)."""
    items = list(db.session.scalars(select(ReportBatchItem).where(ReportBatchItem.batch_id == batch.id,
                                                                  ReportBatchItem.status != "done")))
    for item in items:
        item.status, item.error = "queued", None
    batch.finished_at = None
    db.session.flush()
    if items:
        _check_queue()
        audit.record(AuditAction.REPORT_BATCH_REQUEUE, actor=user, lab_id=batch.lab_id, object_type="report_batch",
                     object_id=batch.id, summary={"items": len(items)})
        enqueue_after_commit([item.id for item in items])
    return len(items)


# --- the queue --------------------------------------------------------------------------------------

def enqueue_after_commit(item_ids: list[int]) -> None:
    db.session().info.setdefault(_PENDING, []).extend(item_ids)


def enqueue(item_ids: list[int], connection=None) -> None:
    """One RQ job per item, with retries; in one Redis round trip."""
    from rq import Queue, Retry

    intervals = retry_intervals()
    target = queue(connection)
    retry = Retry(max=len(intervals), interval=intervals) if intervals else None
    target.enqueue_many([Queue.prepare_data(JOB, args=(item_id,), retry=retry, timeout=600, result_ttl=3600,
                                            failure_ttl=7 * 24 * 3600, job_id=None,
                                            description=f"progress report, batch item {item_id}")
                         for item_id in item_ids])


@event.listens_for(Session, "after_commit")
def _enqueue_committed(session: Session) -> None:
    item_ids = session.info.pop(_PENDING, None)
    if not item_ids:
        return
    try:
        enqueue(item_ids)
    except Exception:  # the rows are committed; the user can send them again from the progress page
        log.exception("could not queue %d report batch item(s); they stay queued until sent again", len(item_ids))


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    if not session.in_transaction():
        session.info.pop(_PENDING, None)


# --- the download --------------------------------------------------------------------------------------

def _slug(text: str) -> str:
    table = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "Æ": "Ae", "Ø": "O", "Å": "A"})
    return re.sub(r"[^A-Za-z0-9]+", "-", text.translate(table)).strip("-")[:40] or "familie"


def zip_archive(user: User, batch: ReportBatch) -> tuple[bytes, int]:
    """The finished reports as one zip, for the families the user may still see; each is audited."""
    visible = {a.family.id: a.family for a in accessible_families(user) if not a.gated}
    items = db.session.scalars(select(ReportBatchItem).where(ReportBatchItem.batch_id == batch.id,
                                                             ReportBatchItem.status == "done")
                               .options(undefer(ReportBatchItem.pdf)).order_by(ReportBatchItem.family_id))
    buffer, count = io.BytesIO(), 0
    code = quarter_code(batch)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # PDFs are compressed already
        for item in items:
            family = visible.get(item.family_id)
            if family is None:
                continue
            assert item.pdf is not None  # the query reads done items only, and done has a PDF (done_has_pdf)
            archive.writestr(f"fremdriftsrapport-{code}-{item.family_id}-{_slug(family.household_name)}.pdf", item.pdf)
            audit.record(AuditAction.REPORT_BATCH_DOWNLOAD, actor=user, family_id=item.family_id,
                         object_type="report_batch",
                         object_id=batch.id, purpose=Purpose.QUARTERLY_REPORT, summary={"quarter": code.lower()})
            count += 1
    return buffer.getvalue(), count


def mark_finished_if_complete(batch_id: int) -> None:
    """Set ``finished_at`` once no item is queued; the batch row lock makes the last two workers agree."""
    batch = db.session.scalar(select(ReportBatch).where(ReportBatch.id == batch_id).with_for_update())
    left = db.session.scalar(select(func.count()).select_from(ReportBatchItem)
                             .where(ReportBatchItem.batch_id == batch_id, ReportBatchItem.status == "queued"))
    if batch is not None and not left and batch.finished_at is None:
        batch.finished_at = utcnow()
