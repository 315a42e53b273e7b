"""Asking before a change that takes something away, and offering to undo it (issue 13).

Ending a membership, handing over the lead, closing an enrolment and withdrawing a consent do not
happen on the first POST: the form is checked (by the service's own ``check_…``, so a refusal is
shown by its field on the page as before) and answered with a confirmation page that says what
will happen and posts the same fields again with ``confirmed=1``. It needs no JavaScript. After the
change, the success message names what changed and, where the change can be undone, carries an
*Angre* button that posts the change's audit event id to the undo route.
"""

from __future__ import annotations

from typing import Any

from flask import flash, render_template, request
from flask_babel import format_time

from velferdslab.audit import undo
from velferdslab.audit.models import AuditEvent

CONFIRMED = "confirmed"


def confirmed() -> bool:
    """The POST comes from the confirmation page."""
    return request.form.get(CONFIRMED) == "1"


def confirmation_page(*, family: Any, title: str, consequences: list[str], confirm: str, back: str,
                      note: str | None = None) -> tuple[str, int]:
    """The page that asks: it shows what will happen and sends the same form again, confirmed."""
    hidden = [(name, value) for name, value in request.form.items(multi=True)
              if name not in ("csrf_token", CONFIRMED)]
    return render_template("cases/confirm.html", family=family, title=title, consequences=consequences,
                           confirm=confirm, back=back, note=note, hidden=hidden, action=request.path), 200


def flash_done(message: str, event: AuditEvent | None = None, undo_url: str | None = None) -> None:
    """The success message; with an *Angre* button when ``event`` may be undone at ``undo_url``."""
    if event is None or undo_url is None:
        flash(message, "success")
        return
    offer = {"text": message, "undo_url": undo_url, "event_id": event.id,
             "until": format_time(undo.undo_until(event), "HH:mm")}
    # Flask keeps any JSON-able message (its stub says str); base.html shows a mapping with its button.
    flash(offer, "success")  # type: ignore[arg-type]
