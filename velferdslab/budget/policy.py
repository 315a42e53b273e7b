"""Who may do what with a spend request: the rules ``core.policy.can`` asks for ``SpendRequest``.

Maker–checker, in the capacities ``core.permissions.DECISION_CAPACITIES`` names:

* *as lead*: the family's current investment lead (a ``lead`` membership, seen through the family
  gate) whose roles grant ``spend.decide_as_lead``;
* *as management*: anyone in the spend's lab whose roles grant ``spend.decide_as_management``.

Never the requester, whatever else they are, and never the same person twice on one request.
Whether the amount is within the authority of the capacity is the authority rules' business
(``budget.services.authority_for``); whether the request is in the right status, the state
machine's (409). These rules say only who.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

from velferdslab.budget.models import ApproverRole, Route, SpendRequest
from velferdslab.cases import gate as family_access
from velferdslab.cases.access import Access
from velferdslab.core import policy
from velferdslab.core.permissions import Permission

# A spend request is the family's data: routes that name one go through the family gate.
family_access.family_key("spend_id")

# Capacity → the permission that grants it, in the order a decision tries them.
CAPACITIES: tuple[tuple[ApproverRole, Permission], ...] = (
    (ApproverRole.TEAM_LEAD, Permission.SPEND_DECIDE_AS_LEAD),
    (ApproverRole.MANAGER, Permission.SPEND_DECIDE_AS_MANAGEMENT),
)


def relation(user: Any, family_id: int) -> Access | None:
    """The user's access to the family (None off the team), looked up once per request."""
    return policy.remember(("family_access", user.id, family_id),
                           lambda: family_access.family_access(user, family_id))


def prime(user: Any, family_ids: Iterable[int]) -> None:
    """Look up the user's access to many families in one statement (a queue's rows)."""
    wanted = set(family_ids)
    found = {a.family.id: a for a in family_access.accessible_families(user) if a.family.id in wanted}
    for family_id in wanted:
        policy.remember(("family_access", user.id, family_id), partial(found.get, family_id))


def capacities(user: Any, spend: SpendRequest) -> list[ApproverRole]:
    """The capacities in which ``user`` may decide on ``spend`` (empty: none)."""
    held = []
    for capacity, permission in CAPACITIES:
        if not user.has_permission(permission) or user.lab_id != spend.lab_id:
            continue
        if capacity is ApproverRole.TEAM_LEAD:
            access = relation(user, spend.family_id)
            if access is None or not access.is_lead:
                continue
        held.append(capacity)
    return held


@policy.rule(SpendRequest, "see")
def _see(user: Any, spend: SpendRequest) -> policy.Decision:
    """Within reach at all: on the family's team; or management of its lab, for a request that was
    sent to management's queue (management sees aggregates, and the requests it decides — never a
    team's drafts or the requests its lead decides). Anyone else: 404."""
    if user.lab_id != spend.lab_id:
        return policy.deny("other_lab")
    if relation(user, spend.family_id) is not None:
        return policy.ALLOW
    if spend.route == Route.MANAGEMENT and ApproverRole.MANAGER in capacities(user, spend):
        return policy.ALLOW
    return policy.deny("off_team")


@policy.rule(SpendRequest, "submit")
def _own(user: Any, spend: SpendRequest) -> policy.Decision:
    return policy.ALLOW if spend.requester_id == user.id else policy.deny("not_requester")


@policy.rule(SpendRequest, "edit", "revise")
def _own_or_lead(user: Any, spend: SpendRequest) -> policy.Decision:
    """A draft (edit) or a rejected request (revise): its requester, or the family's investment
    lead. A lead who changed a draft may not approve it (``edited_by_id``, see ``_approve``)."""
    if spend.requester_id == user.id:
        return policy.ALLOW
    if user.lab_id == spend.lab_id and user.has_permission(Permission.SPEND_REQUEST):
        access = relation(user, spend.family_id)
        if access is not None and access.is_lead:
            return policy.ALLOW
    return policy.deny("not_requester")


@policy.rule(SpendRequest, "approve")
def _approve(user: Any, spend: SpendRequest) -> policy.Decision:
    if spend.requester_id == user.id:
        return policy.deny("own_request")
    if any(d.user_id == user.id and d.decision == "approve" for d in spend.decisions):
        return policy.deny("second_approval_same_person")
    if spend.edited_by_id == user.id:
        return policy.deny("edited_draft")
    return policy.ALLOW if capacities(user, spend) else policy.deny("not_decider")


@policy.rule(SpendRequest, "reject")
def _reject(user: Any, spend: SpendRequest) -> policy.Decision:
    if spend.requester_id == user.id:
        return policy.deny("own_request")
    held = capacities(user, spend)
    if ApproverRole.MANAGER in held or (ApproverRole.TEAM_LEAD in held and spend.route == Route.TEAM):
        return policy.ALLOW
    return policy.deny("not_decider")


@policy.rule(SpendRequest, "pay")
def _pay(user: Any, spend: SpendRequest) -> policy.Decision:
    return policy.ALLOW if capacities(user, spend) else policy.deny("not_settler")


@policy.rule(SpendRequest, "cancel")
def _cancel(user: Any, spend: SpendRequest) -> policy.Decision:
    if spend.requester_id == user.id or capacities(user, spend):
        return policy.ALLOW
    return policy.deny("not_allowed")


def reject_capacity(user: Any, spend: SpendRequest) -> ApproverRole:
    """The capacity a rejection is recorded in (management's when the user holds both)."""
    held = capacities(user, spend)
    return ApproverRole.MANAGER if ApproverRole.MANAGER in held else ApproverRole.TEAM_LEAD
