"""Consents: every row, record (or renew), withdraw."""

from __future__ import annotations

from flask.views import MethodView

from velferdslab.audit.actions import AuditAction
from velferdslab.cases.access import Access
from velferdslab.cases.consent import schemas, services
from velferdslab.cases.consent.models import Consent
from velferdslab.cases.consent.schemas import _consent_out
from velferdslab.cases.gate import family_route
from velferdslab.cases.web import _user
from velferdslab.cases.web import api_blueprint as blueprint
from velferdslab.core.api import paged
from velferdslab.core.models import today_local
from velferdslab.core.permissions import LOGIN, requires


@blueprint.route("/families/<int:family_id>/consents")
class Consents(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.ConsentSchema(many=True))
    @paged(blueprint)
    @family_route(AuditAction.CONSENT_VIEW, content=False)
    def get(self, access: Access):
        """Every consent row, superseded ones included (`current` marks the live row)."""
        rows = services.consents(access.family.id)
        superseded = {c.supersedes_id for c in rows if c.supersedes_id}
        return [_consent_out(c, superseded, today_local()) for c in rows]

    @requires(LOGIN)
    @blueprint.arguments(schemas.ConsentSchema)
    @blueprint.response(201, schemas.ConsentSchema)
    @family_route(content=False)
    def post(self, data, access: Access):
        """Record (or renew) a consent about a member (``subject``) or the household (null), to an agency,
        for a purpose, covering stated kinds of information. From the consent age (the lab's, or the
        sector's) a young person gives it about themself; a guardian gives it for a younger child."""
        row = services.give_consent(access, actor=_user(), **data)
        return _consent_out(row, set(), today_local())


@blueprint.route("/families/<int:family_id>/consents/<int:consent_id>/withdraw")
class ConsentWithdraw(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.ConsentWithdrawSchema)
    @blueprint.response(201, schemas.ConsentSchema)
    @family_route(content=False, load={"consent": Consent})
    def post(self, data, access: Access, consent: Consent):
        """Withdraw a consent: a new row supersedes it; nothing is edited."""
        row = services.withdraw_consent(access, consent, actor=_user(), **data)
        return _consent_out(row, set(), today_local())


@blueprint.route("/families/<int:family_id>/consents/<int:consent_id>/confirm")
class ConsentConfirm(MethodView):
    @requires(LOGIN)
    @blueprint.response(201, schemas.ConsentSchema)
    @family_route(content=False, load={"consent": Consent})
    def post(self, access: Access, consent: Consent):
        """Confirm a consent that waits for a second person (someone on the team, not of the agency it
        opens, not the one who recorded it): a new row supersedes it and it becomes valid."""
        row = services.confirm_consent(access, consent, actor=_user())
        return _consent_out(row, set(), today_local())
