"""Enrolments: the history, refer again, activate, close."""

from __future__ import annotations

from flask.views import MethodView

from velferdslab.audit.actions import AuditAction
from velferdslab.cases.access import Access
from velferdslab.cases.enrolment import schemas, services
from velferdslab.cases.enrolment.models import Enrolment
from velferdslab.cases.enrolment.schemas import _enrolment_out
from velferdslab.cases.gate import family_route
from velferdslab.cases.web import _user
from velferdslab.cases.web import api_blueprint as blueprint
from velferdslab.core.api import paged
from velferdslab.core.permissions import LOGIN, requires


@blueprint.route("/families/<int:family_id>/enrolments")
class Enrolments(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.EnrolmentSchema(many=True))
    @paged(blueprint)
    @family_route(AuditAction.ENROLMENT_VIEW)
    def get(self, access: Access):
        """Every enrolment of the family, oldest first (re-enrolment keeps the history)."""
        return [_enrolment_out(e, False) for e in services.enrolments(access.family.id)]

    @requires(LOGIN)
    @blueprint.arguments(schemas.ReferralSchema)
    @blueprint.response(201, schemas.EnrolmentSchema)
    @family_route()
    def post(self, data, access: Access):
        """Refer a closed family again (team lead): a new enrolment and team; the old stay."""
        return _enrolment_out(services.re_enrol(access, actor=_user(), **data), False)


@blueprint.route("/families/<int:family_id>/enrolments/<int:enrolment_id>/activate")
class EnrolmentActivate(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.EnrolmentActivateSchema)
    @blueprint.response(200, schemas.EnrolmentSchema)
    @family_route(load={"enrolment": Enrolment})
    def post(self, data, access: Access, enrolment: Enrolment):
        """referred → active (team lead)."""
        return _enrolment_out(services.activate_enrolment(access, enrolment, actor=_user(), **data), False)


@blueprint.route("/families/<int:family_id>/enrolments/<int:enrolment_id>/close")
class EnrolmentClose(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.EnrolmentCloseSchema)
    @blueprint.response(200, schemas.EnrolmentSchema)
    @family_route(load={"enrolment": Enrolment})
    def post(self, data, access: Access, enrolment: Enrolment):
        """active → closed with a reason (team lead); follow-ups fall due after 6 and 12 months."""
        return _enrolment_out(services.close_enrolment(access, enrolment, actor=_user(), **data), False)
