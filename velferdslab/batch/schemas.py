"""marshmallow schemas for the report-batch API; unknown fields are refused (422)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from velferdslab.core.schemas import Date, DateTime


class BatchCreateSchema(Schema):
    quarter = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-K[1-4]$"),
                            metadata={"description": "The quarter, e.g. 2026-K3"})
    language = fields.String(load_default="nb", validate=validate.OneOf(("nb", "en")))


class BatchSchema(Schema):
    id = fields.Integer()
    quarter = fields.String()
    period_start = Date()
    period_end = Date()
    language = fields.String()
    total = fields.Integer(metadata={"description": "Families in the batch"})
    done = fields.Integer()
    failed = fields.Integer()
    queued = fields.Integer()
    finished = fields.Boolean()
    created_at = DateTime()
    finished_at = DateTime(allow_none=True)
    download_url = fields.String(allow_none=True, metadata={"description": "The zip of the finished reports"})
