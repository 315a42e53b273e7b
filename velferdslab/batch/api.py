"""JSON API: start a quarterly batch of progress reports and follow it."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from flask_login import current_user

from velferdslab.batch import schemas, services
from velferdslab.core.api import Blueprint, paged
from velferdslab.core.permissions import requires

blueprint = Blueprint("batch_api", __name__, url_prefix="/api/v1",
                      description="Batches of progress reports, rendered on the task queue")


def _out(batch) -> dict:
    counts = services.progress([batch.id])[batch.id]
    return {"id": batch.id, "quarter": services.quarter_code(batch), "period_start": batch.period_start,
            "period_end": batch.period_end, "language": batch.language, "total": batch.total, **counts,
            "finished": batch.finished_at is not None, "created_at": batch.created_at,
            "finished_at": batch.finished_at,
            "download_url": url_for("batch.download", batch_id=batch.id) if counts["done"] else None}


@blueprint.route("/report-batches")
class ReportBatches(MethodView):
    @requires("families.work")
    @blueprint.response(200, schemas.BatchSchema(many=True))
    @paged(blueprint)
    def get(self):
        """Your batches, newest first."""
        return [_out(b) for b in services.batches_for(current_user._get_current_object())]

    @requires("families.work")
    @blueprint.arguments(schemas.BatchCreateSchema)
    @blueprint.response(202, schemas.BatchSchema)
    def post(self, data):
        """Queue the quarter's progress report for every family you may see (with consent).
        503 when the task queue (Redis) is not configured or not answering."""
        batch = services.start_quarterly_batch(current_user._get_current_object(), data["quarter"],
                                               language=data["language"])
        return _out(batch)


@blueprint.route("/report-batches/<int:batch_id>")
class ReportBatchById(MethodView):
    @requires("families.work")
    @blueprint.response(200, schemas.BatchSchema)
    def get(self, batch_id: int):
        """Progress: total, done, failed, queued; the download link once reports are done."""
        return _out(services.get_batch(current_user._get_current_object(), batch_id))
