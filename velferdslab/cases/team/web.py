"""What the team's pages and API share: the family's team, and the team for a change."""

from __future__ import annotations

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user

from velferdslab.cases.access import Access
from velferdslab.cases.gate import reading
from velferdslab.core import policy
from velferdslab.core.errors import ForbiddenError
from velferdslab.teams import services
from velferdslab.teams.models import InvestmentTeam


def current_team(access: Access) -> InvestmentTeam:
    """The family's current team (404 when it has none yet)."""
    team = services.current_team(access.family.id)
    if team is None:
        abort(404)
    reading(team)
    return team


def managed_team(access: Access) -> InvestmentTeam:
    """The team, for a change: 403 unless the user may manage it (``teams.policy``)."""
    team = current_team(access)
    if not policy.can(current_user, "manage", team):
        raise ForbiddenError(_("Bare investeringslederen for teamet kan endre teamet."), "team")
    return team
