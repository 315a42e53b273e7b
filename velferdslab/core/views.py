"""Public plumbing pages: health check and language choice."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, redirect, request, session, url_for
from sqlalchemy import text

from velferdslab.core import ratelimit
from velferdslab.core.errors import database_unavailable, discard_session
from velferdslab.core.permissions import public
from velferdslab.core.routing import is_safe_redirect
from velferdslab.extensions import db, limiter

blueprint = Blueprint("core", __name__)


@blueprint.get("/healthz")
@public
def healthz():
    """One database round trip: the load balancer's check and the benchmarks' floor.

    200 ``{"status": "ok", "database": "ok", "redis": …}`` whenever the database answers. ``redis``
    is "ok", "degraded" (set but not answering: sign-in limits are counted per process, sign-in
    works) or "not_configured"; Redis never makes the check fail. 503 with Retry-After (JSON) when
    the database cannot be had in time.
    """
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:
        if not database_unavailable(error):
            raise
        discard_session()
        response = jsonify({"status": "unavailable", "database": "unavailable",
                            "redis": ratelimit.redis_status(limiter.storage)})
        response.status_code = 503
        response.headers["Retry-After"] = str(current_app.config.get("DATABASE_RETRY_AFTER", 5))
        return response
    return {"status": "ok", "database": "ok", "redis": ratelimit.redis_status(limiter.storage)}


@blueprint.get("/sprak/<code>")
@public
def set_language(code: str):
    # nynorsk is chosen on the family's pages; staff pages then show bokmål (core.i18n.select_locale)
    if code not in current_app.config["LANGUAGES"] and code not in current_app.config["FAMILY_LANGUAGES"]:
        abort(404)
    session["lang"] = code
    target = request.args.get("next", "")
    return redirect(target if is_safe_redirect(target) else url_for("dashboard.index"))
