"""Enrolments: the history, refer again, activate, close."""

from __future__ import annotations

from flask.views import MethodView

from velferdslab.cases.enrolment import schemas, services
from velferdslab.cases.enrolment.models import Enrolment
from velferdslab.cases.enrolment.schemas import _enrolment_out
from velferdslab.cases.web import _access, _own, _read, _user
from velferdslab.cases.web import api_blueprint as blueprint
from velferdslab.core.permissions import LOGIN, requires


@blueprint.route("/families/<int:family_id>/enrolments")
class Enrolments(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.EnrolmentSchema(many=True))
    def get(self, family_id: int):
        """Every enrolment of the family, oldest first (re-enrolment keeps the history)."""
        access = _access(family_id, content=True)
        _read(access, "enrolment.view", purpose="api")
        return [_enrolment_out(e, False) for e in services.enrolments(family_id)]

    @requires(LOGIN)
    @blueprint.arguments(schemas.ReferralSchema)
    @blueprint.response(201, schemas.EnrolmentSchema)
    def post(self, data, family_id: int):
        """Refer a closed family again (team lead): a new enrolment and team; the old stay."""
        access = _access(family_id, content=True)
        return _enrolment_out(services.re_enrol(access, actor=_user(), **data), False)


@blueprint.route("/families/<int:family_id>/enrolments/<int:enrolment_id>/activate")
class EnrolmentActivate(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.EnrolmentActivateSchema)
    @blueprint.response(200, schemas.EnrolmentSchema)
    def post(self, data, family_id: int, enrolment_id: int):
        """referred → active (team lead)."""
        access = _access(family_id, content=True)
        enrolment = _own(Enrolment, enrolment_id, family_id)
        return _enrolment_out(services.activate_enrolment(access, enrolment, actor=_user(), **data), False)


@blueprint.route("/families/<int:family_id>/enrolments/<int:enrolment_id>/close")
class EnrolmentClose(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.EnrolmentCloseSchema)
    @blueprint.response(200, schemas.EnrolmentSchema)
    def post(self, data, family_id: int, enrolment_id: int):
        """active → closed with a reason (team lead); follow-ups fall due after 6 and 12 months."""
        access = _access(family_id, content=True)
        enrolment = _own(Enrolment, enrolment_id, family_id)
        return _enrolment_out(services.close_enrolment(access, enrolment, actor=_user(), **data), False)
