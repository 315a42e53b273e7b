"""The policy table: which roles exist, and which permissions each role grants.

A route is either ``@public`` or ``@requires(Permission...)``. ``tests/core/test_route_permissions.py``
walks ``app.url_map`` and fails for any endpoint that declares neither, so a new route cannot
forget. Whether a user may do something to *one object* (see this family, approve this spend,
change this team) is asked of :func:`velferdslab.core.policy.can`, whose rules check these
permissions and the user's relation to the object — never a role's name. Changing what a role may
do means changing :data:`ROLE_PERMISSIONS`, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from velferdslab.core.vocabulary import Vocabulary

ATTR = "velferdslab_permission"
PUBLIC = "public"


class Role(Vocabulary):
    """A user's role in the lab. A user may hold several."""

    CASEWORKER = "caseworker", _l("Teammedlem")
    TEAM_LEAD = "team_lead", _l("Investeringsleder")
    MANAGER = "manager", _l("Ledelse")
    ADMIN = "admin", _l("Administrator")
    # A county or national reader: the outcome report over the labs assigned to them, nothing else.
    REGION = "region", _l("Fylke eller nasjonalt nivå")


# The actor role of an audit event done by a family member on their own pages (Min side): the
# event's actor_id is then the family member's id, not a user's.
FAMILY_ACTOR_ROLE = "family_member"
# The marker of a route for a signed-in family member (``cases.minside``), never for staff.
FAMILY_SESSION = "family-session"


class Permission(Vocabulary):
    LOGIN = "login", _l("Logget inn")
    FAMILIES_WORK = "families.work", _l("Arbeide i familienes investeringsteam")
    SPEND_REQUEST = "spend.request", _l("Be om utgifter")
    SPEND_APPROVE = "spend.approve", _l("Godkjenne utgifter innenfor fullmakt")
    # In which capacity a decision on spend is made: the authority rules are per capacity.
    SPEND_DECIDE_AS_LEAD = "spend.decide_as_lead", _l("Avgjøre utgifter som investeringsleder for familien")
    SPEND_DECIDE_AS_MANAGEMENT = "spend.decide_as_management", _l("Avgjøre utgifter som ledelse")
    TEAMS_MANAGE = "teams.manage", _l("Registrere familier og lede investeringsteam")
    PRIVACY_REQUESTS = "privacy.requests", _l("Behandle familiens personvernforespørsler")
    BUDGET_MANAGE = "budget.manage", _l("Fordele budsjett")
    BUDGET_DELEGATE = "budget.delegate", _l("Registrere delegerte midler")
    REPORTS_READ = "reports.read", _l("Lese resultatrapporter")
    REPORTS_ACROSS_LABS = "reports.across_labs", _l("Lese resultatrapporten for flere laber samlet")
    REPORTS_ASSUMPTIONS = "reports.assumptions", _l("Forvalte forutsetningene i gevinstmodellen")
    EMERGENCY_ACCESS = "emergency.access", _l("Nødtilgang")
    ADMIN_USERS = "admin.users", _l("Forvalte brukere")
    ADMIN_AGENCIES = "admin.agencies", _l("Forvalte etater")
    ADMIN_RULES = "admin.rules", _l("Forvalte fullmaktsregler")
    AUDIT_REVIEW = "audit.review", _l("Revisjon av tilganger")


P = Permission
# Which role grants which permission. Changing access means changing this table, nothing else.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CASEWORKER: frozenset({P.FAMILIES_WORK, P.SPEND_REQUEST}),
    Role.TEAM_LEAD: frozenset({P.FAMILIES_WORK, P.SPEND_REQUEST, P.SPEND_APPROVE, P.SPEND_DECIDE_AS_LEAD,
                               P.TEAMS_MANAGE, P.PRIVACY_REQUESTS}),
    Role.MANAGER: frozenset({P.SPEND_APPROVE, P.SPEND_DECIDE_AS_MANAGEMENT, P.BUDGET_MANAGE, P.BUDGET_DELEGATE,
                             P.REPORTS_READ, P.EMERGENCY_ACCESS, P.PRIVACY_REQUESTS}),
    Role.ADMIN: frozenset({P.ADMIN_USERS, P.ADMIN_AGENCIES, P.ADMIN_RULES, P.AUDIT_REVIEW, P.BUDGET_DELEGATE,
                           P.REPORTS_ASSUMPTIONS, P.EMERGENCY_ACCESS, P.PRIVACY_REQUESTS}),
    Role.REGION: frozenset({P.REPORTS_ACROSS_LABS}),
}
# The role the audit trail records and the start page is chosen by, when a user holds several.
PRIMARY_ROLE_ORDER: tuple[Role, ...] = (Role.ADMIN, Role.MANAGER, Role.TEAM_LEAD, Role.CASEWORKER, Role.REGION)
# The capacities a spend decision is made in (stored with the decision and in the authority rules,
# as the code of the role that holds the capacity).
DECISION_CAPACITIES: dict[Role, Permission] = {Role.TEAM_LEAD: P.SPEND_DECIDE_AS_LEAD,
                                               Role.MANAGER: P.SPEND_DECIDE_AS_MANAGEMENT}

ROLES: tuple[str, ...] = Role.codes()
LOGIN = Permission.LOGIN
ALL_PERMISSIONS = frozenset(Permission)


def permissions_for(roles: Iterable[str]) -> frozenset[Permission]:
    granted: set[Permission] = {Permission.LOGIN}
    for role in roles:
        member = Role.get(role)
        if member is not None:
            granted |= ROLE_PERMISSIONS[member]
    return frozenset(granted)


def primary_role(roles: Iterable[str]) -> Role:
    held = set(roles)
    return next((role for role in PRIMARY_ROLE_ORDER if role in held), Role.CASEWORKER)


F = TypeVar("F", bound=Callable[..., Any])

# Called with the permission whenever a signed-in user is refused for lacking it (403). ``audit``
# registers the one that records the refusal (core may not import audit).
REFUSAL_LISTENERS: list[Callable[[Permission], None]] = []


def on_refusal(listener: Callable[[Permission], None]) -> None:
    if listener not in REFUSAL_LISTENERS:
        REFUSAL_LISTENERS.append(listener)


def public(view: F) -> F:
    """Mark a view as reachable without signing in (login page, health check, static files)."""
    setattr(view, ATTR, PUBLIC)
    return view


def requires(permission: Permission | str) -> Callable[[F], F]:
    """Declare and enforce the permission a view needs: 401 when anonymous, 403 when lacking it."""
    needed = Permission.get(permission) if isinstance(permission, str) else None
    if needed is None:
        raise ValueError(f"unknown permission {permission!r}")

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                abort(401)
            if not current_user.has_permission(needed):
                for listener in REFUSAL_LISTENERS:
                    listener(needed)
                abort(403)
            return view(*args, **kwargs)

        setattr(wrapper, ATTR, needed.value)
        return wrapper  # type: ignore[return-value]  # functools.wraps keeps the signature

    return decorator


def declared_permission(view_func: Callable[..., Any]) -> str | None:
    """The permission a view declares; for class-based views, every HTTP method must declare one."""
    value = getattr(view_func, ATTR, None)
    if value is not None:
        return str(value)
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
