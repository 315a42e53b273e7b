"""What a signed-in family member may see on Min side: the same gate and policy as staff, not a
second access system.

``core.policy`` decides, person by person, with the rule ``family_see`` on a
:class:`~velferdslab.cases.household.models.FamilyMember`: a member sees what is about
themself, and a parent (18 or older) also what is about their younger children — a child below the
consent age (``lab.consent_age``). A young person from the consent age sees only their own and the
household's shared information; so does every other member.

:class:`FamilyAccess` is the ``cases.access.Access`` the family's pages hand to the very queries the
team's pages use (the journey, the plan, the meetings, the progress report): its
:meth:`FamilyAccess.scope` covers the household and every member the policy lets this member see,
so ``Access.may_see``, ``Access.hide`` and ``visible_ratings`` filter for the family as they do for
an agency. It never depends on any agency's consent: the family always sees its own information.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from flask_babel import gettext as _
from sqlalchemy import select

from velferdslab.auth.models import Lab
from velferdslab.cases.access import Access, ConsentScope
from velferdslab.cases.consent.models import CATEGORY_CODES
from velferdslab.cases.household.models import FamilyMember, MemberRole
from velferdslab.core import policy
from velferdslab.core.models import today_local
from velferdslab.core.permissions import FAMILY_ACTOR_ROLE
from velferdslab.extensions import db

ADULT_AGE = 18


@dataclass(frozen=True, eq=False)
class FamilyViewer:
    """A signed-in family member as the one ``core.policy`` decides for (never a staff user: it has
    no roles, no permissions and no agency)."""

    member: FamilyMember
    is_authenticated: bool = True
    active: bool = True
    primary_role: str = FAMILY_ACTOR_ROLE

    def has_permission(self, _permission) -> bool:
        return False


def lab_consent_age(member: FamilyMember) -> int:
    return db.session.get_one(Lab, member.family.lab_id).consent_age


@policy.rule(FamilyMember, "family_see")
def _family_see(viewer, subject: FamilyMember) -> policy.Decision:
    """Whether a signed-in family member may see what is stored about ``subject``."""
    if not isinstance(viewer, FamilyViewer):
        return policy.deny("not_family")
    me = viewer.member
    if subject.family_id != me.family_id:
        return policy.deny("other_family")
    if subject.id == me.id:
        return policy.ALLOW
    year = today_local().year
    if (me.role == MemberRole.PARENT and me.age_in(year) >= ADULT_AGE
            and subject.age_in(year) < lab_consent_age(me) and subject.role != MemberRole.PARENT):
        return policy.ALLOW
    return policy.deny("other_member")


def visible_member_ids(viewer: FamilyViewer) -> frozenset[int]:
    members = db.session.scalars(select(FamilyMember).where(FamilyMember.family_id == viewer.member.family_id))
    return frozenset(m.id for m in members if policy.can(viewer, "family_see", m))


@dataclass(frozen=True)
class FamilyAccess(Access):
    """The family member's own view of their family, through ``cases.access.Access``."""

    viewer: FamilyViewer | None = None

    @classmethod
    def of(cls, member: FamilyMember) -> FamilyAccess:
        return cls(family=member.family, membership=None, gated=False, viewer=FamilyViewer(member))

    @property
    def member(self) -> FamilyMember:
        assert self.viewer is not None
        return self.viewer.member

    @property
    def user_id(self) -> int:  # pragma: no cover - a family member is no user
        raise LookupError("a family member is not a staff user")

    @cached_property
    def member_ids(self) -> frozenset[int]:
        assert self.viewer is not None
        return visible_member_ids(self.viewer)

    @cached_property
    def scope(self) -> ConsentScope:
        everything = frozenset(CATEGORY_CODES)
        covered: dict[int | None, frozenset[str]] = {None: everything}
        covered.update({member_id: everything for member_id in self.member_ids})
        return ConsentScope(covered)

    def hidden_reason(self, subject_member_id: int | None, theme: str | None, kind: str) -> str:
        return _("Noe gjelder et annet familiemedlem og vises bare for den det gjelder.")
