"""marshmallow schemas for the privacy API: the family's access log and export."""

from __future__ import annotations

from marshmallow import Schema, fields


class AccessLogEntrySchema(Schema):
    id = fields.Integer(metadata={"description": "The audit event this entry is (one entry per event)."})
    time = fields.String(metadata={"description": "UTC, ISO 8601."})
    date = fields.String(metadata={"description": "Date in Europe/Oslo."})
    local_time = fields.String(metadata={"description": "Time of day in Europe/Oslo (HH:MM)."})
    agency = fields.String(allow_none=True)
    role = fields.String(allow_none=True, metadata={"description": "Kind of staff role; never a name."})
    action = fields.String()
    what = fields.String()
    purpose = fields.String()


class AccessLogSchema(Schema):
    family_id = fields.Integer()
    entries = fields.List(fields.Nested(AccessLogEntrySchema))


class ExportSchema(Schema):
    format = fields.String()
    family_id = fields.Integer()
    lab = fields.String(allow_none=True)
    exported_at = fields.String()
    agencies = fields.Dict(keys=fields.String(), values=fields.String())
    tables = fields.Dict(keys=fields.String(), values=fields.List(fields.Dict()),
                         metadata={"description": "Every row stored about the family, per table."})
    persons = fields.List(fields.Dict(), metadata={
        "description": "Per family member: the consents about them and given by them (with the kinds of "
                       "information covered) and the theme ratings given in their own voice and about them; "
                       "the rows are in `tables`."})
    access_log = fields.List(fields.Nested(AccessLogEntrySchema))
