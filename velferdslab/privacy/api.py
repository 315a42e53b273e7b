"""JSON API for the family's rights: its access log and the export of everything stored about it.
Same rules as the pages: the family's investment lead or emergency access; off the team is the
audited 404 of a family that does not exist."""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user

from velferdslab.cases.access import Access
from velferdslab.cases.gate import family_route
from velferdslab.core.api import Blueprint
from velferdslab.core.permissions import Permission, requires
from velferdslab.privacy import schemas, services

blueprint = Blueprint("privacy_api", __name__, url_prefix="/api/v1",
                      description="The family's rights: access log (dates, agencies, purposes) and full export")


@blueprint.route("/families/<int:family_id>/access-log")
class AccessLog(MethodView):
    @requires(Permission.PRIVACY_REQUESTS)
    @blueprint.response(200, schemas.AccessLogSchema)
    @family_route(content=False)
    def get(self, access: Access):
        """The family's access log: one entry per audit event about the family; no staff names."""
        return {"family_id": access.family.id,
                "entries": services.read_access_log(access, current_user, fmt="json")}


@blueprint.route("/families/<int:family_id>/export")
class Export(MethodView):
    @requires(Permission.PRIVACY_REQUESTS)
    @blueprint.response(200, schemas.ExportSchema)
    @family_route(content=False)
    def get(self, access: Access):
        """Everything stored about the family, table by table, with its access log."""
        return services.export(access, current_user, fmt="json")
