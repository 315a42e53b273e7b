"""One object policy: ``can(user, action, obj)`` answers every "may this user do that to this?".

Two tables decide it, and nothing else does:

1. :data:`velferdslab.core.permissions.ROLE_PERMISSIONS` — what each role grants;
2. the rules registered here per kind of object and action, by the domain that owns the object
   (``budget/policy.py`` for spend requests, ``teams/policy.py`` for teams, ``cases/policy.py``
   for a family as the user sees it). A rule looks at the permissions the user holds and at the
   user's relation to the object (on the family's team, its lead, the requester) — never at the
   name of a role.

Services ask before they change anything (and refuse with 403), views and the API ask before
they offer a button, templates ask through the ``can`` global. So a rule changes in one place::

    @policy.rule(SpendRequest, "pay")
    def _pay(user, spend) -> policy.Decision: ...

    if not policy.can(user, "pay", spend): ...

An action without a rule for the object's kind is a programming error (``LookupError``), not a
refusal, so a typo fails its test instead of hiding a button.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, g, has_request_context


@dataclass(frozen=True)
class Decision:
    """The answer, with a reason code for the audit row when it is no."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOW = Decision(True)


def deny(reason: str) -> Decision:
    return Decision(False, reason)


Rule = Callable[[Any, Any], Decision]
R = TypeVar("R", bound=Rule)
T = TypeVar("T")
_RULES: dict[tuple[type, str], Rule] = {}


def rule(kind: type, *actions: str) -> Callable[[R], R]:
    """Register the rule deciding ``actions`` on objects of ``kind`` (and its subclasses)."""

    def decorator(function: R) -> R:
        for action in actions:
            if (kind, action) in _RULES:
                raise ValueError(f"a rule for {kind.__name__}.{action} is already registered")
            _RULES[(kind, action)] = function
        return function

    return decorator


def _rule_for(action: str, obj: Any) -> Rule:
    for kind in type(obj).__mro__:
        found = _RULES.get((kind, action))
        if found is not None:
            return found
    raise LookupError(f"no policy rule for {action!r} on {type(obj).__name__}")


def check(user: Any, action: str, obj: Any) -> Decision:
    """The decision, with its reason. Anonymous and disabled users may do nothing."""
    decide = _rule_for(action, obj)
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "active", False):
        return deny("not_signed_in")
    return decide(user, obj)


def can(user: Any, action: str, obj: Any) -> bool:
    return check(user, action, obj).allowed


def remember(key: Hashable, load: Callable[[], T]) -> T:
    """A fact a rule needs (the user's relation to a family), looked up once per request.

    Outside a request nothing is kept. Services that change such facts (team memberships) call
    :func:`forget`, so a later question in the same request sees the change.
    """
    if not has_request_context():
        return load()
    facts = g.setdefault("policy_facts", {})
    if key not in facts:
        facts[key] = load()
    return facts[key]


def forget() -> None:
    if has_request_context():
        g.pop("policy_facts", None)


def registered() -> dict[tuple[type, str], Rule]:
    """Every rule (for the policy's own tests and the architecture document)."""
    return dict(_RULES)


def init_app(app: Flask) -> None:
    from flask_login import current_user

    app.jinja_env.globals["can"] = lambda action, obj: can(current_user, action, obj)
