"""Which themes apply to a family, and its journey assessments."""

from __future__ import annotations

from flask.views import MethodView

from velferdslab.audit.actions import AuditAction
from velferdslab.cases.access import Access, visible_ratings
from velferdslab.cases.gate import family_route, note
from velferdslab.cases.household import services as household_services
from velferdslab.cases.journey import queries, schemas, services
from velferdslab.cases.journey.models import JourneyAssessment
from velferdslab.cases.themes import THEMES
from velferdslab.cases.web import _user
from velferdslab.cases.web import api_blueprint as blueprint
from velferdslab.core.api import paged
from velferdslab.core.permissions import LOGIN, requires


def _themes_out(family_id: int) -> list[dict]:
    members = household_services.family_members(family_id)
    applicable = set(services.applicable_theme_codes(members, services.theme_overrides(family_id)))
    return [{"code": t.code, "name": str(t.name), "description": str(t.description),
             "applicable": t.code in applicable, "default": services.default_applicable(t.code, members)}
            for t in THEMES]


@blueprint.route("/families/<int:family_id>/themes")
class Themes(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.ThemeSchema(many=True))
    @paged(blueprint)
    @family_route(AuditAction.FAMILY_THEMES_VIEW)
    def get(self, access: Access):
        """The seven themes and whether each applies to this family."""
        return _themes_out(access.family.id)


@blueprint.route("/families/<int:family_id>/themes/<string:theme>")
class ThemeByCode(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.ThemeApplicabilitySchema)
    @blueprint.response(200, schemas.ThemeSchema(many=True))
    @family_route()
    def put(self, data, access: Access, theme: str):
        """Override whether a theme applies to the family."""
        services.set_theme_applicability(access, theme, data["applicable"], actor=_user())
        return _themes_out(access.family.id)


def rating_out(r) -> dict:
    """A rating (a ``ThemeRating`` or a ``queries.Voice``) with whose view it is and whom it is about."""
    return {"theme": r.theme, "perspective": r.perspective, "level": r.level, "note": r.note, "scale": r.scale,
            "given_by": r.given_by_member_id, "subject": r.subject_member_id}


def _assessment_out(row: JourneyAssessment, access: Access, versions: list[int] | None = None) -> dict:
    out = {k: getattr(row, k) for k in ("id", "assessed_on", "kind", "version", "is_current", "supersedes_id",
                                        "meeting_id", "overall_level", "suggested_level", "override_reason",
                                        "correction_reason", "created_at")}
    shown = visible_ratings(access, row.ratings)
    out["ratings"] = [rating_out(r) for r in shown.items]
    out["hidden"] = shown.hidden
    if not access.may_see(None, None, "level"):
        out.update(overall_level=None, suggested_level=None, override_reason=None)
        out["hidden"] = [*shown.hidden, access.hidden_reason(None, None, "level")]
    if versions is not None:
        out["versions"] = versions
    return out


@blueprint.route("/families/<int:family_id>/assessments")
class Assessments(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.AssessmentSchema(many=True))
    @paged(blueprint)
    @family_route(AuditAction.ASSESSMENT_LIST)
    def get(self, access: Access):
        """The current version of every assessment, oldest first, with all ratings."""
        history = queries.journey_history(access.family.id, access=access)
        note(count=len(history.points))
        return [{"id": p.id, "assessed_on": p.assessed_on, "kind": p.kind, "version": p.version, "is_current": True,
                 "meeting_id": p.meeting_id, "overall_level": p.overall_level, "suggested_level": p.suggested_level,
                 "override_reason": p.override_reason, "hidden": history.hidden,
                 "ratings": [rating_out(v) for v in p.voices]} for p in history.points]

    @requires(LOGIN)
    @blueprint.arguments(schemas.AssessmentCreateSchema)
    @blueprint.response(201, schemas.AssessmentSchema)
    @family_route()
    def post(self, data, access: Access):
        """A new assessment of every applicable theme; omit `overall_level` to take the suggestion."""
        return _assessment_out(services.create_assessment(access, actor=_user(), **data), access)


@blueprint.route("/families/<int:family_id>/assessments/<int:assessment_id>")
class AssessmentById(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.AssessmentSchema)
    @family_route(AuditAction.ASSESSMENT_VIEW, load={"assessment": JourneyAssessment})
    def get(self, access: Access, assessment: JourneyAssessment):
        """One version of an assessment, with the ids of all its versions (the history)."""
        return _assessment_out(assessment, access, [v.id for v in services.assessment_versions(assessment)])


@blueprint.route("/families/<int:family_id>/assessments/<int:assessment_id>/corrections")
class AssessmentCorrections(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.AssessmentCorrectionSchema)
    @blueprint.response(201, schemas.AssessmentSchema)
    @family_route(load={"assessment": JourneyAssessment})
    def post(self, data, access: Access, assessment: JourneyAssessment):
        """Correct the current version: a new version supersedes it (409 if it is not current)."""
        new = services.correct_assessment(access, assessment, actor=_user(), **data)
        return _assessment_out(new, access, [v.id for v in services.assessment_versions(new)])
