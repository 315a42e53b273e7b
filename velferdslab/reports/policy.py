"""Whose outcome report a user reads: the rule ``core.policy.can`` asks for a ``Lab``.

Management (``reports.read``) reads its own lab's report, and only that. A county or national user
(``reports.across_labs``, role ``region``) reads the report over the labs assigned to them
(``ReportLabAccess``), all of them as one selection, protected by the same cell keys — and no
family, budget screen or other page of any lab.

Who may give a region user a lab: the lab's own administrator (``admin.users``), for their lab only
— the lab whose figures are read decides (the command line, run by the operator, acts for no user).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from velferdslab.auth.models import Lab
from velferdslab.core import policy
from velferdslab.core.permissions import Permission
from velferdslab.extensions import db
from velferdslab.reports.models import ReportLabAccess


def assigned_lab_ids(user: Any) -> list[int]:
    """The labs assigned to ``user`` for the report across labs, by id."""
    return list(db.session.scalars(select(ReportLabAccess.lab_id).where(ReportLabAccess.user_id == user.id)
                                   .order_by(ReportLabAccess.lab_id)))


@policy.rule(Lab, "read_outcome")
def _read_outcome(user: Any, lab: Lab) -> policy.Decision:
    if user.has_permission(Permission.REPORTS_READ) and user.lab_id == lab.id:
        return policy.ALLOW
    if user.has_permission(Permission.REPORTS_ACROSS_LABS) and lab.id in assigned_lab_ids(user):
        return policy.ALLOW
    return policy.deny("not_assigned")


@policy.rule(Lab, "manage_report_access")
def _manage_report_access(user: Any, lab: Lab) -> policy.Decision:
    if user.has_permission(Permission.ADMIN_USERS) and user.lab_id == lab.id:
        return policy.ALLOW
    return policy.deny("not_own_lab")


def readable_labs(user: Any) -> list[Lab]:
    """The labs of the report across labs that ``user`` may read (each asked of the policy)."""
    labs = db.session.scalars(select(Lab).where(Lab.id.in_(assigned_lab_ids(user))).order_by(Lab.name))
    return [lab for lab in labs if policy.can(user, "read_outcome", lab)]
