"""Domain events: a domain low in the layers says that something happened, and a domain above it
(``notify``) listens, without the one importing the other.

The emitting call is one line in the service that made the change (``events.spend_changed(spend)``);
listeners run at once, inside the same transaction, so what they store commits or rolls back with
the change itself. A listener registers with :func:`listen` (``notify.init_app`` does).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

_LISTENERS: dict[str, list[Callable[..., None]]] = defaultdict(list)

SPEND_CHANGED = "spend_changed"
EMERGENCY_ACCESS_OPENED = "emergency_access_opened"


def listen(name: str, listener: Callable[..., None]) -> None:
    if listener not in _LISTENERS[name]:
        _LISTENERS[name].append(listener)


def _emit(name: str, *args: Any) -> None:
    for listener in list(_LISTENERS[name]):
        listener(*args)


def spend_changed(spend: Any) -> None:
    """A spend request was sent, approved (first or final approval), rejected or paid."""
    _emit(SPEND_CHANGED, spend)


def emergency_access_opened(grant: Any) -> None:
    """Someone broke the glass for a family (``audit.emergency.open_grant``)."""
    _emit(EMERGENCY_ACCESS_OPENED, grant)
