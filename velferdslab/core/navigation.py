"""The main menu, per role: each domain registers its entries with the permission they need."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from velferdslab.core.permissions import FAMILY_ACTOR_ROLE, Role


@dataclass(frozen=True)
class NavEntry:
    label: object
    endpoint: str
    permission: str
    order: int


ENTRIES: list[NavEntry] = []

def role_label(role: str | None) -> str:
    if role == FAMILY_ACTOR_ROLE:
        return str(_l("Familien selv"))
    member = Role.get(role)
    return member.label if member is not None else ""


def register(label, endpoint: str, permission: str, order: int = 50) -> None:
    if not any(e.endpoint == endpoint for e in ENTRIES):
        ENTRIES.append(NavEntry(label, endpoint, permission, order))
        ENTRIES.sort(key=lambda e: e.order)


@dataclass(frozen=True)
class StartPanel:
    panel: Callable[[Any], dict[str, Any] | None]
    order: int


START_PANELS: list[StartPanel] = []


def register_start_panel(panel: Callable[[Any], dict[str, Any] | None], order: int = 50) -> None:
    """Add a panel to the start page: ``panel(user)`` returns ``None`` (nothing for this user) or
    ``{"templates": [...], **context}``. Panels show in ``order``; each domain registers its own."""
    if not any(p.panel is panel for p in START_PANELS):
        START_PANELS.append(StartPanel(panel, order))
        START_PANELS.sort(key=lambda p: p.order)


def start_panels() -> list[Callable[[Any], dict[str, Any] | None]]:
    return [p.panel for p in START_PANELS]


def nav_items() -> list[dict]:
    if not current_user.is_authenticated:
        return []
    items = []
    for entry in ENTRIES:
        if current_user.has_permission(entry.permission):
            url = url_for(entry.endpoint)
            active = request.path == url or (url != "/" and request.path.startswith(url))
            items.append({"label": entry.label, "url": url, "active": active})
    return items


def init_app(app: Flask) -> None:
    app.jinja_env.globals["nav_items"] = nav_items
    app.jinja_env.globals["role_label"] = role_label
