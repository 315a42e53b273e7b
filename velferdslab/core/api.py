"""The JSON API base: flask-smorest with our error format and security scheme."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Api as _Api
from flask_smorest import Blueprint  # noqa: F401 - re-exported for the domains

from velferdslab.core.errors import flatten_errors
from velferdslab.core.idempotency import OpenAPIPlugin


class ErrorSchema(ma.Schema):
    """What every API error looks like (see ``core.errors.error_response``)."""

    status = ma.fields.Integer(required=True, metadata={"description": "HTTP status code"})
    message = ma.fields.String(required=True, metadata={"description": "What went wrong, in Norwegian"})
    errors = ma.fields.Dict(metadata={"description": "Per field: a list of messages (422)"})


class Api(_Api):
    """flask-smorest's Api, but errors are answered app-wide by ``core.errors``.

    flask-smorest would register its own handler for every HTTPException, HTML pages included.
    """

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        pass


api = Api(spec_kwargs={
    "extra_plugins": [OpenAPIPlugin()],
    "info": {"description": "Velferdslab JSON API. Money is integer øre; times are UTC (ISO 8601). "
                            "Sign in with the browser session (send X-CSRFToken on writes) or a "
                            "personal API token: `Authorization: Bearer vlt_…`."},
    "components": {"securitySchemes": {
        "bearerAuth": {"type": "http", "scheme": "bearer"},
        "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "velferdslab_session"},
    }},
    "security": [{"bearerAuth": []}, {"cookieAuth": []}],
})

__all__ = ["Api", "Blueprint", "api", "flatten_errors"]
