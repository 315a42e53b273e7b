"""marshmallow schemas for themes and journey assessments."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from velferdslab.cases.fields import LEVEL, THEME, _one_of, _text
from velferdslab.cases.journey.models import ASSESSMENT_KINDS, PERSPECTIVES, SCALES
from velferdslab.core.schemas import Date, DateTime, Id


class ThemeSchema(Schema):
    code = fields.String()
    name = fields.String()
    description = fields.String()
    applicable = fields.Boolean()
    default = fields.Boolean()


class ThemeApplicabilitySchema(Schema):
    applicable = fields.Boolean(required=True)


class RatingSchema(Schema):
    theme = fields.String(required=True, validate=THEME)
    perspective = fields.String(load_default=None, validate=_one_of(PERSPECTIVES, _l("Ukjent perspektiv.")),
                                metadata={"description": "team, family, young_person, or member (a family "
                                                         "member's own view: give `given_by`; may be left out "
                                                         "then)."})
    level = fields.Integer(required=True, strict=True, validate=LEVEL,
                           metadata={"description": "1–4; on the children's scale 1 (ikke bra), 2 (sånn passe) "
                                                    "or 3 (bra)."})
    note = _text(500, allow_none=True, load_default=None)
    subject = Id(allow_none=True, load_default=None,
                 metadata={"description": "The family member the rating is about; null: the household."})
    given_by = Id(allow_none=True, load_default=None,
                  metadata={"description": "The family member whose own view it is (perspective member)."})
    scale = fields.String(load_default="four_step", validate=_one_of(SCALES, _l("Ukjent skala.")),
                          metadata={"description": "four_step, or child (under 12, three answers: levels 1–3)."})


class AssessmentInputSchema(Schema):
    ratings = fields.List(fields.Nested(RatingSchema), required=True, validate=validate.Length(min=1, max=21))
    overall_level = fields.Integer(strict=True, allow_none=True, load_default=None, validate=LEVEL,
                                   metadata={"description": "Omit to accept the suggested level."})
    override_reason = _text(500, allow_none=True, load_default=None)


class AssessmentCreateSchema(AssessmentInputSchema):
    assessed_on = Date(required=True)
    kind = fields.String(load_default="regular", validate=_one_of(ASSESSMENT_KINDS, _l("Ukjent type vurdering.")))


class AssessmentCorrectionSchema(AssessmentInputSchema):
    assessed_on = Date(required=True)
    correction_reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class AssessmentSchema(Schema):
    id = fields.Integer()
    assessed_on = Date()
    kind = fields.String()
    version = fields.Integer()
    is_current = fields.Boolean()
    supersedes_id = fields.Integer(allow_none=True)
    meeting_id = fields.Integer(allow_none=True)
    overall_level = fields.Integer(allow_none=True, metadata={"description": "Null when no consent of the reader's "
                                                                             "agency covers the overall level."})
    suggested_level = fields.Integer(allow_none=True)
    override_reason = fields.String(allow_none=True)
    correction_reason = fields.String(allow_none=True)
    created_at = DateTime()
    ratings = fields.List(fields.Nested(RatingSchema), metadata={"description": "Only the ratings the reader's "
                                                                               "consents cover."})
    hidden = fields.List(fields.String(), metadata={"description": "Why some ratings (or the level) are left out "
                                                                   "(issue 15), never what they say."})
    versions = fields.List(fields.Integer(), metadata={"description": "Ids of every version, newest first."})
