"""Public plumbing pages: health check and language choice."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, request, session, url_for
from sqlalchemy import text

from velferdslab.core.permissions import public
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


def is_safe_redirect(target: str | None) -> bool:
    """Only same-site paths: '/x', never '//host', 'http://…', backslashes or control characters."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    return not any(c in target for c in ("\\", "\r", "\n", "\t")) and ":" not in target.split("?")[0]
