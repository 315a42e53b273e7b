"""One transaction per request: committed once at the end of a successful request, rolled back
on any error. Services only flush.

Some facts must be stored even when the request fails — above all the audit row for a denied
access. Code registers them with :func:`after_rollback`; they run in a fresh transaction after the
failed request's work has been rolled back, so nothing of that work leaks through.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, g

from velferdslab.extensions import db


def after_rollback(callback: Callable[[], None]) -> None:
    """Run ``callback`` (and commit what it adds) if this request ends in an error."""
    g.setdefault("_after_rollback", []).append(callback)


def finish_request(response):
    if response.status_code < 400:
        db.session.commit()
        return response
    db.session.rollback()
    callbacks = g.pop("_after_rollback", [])
    if callbacks:
        for callback in callbacks:
            callback()
        db.session.commit()
    return response


def init_app(app: Flask) -> None:
    app.after_request(finish_request)
