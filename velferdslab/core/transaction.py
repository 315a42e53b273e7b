"""One transaction per request: committed once at the end of a successful request, rolled back
on any error. Services only flush.

Some facts must be stored even when the request fails — above all the audit row for a denied
access. Code registers them with :func:`after_rollback`; they run in a fresh transaction after the
failed request's work has been rolled back, so nothing of that work leaks through.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, g

from velferdslab.extensions import db

log = logging.getLogger(__name__)


def after_rollback(callback: Callable[[], None]) -> None:
    """Run ``callback`` (and commit what it adds) if this request ends in an error."""
    g.setdefault("_after_rollback", []).append(callback)


def finish_request(response):
    """Commit a successful request; roll back a failed one and store its after-rollback facts.

    The commit is where the audit chain head is locked (``audit.chain``): a lock, statement or
    connection fault there answers 503 with Retry-After (``core.errors``), never a 500.
    """
    response = _finish(response)
    # A 503's Retry-After is the database's; the limiter's after-request hook (it runs before this
    # one) would have replaced it with its own window's reset (15 minutes on the sign-in form).
    retry_after = g.pop("_retry_after", None)
    if retry_after is not None and response.status_code == 503:
        response.headers["Retry-After"] = retry_after
    return response


def _finish(response):
    from velferdslab.core.errors import database_unavailable, unavailable_response

    if response.status_code < 400:
        try:
            db.session.commit()
        except Exception as error:
            if not database_unavailable(error):
                raise
            g.pop("_after_rollback", None)  # the database is not there to take them
            return unavailable_response(error)
        return response
    try:
        db.session.rollback()
        callbacks = g.pop("_after_rollback", [])
        if callbacks:
            for callback in callbacks:
                callback()
            db.session.commit()
    except Exception as error:
        if not database_unavailable(error):
            raise
        # The facts to keep after a failed request (a refusal's audit row) cannot be stored: the
        # request answers 503 — or keeps its 503 — rather than pass without them on record.
        if response.status_code == 503:
            log.warning("after-rollback records not stored: the database is unavailable")
            from velferdslab.core.errors import discard_session

            discard_session()
            return response
        return unavailable_response(error)
    return response


def init_app(app: Flask) -> None:
    app.after_request(finish_request)
