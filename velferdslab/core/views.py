"""Public plumbing pages: health check and language choice."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, request, session, url_for
from sqlalchemy import text

from velferdslab.core.permissions import public
from velferdslab.core.routing import is_safe_redirect
from velferdslab.extensions import db

blueprint = Blueprint("core", __name__)


@blueprint.get("/healthz")
@public
def healthz():
    """One database round trip: the load balancer's check and the benchmarks' floor."""
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}


@blueprint.get("/sprak/<code>")
@public
def set_language(code: str):
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["lang"] = code
    target = request.args.get("next", "")
    return redirect(target if is_safe_redirect(target) else url_for("dashboard.index"))
