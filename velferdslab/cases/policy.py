"""What a user may do with a family as the gate lets them see it: the rules ``core.policy.can``
asks for an :class:`~velferdslab.cases.access.Access`.

Seeing the family at all is the gate's decision (``cases.gate``); these rules are about the powers
some users have on top of seeing it.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from velferdslab.cases.access import Access
from velferdslab.core import policy
from velferdslab.core.errors import ForbiddenError
from velferdslab.core.permissions import Permission


@policy.rule(Access, "lead")
def _lead(user: Any, access: Access) -> policy.Decision:
    """The family's investment lead: enrolment (start, close, refer again), the team, consent
    records. Both the lead membership and a role that lets them lead teams."""
    if access.is_lead and user.has_permission(Permission.TEAMS_MANAGE):
        return policy.ALLOW
    return policy.deny("not_lead")


@policy.rule(Access, "handle_privacy")
def _handle_privacy(user: Any, access: Access) -> policy.Decision:
    """The family's rights (access log, export, restriction, erasure): its lead, or a holder of
    emergency access, whose roles let them handle such requests."""
    if not user.has_permission(Permission.PRIVACY_REQUESTS):
        return policy.deny("no_role")
    if (access.is_lead and user.has_permission(Permission.TEAMS_MANAGE)) or access.emergency is not None:
        return policy.ALLOW
    return policy.deny("not_lead")


def require_lead(user: Any, access: Access) -> None:
    """403 unless ``user`` may act as the family's investment lead."""
    if not policy.can(user, "lead", access):
        raise ForbiddenError(_("Bare investeringslederen for teamet kan gjøre dette."), "team")
