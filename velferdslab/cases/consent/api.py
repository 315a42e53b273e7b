"""Consents: every row, record (or renew), withdraw."""

from __future__ import annotations

from flask.views import MethodView

from velferdslab.cases.consent import schemas, services
from velferdslab.cases.consent.models import Consent
from velferdslab.cases.consent.schemas import _consent_out
from velferdslab.cases.web import _access, _own, _read, _user
from velferdslab.cases.web import api_blueprint as blueprint
from velferdslab.core.models import today_local
from velferdslab.core.permissions import LOGIN, requires


@blueprint.route("/families/<int:family_id>/consents")
class Consents(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.ConsentSchema(many=True))
    def get(self, family_id: int):
        """Every consent row, superseded ones included (`current` marks the live row)."""
        access = _access(family_id)
        rows = services.consents(family_id)
        superseded = {c.supersedes_id for c in rows if c.supersedes_id}
        _read(access, "consent.view", purpose="api")
        return [_consent_out(c, superseded, today_local()) for c in rows]

    @requires(LOGIN)
    @blueprint.arguments(schemas.ConsentSchema)
    @blueprint.response(201, schemas.ConsentSchema)
    def post(self, data, family_id: int):
        """Record (or renew) a consent. A child under the lab's consent age cannot give one."""
        access = _access(family_id)
        row = services.give_consent(access, actor=_user(), **data)
        return _consent_out(row, set(), today_local())


@blueprint.route("/families/<int:family_id>/consents/<int:consent_id>/withdraw")
class ConsentWithdraw(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.ConsentWithdrawSchema)
    @blueprint.response(201, schemas.ConsentSchema)
    def post(self, data, family_id: int, consent_id: int):
        """Withdraw a consent: a new row supersedes it; nothing is edited."""
        access = _access(family_id)
        consent = _own(Consent, consent_id, family_id)
        row = services.withdraw_consent(access, consent, actor=_user(), **data)
        return _consent_out(row, set(), today_local())
