"""Changes to the household: the family's own fields and its members.

Each service validates, changes, writes its audit row and flushes — it never commits (the request
does); a refusal is a :class:`ServiceError` naming the input at fault (see ``velferdslab.cases``).
"""

from __future__ import annotations

from functools import cache

from flask_babel import gettext as _
from sqlalchemy import Integer, Select, bindparam, select, update

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction
from velferdslab.auth.models import User
from velferdslab.cases.access import Access
from velferdslab.cases.household.models import MEMBER_ROLES, Family, FamilyMember
from velferdslab.cases.rules import _text
from velferdslab.core.errors import ServiceError
from velferdslab.core.models import today_local
from velferdslab.extensions import db


@cache
def _members_query() -> Select[FamilyMember]:
    # Built once with the family as a parameter (issue 19: the family page asks it on every visit).
    return (select(FamilyMember).where(FamilyMember.family_id == bindparam("family_id", type_=Integer))
            .order_by(FamilyMember.birth_year, FamilyMember.id))


def family_members(family_id: int) -> list[FamilyMember]:
    return list(db.session.scalars(_members_query(), {"family_id": family_id}))


def _family_fields(household_name, language, interpreter_needed) -> dict:
    return {
        "household_name": _text(household_name, "household_name", max_length=200, required=True,
                                label_missing=_("Oppgi et navn på husstanden.")),
        "language": _text(language, "language", max_length=60),
        "interpreter_needed": bool(interpreter_needed),
    }


def update_family(access: Access, *, actor: User, household_name: str | None, language: str | None,
                  interpreter_needed: bool) -> Family:
    access.require_consent()
    family = access.family
    fields = _family_fields(household_name, language, interpreter_needed)
    changed = [k for k, v in fields.items() if getattr(family, k) != v]
    for key, value in fields.items():
        setattr(family, key, value)
    db.session.flush()
    audit.record(AuditAction.FAMILY_UPDATE, actor=actor, family_id=family.id, object_type="family", object_id=family.id,
                 summary={"fields": changed})
    return family


def _member_fields(family_id: int, first_name, last_name, birth_year, role, *, exclude_id=None) -> dict:
    first = _text(first_name, "first_name", max_length=100, required=True, label_missing=_("Oppgi fornavn."))
    last = _text(last_name, "last_name", max_length=100, required=True, label_missing=_("Oppgi etternavn."))
    this_year = today_local().year
    if not isinstance(birth_year, int) or isinstance(birth_year, bool) or not 1900 <= birth_year <= this_year:
        raise ServiceError(_("Fødselsåret må være mellom 1900 og %(year)s.", year=this_year), "birth_year")
    if role not in MEMBER_ROLES:
        raise ServiceError(_("Ukjent rolle i familien."), "role")
    clash = select(FamilyMember.id).where(FamilyMember.family_id == family_id, FamilyMember.first_name == first,
                                          FamilyMember.last_name == last, FamilyMember.birth_year == birth_year)
    if exclude_id is not None:
        clash = clash.where(FamilyMember.id != exclude_id)
    if db.session.scalar(clash.limit(1)) is not None:
        raise ServiceError(_("%(name)s (født %(year)s) er allerede med i familien.",
                              name=" ".join((first, last)), year=birth_year), "first_name")
    return {"first_name": first, "last_name": last, "birth_year": birth_year, "role": role}


def _set_contact(family_id: int, member: FamilyMember) -> None:
    db.session.execute(update(FamilyMember).where(FamilyMember.family_id == family_id, FamilyMember.id != member.id,
                                                  FamilyMember.is_contact.is_(True)).values(is_contact=False))
    member.is_contact = True


def _add_member(family: Family, *, actor: User, first_name: str, last_name: str, birth_year: int, role: str,
                is_contact: bool = False) -> FamilyMember:
    member = FamilyMember(family_id=family.id, is_contact=False,
                          **_member_fields(family.id, first_name, last_name, birth_year, role))
    db.session.add(member)
    db.session.flush()
    if is_contact:
        _set_contact(family.id, member)
        db.session.flush()
    audit.record(AuditAction.MEMBER_CREATE, actor=actor, family_id=family.id, object_type="family_member",
                 object_id=member.id, summary={"role": role, "is_contact": bool(is_contact)})
    return member


def add_member(access: Access, *, actor: User, first_name: str, last_name: str, birth_year: int, role: str,
               is_contact: bool = False) -> FamilyMember:
    """Add a household member: names, birth year and role. No national identity numbers, ever."""
    access.require_consent()
    return _add_member(access.family, actor=actor, first_name=first_name, last_name=last_name,
                       birth_year=birth_year, role=role, is_contact=is_contact)


def update_member(access: Access, member: FamilyMember, *, actor: User, first_name: str, last_name: str,
                  birth_year: int, role: str, is_contact: bool) -> FamilyMember:
    access.require_consent()
    if member.family_id != access.family.id:
        raise ServiceError(_("Personen hører ikke til familien."), "member_id", status=404)
    fields = _member_fields(member.family_id, first_name, last_name, birth_year, role, exclude_id=member.id)
    changed = [k for k, v in fields.items() if getattr(member, k) != v]
    for key, value in fields.items():
        setattr(member, key, value)
    if is_contact and not member.is_contact:
        _set_contact(member.family_id, member)
        changed.append("is_contact")
    elif not is_contact and member.is_contact:
        member.is_contact = False
        changed.append("is_contact")
    db.session.flush()
    audit.record(AuditAction.MEMBER_UPDATE, actor=actor, family_id=member.family_id, object_type="family_member",
                 object_id=member.id, summary={"fields": changed})
    return member
