"""Notifications (issue 18): what the team is told, in the app (*Varsler*, the bell, *Mine
oppgaver*), by e-mail (immediate or a daily digest, no personal data) and in a private calendar feed.

``models`` (the tables and the kinds), ``services`` (making, listing, the daily check, preferences,
the calendar secret), ``dispatch`` (to the task queue after the commit), ``mail`` (what a mail says
and how it leaves), ``jobs`` (the queue's job), ``calendar`` (iCalendar), ``cli``
(``velferdslab notify run``), ``views``.

The services below listen to ``core.events``: budget and audit say what happened in one line each
and know nothing of this package (the layers in setup.cfg).
"""

from __future__ import annotations

from flask import Flask


def unread_notifications() -> int:
    """The bell's count for the signed-in user (0 when signed out)."""
    from flask_login import current_user

    from velferdslab.notify import services

    if not current_user or not current_user.is_authenticated:
        return 0
    return services.unread_count(current_user)


def init_app(app: Flask) -> None:
    from velferdslab.core import events
    from velferdslab.notify import services

    events.listen(events.SPEND_CHANGED, services.on_spend_changed)
    events.listen(events.EMERGENCY_ACCESS_OPENED, services.on_emergency_access)
    app.jinja_env.globals["unread_notifications"] = unread_notifications
