"""The JSON API base: flask-smorest with our error format and security scheme."""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable
from urllib.parse import urlencode

import marshmallow as ma
from flask import request
from flask_smorest import Api as _Api
from flask_smorest import Blueprint

from velferdslab.core.errors import flatten_errors
from velferdslab.core.i18n import N_
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

__all__ = ["Api", "Blueprint", "PageQuerySchema", "api", "flatten_errors", "paged"]


# --- paging every list (issue 19) ------------------------------------------------------------------

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
_NEXT_CURSOR_DOC = {"description": "The cursor of the next page (absent on the last page): send it back as "
                                   "`cursor`.", "schema": {"type": "string"}}
_LINK_DOC = {"description": 'The next page\'s address, `<…>; rel="next"` (absent on the last page).',
             "schema": {"type": "string"}}


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        offset = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode())["o"]
    except (ValueError, KeyError, TypeError, UnicodeError) as error:
        raise ma.ValidationError(N_("Ugyldig markør: bruk verdien fra X-Next-Cursor.")) from error
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise ma.ValidationError(N_("Ugyldig markør: bruk verdien fra X-Next-Cursor."))
    return offset


class PageQuerySchema(ma.Schema):
    """``limit`` and ``cursor``: the paging of every list in the API (the query string)."""

    limit = ma.fields.Integer(load_default=DEFAULT_LIMIT, validate=ma.validate.Range(min=1, max=MAX_LIMIT),
                              metadata={"description": f"At most this many items (default {DEFAULT_LIMIT}, "
                                                       f"at most {MAX_LIMIT})."})
    cursor = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200), metadata={
        "description": "Where the page starts: the `X-Next-Cursor` header of the page before (none: the first page)."})

    @ma.validates("cursor")
    def _known_cursor(self, value, **_kwargs):
        if value:
            _decode_cursor(value)

    @ma.post_load
    def _offset(self, data, **_kwargs):
        cursor = data.pop("cursor", None)
        data["offset"] = _decode_cursor(cursor) if cursor else 0
        return data


def paged(blueprint: Blueprint) -> Callable[[Callable], Callable]:
    """Page a list endpoint: put it **below** ``@blueprint.response(200, Schema(many=True))``.

    The body stays a JSON array, in the list's own order; ``limit`` (default ``DEFAULT_LIMIT``)
    and ``cursor`` choose the page, and a page that is not the last says where the next one starts
    in ``X-Next-Cursor`` and ``Link: <…>; rel="next"``. Both parameters and headers are in the
    OpenAPI document. A bad ``limit`` or ``cursor`` is a 422 naming the field."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, limit: int, offset: int, **kwargs):
            result = view(*args, **kwargs)
            items = list(result)
            page = items[offset:offset + limit]
            headers = {}
            if offset + limit < len(items):
                cursor = _encode_cursor(offset + limit)
                query = {**request.args.to_dict(flat=True), "limit": str(limit), "cursor": cursor}
                headers["X-Next-Cursor"] = cursor
                headers["Link"] = f'<{request.base_url}?{urlencode(query)}>; rel="next"'
            return page, headers

        documented = blueprint.doc(responses={200: {"headers": {"X-Next-Cursor": _NEXT_CURSOR_DOC,
                                                                   "Link": _LINK_DOC}}})(wrapper)
        return blueprint.arguments(PageQuerySchema, location="query", as_kwargs=True)(documented)

    return decorate
