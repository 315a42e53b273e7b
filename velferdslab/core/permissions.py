"""Permissions are data: roles grant named permissions, and every route declares the one it needs.

A route is either ``@public`` or ``@requires("permission")``. ``tests/core/test_route_permissions.py``
walks ``app.url_map`` and fails for any endpoint that declares neither, so a new route cannot
forget. Object-level checks (may this user see *this* family?) live with the objects, in
``teams.policy``; the route-level permission is the first gate, not the only one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, request
from flask_login import current_user

ATTR = "velferdslab_permission"
PUBLIC = "public"
LOGIN = "login"  # any signed-in user

ROLES = ("caseworker", "team_lead", "manager", "admin")

# Which role grants which permission. Changing access means changing this table, nothing else.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "caseworker": frozenset({"families.work", "spend.request"}),
    "team_lead": frozenset({"families.work", "spend.request", "spend.approve", "teams.manage",
                            "privacy.requests"}),
    "manager": frozenset({"spend.approve", "budget.manage", "budget.delegate", "reports.read", "emergency.access",
                         "privacy.requests"}),
    "admin": frozenset({"admin.users", "admin.agencies", "admin.rules", "audit.review", "budget.delegate",
                        "reports.assumptions", "emergency.access", "privacy.requests"}),
}
ALL_PERMISSIONS = frozenset().union(*ROLE_PERMISSIONS.values()) | {LOGIN}


def permissions_for(roles: set[str] | frozenset[str]) -> frozenset[str]:
    granted = {LOGIN}
    for role in roles:
        granted |= ROLE_PERMISSIONS.get(role, frozenset())
    return frozenset(granted)


def public(view: Callable) -> Callable:
    """Mark a view as reachable without signing in (login page, health check, static files)."""
    setattr(view, ATTR, PUBLIC)
    return view


def requires(permission: str) -> Callable[[Callable], Callable]:
    """Declare and enforce the permission a view needs: 401 when anonymous, 403 when lacking it."""
    if permission not in ALL_PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                abort(401)
            if not current_user.has_permission(permission):
                abort(403)
            return view(*args, **kwargs)

        setattr(wrapper, ATTR, permission)
        return wrapper

    return decorator


def declared_permission(view_func: Callable) -> str | None:
    """The permission a view declares; for class-based views, every HTTP method must declare one."""
    value = getattr(view_func, ATTR, None)
    if value is not None:
        return value
    view_class = getattr(view_func, "view_class", None)
    if view_class is None:
        return None
    found = set()
    for method in getattr(view_class, "methods", None) or ():
        handler = getattr(view_class, method.lower(), None)
        declared = getattr(handler, ATTR, None)
        if declared is None:
            return None
        found.add(declared)
    return ",".join(sorted(found)) if found else None


def wants_json() -> bool:
    return request.path.startswith("/api/")
