"""The family gate: the one place that decides whether the signed-in user may see a family, how much
of it, and that writes the read audit — for every family-scoped page and API operation alike.

A family-scoped handler is a route, one decorator, one service call and one template::

    @blueprint.get("/familier/<int:family_id>/plan")
    @requires(LOGIN)
    @family_route(AuditAction.PLAN_VIEW)
    def plan(access: Access): ...

The decorator, in order:

1. **resolves the family** from the URL — ``family_id``, or an object that belongs to a family
   (``via``: ``spend_id`` → the spend request's family) — and loads the family's objects the URL
   names (``load``: ``meeting_id`` → ``meeting``), refusing one that belongs to another family;
2. **membership**: the user sees the family while on its current team *and* their roles grant
   ``families.work``; else through an active **emergency-access grant** (read only: a write is
   refused with 403, except on the few routes made for it, ``emergency="write"``); a **restricted**
   (*sperret*) family is reachable only by emergency access, an **erased** one not at all. Anyone
   else — management and administrators included — gets the same 404 as for a family that does
   not exist, and the attempt is audited in the family's lab;
3. **consent**: a member whose agency holds no valid consent from the family is *gated*; routes
   that show case content (``content=True``, the default) refuse them with an audited 403;
4. **the read audit**: after the handler answered a GET with the data (2xx), one audit event with the
   declared action and purpose (the API's purpose is ``api``), the object read, and whether the
   reader was gated. Changes are audited by the services that make them.

``tests/core/test_family_gate.py`` walks ``app.url_map`` and proves every route with a family key in
its URL (``FAMILY_KEYS``) carries this decorator, is refused off the team and is audited on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache, wraps
from typing import Any, NoReturn

from flask import abort, g, has_request_context, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import CompoundSelect, Date, Integer, Select, and_, bindparam, exists, literal, select
from sqlalchemy.orm import aliased
from werkzeug.wrappers import Response as BaseResponse

from velferdslab.audit import emergency
from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction, Purpose
from velferdslab.cases import policy as _family_rules  # noqa: F401 - registers the rules for Access
from velferdslab.cases.access import Access
from velferdslab.cases.consent.models import Consent, valid_on
from velferdslab.cases.household.models import Family
from velferdslab.core import policy
from velferdslab.core.errors import ForbiddenError
from velferdslab.core.models import UTCDateTime, today_local, utcnow
from velferdslab.core.permissions import Permission
from velferdslab.extensions import db
from velferdslab.teams import policy as team_policy
from velferdslab.teams.models import TeamMembership, TeamRole

ATTR = "velferdslab_family_gate"
READ_METHODS = ("GET", "HEAD")

# URL parameters that name a family's data. A route with one of them must carry the gate; other
# domains add the keys of their family-owned objects with :func:`family_key` (``spend_id``).
FAMILY_KEYS: set[str] = {"family_id"}


def family_key(name: str) -> None:
    FAMILY_KEYS.add(name)


# --- who may see which family ---------------------------------------------------------------------

def valid_consent_clause(family_id_col: Any, agency_id_col: Any, on: date) -> Any:
    """SQL: a current consent row exists for (family, agency) that is valid on ``on`` — about anyone and
    covering anything: it lets the agency's people past the door; what they see of the case content
    is then decided item by item (``Access.may_see``, issue 15)."""
    newer = aliased(Consent)
    return exists(
        select(literal(1)).select_from(Consent).where(
            Consent.family_id == family_id_col,
            Consent.agency_id == agency_id_col,
            *valid_on(on),
            ~exists(select(literal(1)).select_from(newer).where(newer.supersedes_id == Consent.id)),
        ))


def _works_with_families(user: Any) -> bool:
    """Team membership opens a family only to a user whose roles still grant family work."""
    return bool(getattr(user, "is_authenticated", False)) and user.has_permission(Permission.FAMILIES_WORK)


def access_query(user: Any, on: date) -> Select[Family, TeamMembership, bool]:
    """(Family, TeamMembership, has_consent) for every family ``user`` is on the team of."""
    return _access_query(user.id, user.lab_id, on)


def _access_query(user_id: Any, lab_id: Any, on: Any) -> Select[Family, TeamMembership, bool]:
    has_consent = and_(TeamMembership.agency_id.is_not(None),
                       valid_consent_clause(TeamMembership.family_id, TeamMembership.agency_id, on))
    return (select(Family, TeamMembership, has_consent.label("has_consent"))
            .join(TeamMembership, TeamMembership.family_id == Family.id)
            .where(team_policy.current_membership_clause(user_id, on), Family.lab_id == lab_id,
                   # A restricted (sperret) or erased family is hidden from the team (privacy).
                   Family.restricted_at.is_(None), Family.erased_at.is_(None))
            .order_by(Family.id, TeamMembership.role))


@cache
def _families_query() -> Select[Family, TeamMembership, bool]:
    """:func:`access_query` built once with the user, lab and day as parameters (*Mine familier*,
    *Mine oppgaver*: issue 19)."""
    return _access_query(bindparam("user_id", type_=Integer), bindparam("lab_id", type_=Integer),
                         bindparam("on", type_=Date))


@cache
def _one_family_query() -> Select[Family, TeamMembership, bool]:
    """:func:`access_query` for one family, built once with the user, lab, day and family as
    parameters (issue 19: building and keying the statement on every request was most of the
    gate's CPU time); the compiled form is then SQLAlchemy's cached one."""
    return _families_query().where(Family.id == bindparam("family_id", type_=Integer)).limit(1)


def family_access(user: Any, family_id: int, *, on: date | None = None) -> Access | None:
    """The user's access to one family through its team, in one statement; None off the team.

    With two current rows (a lead row and a member row) the lead row wins (``role`` sorts it first).
    """
    if not _works_with_families(user):
        return None
    row = db.session.execute(_one_family_query(), {"user_id": user.id, "lab_id": user.lab_id,
                                                   "on": on or today_local(), "family_id": family_id}).first()
    if row is None:
        return None
    family, membership, has_consent = row
    return Access(family=family, membership=membership, gated=not has_consent)


def accessible_families(user: Any, on: date | None = None) -> list[Access]:
    """Every family the user is on the team of, one Access each (lead row preferred)."""
    if not _works_with_families(user):
        return []
    seen: dict[int, Access] = {}
    rows = db.session.execute(_families_query(), {"user_id": user.id, "lab_id": user.lab_id,
                                                  "on": on or today_local()})
    for family, membership, has_consent in rows:
        seen.setdefault(family.id, Access(family=family, membership=membership, gated=not has_consent))
    return list(seen.values())


def emergency_access(user: Any, family_id: int) -> Access | None:
    """Access through an active emergency-access grant: the whole family, not gated by consent —
    breaking the glass is for when waiting is not an option, and it is reviewed."""
    grant = emergency.active_grant(user, family_id)
    if grant is None:
        return None
    family = db.session.get(Family, family_id)
    if family is None or family.lab_id != user.lab_id or family.erased_at is not None:
        return None
    return Access(family=family, membership=None, gated=False, emergency=grant)


def team_family_ids(user: Any, on: date | None = None, *, led: bool = False) -> Select[int]:
    """A query of the ids of the families whose team ``user`` is on today (as its lead, with
    ``led``), restricted and erased families left out — the gate's membership door, in SQL."""
    return _team_family_ids(user.id, on or today_local(), led=led, works=_works_with_families(user))


def _team_family_ids(user_id: Any, on: Any, *, led: bool, works: bool) -> Select[int]:
    team = (select(TeamMembership.family_id).join(Family, Family.id == TeamMembership.family_id)
            .where(team_policy.current_membership_clause(user_id, on), Family.restricted_at.is_(None),
                   Family.erased_at.is_(None)))
    if led:
        team = team.where(TeamMembership.role == TeamRole.LEAD)
    if not works:
        team = team.where(literal(False))
    return team


def visible_family_ids(user: Any, on: date | None = None) -> Select[int] | CompoundSelect[int]:
    """A query of the ids of the families ``user`` may see today (team or emergency access)."""
    return _visible_family_ids(user.id, on or today_local(), None, *visible_family_ids_shape(user))


def _visible_family_ids(user_id: Any, on: Any, now: Any, works: bool,
                        with_emergency: bool) -> Select[int] | CompoundSelect[int]:
    team = _team_family_ids(user_id, on, led=False, works=works)
    return team.union(emergency.family_ids(user_id, now)) if with_emergency else team


@cache
def visible_family_ids_query(works: bool, with_emergency: bool) -> Select[int] | CompoundSelect[int]:
    """:func:`visible_family_ids` built once per shape, with ``user_id``, ``on`` (the day) and ``now``
    as parameters (:func:`visible_family_ids_params`), for a statement asked on every page (issue 19)."""
    return _visible_family_ids(bindparam("user_id", type_=Integer), bindparam("on", type_=Date),
                               bindparam("now", type_=UTCDateTime), works, with_emergency)


def visible_family_ids_shape(user: Any) -> tuple[bool, bool]:
    return _works_with_families(user), user.has_permission(emergency.PERMISSION)


def visible_family_ids_params(user: Any) -> dict[str, Any]:
    return {"user_id": user.id, "on": today_local(), "now": utcnow()}


def can_view_family(user: Any, family_id: int) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and (
        family_access(user, family_id) is not None or emergency_access(user, family_id) is not None)


def is_team_lead(user: Any, family_id: int) -> bool:
    """Whether ``user`` may act as the family's investment lead today (``cases.policy``)."""
    access = family_access(user, family_id)
    return access is not None and policy.can(user, "lead", access)


def deny(family_id: int | None, action: AuditAction = AuditAction.FAMILY_DENIED) -> NoReturn:
    """Answer 404 as for a family that does not exist, and keep a record of the attempt — in the
    family's lab (so its audit review sees it), whoever asked."""
    lab_id = db.session.scalar(select(Family.lab_id).where(Family.id == family_id)) if family_id else None
    audit.record_even_if_request_fails(action, family_id=family_id, lab_id=lab_id, object_type="family",
                                       object_id=family_id,
                                       summary={"outcome": "denied"})
    abort(404)


EMERGENCY_DOORS = ("read", "write", "none")


def require_family(user: Any, family_id: int, *, emergency: str = "read", method: str | None = None) -> Access:
    """The user's access to the family, or the audited 404 of a family that does not exist.

    Emergency access opens the family for reading (``emergency="read"``): a write through it is
    refused (403, audited). The few routes made for it take writes too (``"write"``: lifting a
    restriction, erasure); routes that change the team are not behind that door at all (``"none"``).
    """
    emergency_writes = emergency == "write"
    access = family_access(user, family_id)
    if access is None and emergency != "none" and getattr(user, "is_authenticated", False):
        access = emergency_access(user, family_id)
        method = method or (request.method if has_request_context() else "GET")
        if access is not None and not emergency_writes and method not in (*READ_METHODS, "OPTIONS"):
            audit.record_even_if_request_fails(AuditAction.FAMILY_EMERGENCY_WRITE_DENIED, family_id=family_id,
                                               lab_id=access.family.lab_id, object_type="family",
                                               object_id=family_id, purpose=Purpose.EMERGENCY,
                                               summary={"outcome": "denied"})
            raise ForbiddenError(_("Nødtilgang gir bare innsyn, ikke endringer."), "family")
    if access is None:
        deny(family_id)
    assert access is not None  # deny() raised
    return access


# --- the decorator ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Gate:
    """What a family-scoped route declared (kept on the view for the route-walking test)."""

    read: AuditAction | None
    purpose: Purpose | None
    content: bool
    load: Mapping[str, type] = field(default_factory=dict)
    via: tuple[str, type] | None = None
    emergency: str = "read"


def reading(obj: Any) -> None:
    """Name the object the read audit is about, when it is not in the URL (the family's team)."""
    g.gate_object = obj


def note(**summary: Any) -> None:
    """Add codes or counts to the read audit the gate writes when the handler returns (``count``)."""
    g.setdefault("gate_notes", {}).update(summary)


def _load_objects(spec: Gate, access: Access, kwargs: dict[str, Any]) -> Any:
    """Replace each ``<name>_id`` the URL carries with the row, if it is the family's (else 404,
    audited in the family the row belongs to). Returns the object the read is about, if any."""
    read_object = None
    for name, model in spec.load.items():
        row = db.session.get(model, kwargs.pop(f"{name}_id"))
        if row is None:
            abort(404)
        if row.family_id != access.family.id:
            deny(row.family_id)
        kwargs[name] = row
        read_object = read_object or row
    return read_object


def _through(spec: Gate, kwargs: dict[str, Any]) -> tuple[Access | None, Any]:
    """The family reached through an object of another domain (a spend request): that object's own
    rule (``can(user, "see", obj)``) lets management of the lab in without a team membership."""
    assert spec.via is not None
    name, model = spec.via
    obj = db.session.get(model, kwargs.pop(f"{name}_id"))
    if obj is None or obj.lab_id != current_user.lab_id:
        deny(obj.family_id if obj is not None else None, AuditAction.SPEND_DENIED)
    kwargs[name] = obj
    access = family_access(current_user, obj.family_id)
    if access is None and not policy.can(current_user, "see", obj):
        deny(obj.family_id, AuditAction.SPEND_DENIED)
    return access, obj


def _resolve(spec: Gate, kwargs: dict[str, Any]) -> tuple[Access | None, Any]:
    if spec.via is not None:
        access, read_object = _through(spec, kwargs)
    else:
        access = require_family(current_user, kwargs.pop("family_id"), emergency=spec.emergency)
        read_object = None
    if access is not None:
        policy.remember(("family_access", current_user.id, access.family.id), lambda: access)
        g.family_read_only = access.read_only  # the pages hide their write actions (``read_only()``)
        if spec.content:
            access.require_consent()
            if spec.via is not None:
                # An object reached through its own id (a spend request) is about a theme: the
                # member's agency needs consent for that theme and kind, as on the family page
                # (issue 15). Every handler of the object — read, decide, pay, edit — gets this.
                access.require_may_see(None, getattr(read_object, "theme", None), spec.via[0])
        read_object = _load_objects(spec, access, kwargs) or read_object
    return access, read_object


def _shown(result: Any) -> bool:
    """Whether the handler answered with the data (2xx; an API handler returns data unless it raised).
    A redirect or an error shows nothing, so it is not a read."""
    if isinstance(result, BaseResponse):
        return 200 <= result.status_code < 300
    if isinstance(result, tuple) and len(result) > 1 and isinstance(result[1], int):
        return 200 <= result[1] < 300
    return True


def _purpose(spec: Gate) -> Purpose:
    if spec.purpose is not None:
        return spec.purpose
    return Purpose.API if request.path.startswith("/api/") else Purpose.FOLLOW_UP


def _audit_read(spec: Gate, access: Access | None, read_object: Any, family_id: int) -> None:
    assert spec.read is not None
    # Whether the reader was gated is worth recording only where a gated member may read at all.
    summary = {} if spec.content else {"gated": access.gated if access is not None else False}
    summary.update(g.pop("gate_notes", {}))
    read_object = g.pop("gate_object", None) or read_object
    object_type = getattr(read_object, "__tablename__", "family") if read_object is not None else "family"
    object_id = read_object.id if read_object is not None else family_id
    audit.record(spec.read, family_id=family_id, object_type=object_type, object_id=object_id,
                 purpose=_purpose(spec), summary=summary)


def family_route(read: AuditAction | None = None, *, purpose: Purpose | None = None, content: bool = True,
                 load: Mapping[str, type] | None = None, via: tuple[str, type] | None = None,
                 emergency: str = "read") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Gate a family-scoped route (see the module docstring). The handler receives ``access``
    (None only for a ``via`` object reached by its own rule) and the loaded objects by name."""
    if emergency not in EMERGENCY_DOORS:
        raise ValueError(f"emergency must be one of {EMERGENCY_DOORS}")
    spec = Gate(read=read, purpose=purpose, content=content, load=dict(load or {}), via=via, emergency=emergency)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def gated(*args: Any, **kwargs: Any) -> Any:
            g.pop("gate_notes", None)
            g.pop("gate_object", None)
            # The gate only reads. Pending bookkeeping of the sign-in (a token's last use) is left
            # to the handler's first write, so a money operation's retry loop covers its flush.
            with db.session.no_autoflush:
                access, read_object = _resolve(spec, kwargs)
            result = view(*args, access=access, **kwargs)
            if spec.read is not None and request.method in READ_METHODS and _shown(result):
                family_id = access.family.id if access is not None else read_object.family_id
                _audit_read(spec, access, read_object, family_id)
            return result

        setattr(gated, ATTR, spec)
        return gated

    return decorator


def declared_gate(view_func: Callable[..., Any], method: str = "GET") -> Gate | None:
    """The gate a view (or one HTTP method of a class-based view) declares, if any."""
    found = getattr(view_func, ATTR, None)
    if found is not None:
        return found
    view_class = getattr(view_func, "view_class", None)
    handler = getattr(view_class, method.lower(), None) if view_class is not None else None
    return getattr(handler, ATTR, None) if handler is not None else None
