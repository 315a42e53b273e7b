"""JSON API for the family's rights: its access log and the export of everything stored about it.
Same rules as the pages: the family's investment lead or emergency access; off the team is the
audited 404 of a family that does not exist."""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user

from velferdslab.cases.access import require_family
from velferdslab.core.api import Blueprint
from velferdslab.core.permissions import requires
from velferdslab.privacy import schemas, services

blueprint = Blueprint("privacy_api", __name__, url_prefix="/api/v1",
                      description="The family's rights: access log (dates, agencies, purposes) and full export")


def _handler(family_id: int):
    access = require_family(current_user, family_id)
    services.require_handler(access)
    return access


@blueprint.route("/families/<int:family_id>/access-log")
class AccessLog(MethodView):
    @requires("privacy.requests")
    @blueprint.response(200, schemas.AccessLogSchema)
    def get(self, family_id: int):
        """The family's access log: one entry per audit event about the family; no staff names."""
        return {"family_id": family_id, "entries": services.read_access_log(_handler(family_id), fmt="json")}


@blueprint.route("/families/<int:family_id>/export")
class Export(MethodView):
    @requires("privacy.requests")
    @blueprint.response(200, schemas.ExportSchema)
    def get(self, family_id: int):
        """Everything stored about the family, table by table, with its access log."""
        return services.export(_handler(family_id), fmt="json")
