"""Building and changing investment teams. Services validate, change, audit and flush; never commit.

A team has one investment lead at any time. A user holds at most one membership of a team for
any given day, so "added twice" is an overlap of periods. Ending a membership never deletes it:
the history of who was on the team, and when, is part of the access record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from velferdslab.audit import services as audit
from velferdslab.audit import undo
from velferdslab.audit.actions import AuditAction
from velferdslab.auth.models import User
from velferdslab.core import policy
from velferdslab.core.errors import ConflictError, ForbiddenError, ServiceError
from velferdslab.core.models import today_local
from velferdslab.extensions import db
from velferdslab.teams.models import MEMBERSHIP_ROLES, InvestmentTeam, TeamMembership, TeamRole


def current_team(family_id: int) -> InvestmentTeam | None:
    """The team of the family's latest enrolment (one team per enrolment)."""
    return db.session.scalar(select(InvestmentTeam).where(InvestmentTeam.family_id == family_id)
                             .order_by(InvestmentTeam.enrolment_id.desc()).limit(1))


def memberships(team_id: int) -> list[TeamMembership]:
    """Every membership of the team, past and present, with user and agency, in one statement."""
    return list(db.session.scalars(
        select(TeamMembership).where(TeamMembership.team_id == team_id)
        .options(joinedload(TeamMembership.user), joinedload(TeamMembership.agency))
        .order_by(TeamMembership.end_date.is_not(None), TeamMembership.role, TeamMembership.start_date,
                  TeamMembership.id)))


def current_member_ids(team_id: int, on: date | None = None) -> set[int]:
    on = on or today_local()
    return set(db.session.scalars(select(TeamMembership.user_id).where(
        TeamMembership.team_id == team_id, TeamMembership.start_date <= on,
        or_(TeamMembership.end_date.is_(None), TeamMembership.end_date >= on))))


def require_lead(actor: User, team: InvestmentTeam) -> None:
    """Only the team's current investment lead changes the team (``teams.policy``)."""
    if not policy.can(actor, "manage", team):
        raise ForbiddenError(_("Bare investeringslederen for teamet kan endre teamet."), "team")


def _check_candidate(team: InvestmentTeam, user: User | None, role: str) -> User:
    if user is None or user.lab_id != team.lab_id:
        raise ServiceError(_("Brukeren finnes ikke i dette laboratoriet."), "user_id")
    if not user.active:
        raise ServiceError(_("Brukeren er deaktivert."), "user_id")
    if role not in MEMBERSHIP_ROLES:
        raise ServiceError(_("Ukjent rolle i teamet."), "role")
    if role == TeamRole.LEAD and not policy.can(user, "lead", team):
        raise ServiceError(_("Bare brukere med rollen investeringsleder kan lede et team."), "user_id")
    if not policy.can(user, "join", team):
        raise ServiceError(_("Bare teammedlemmer og investeringsledere kan være med i et team."), "user_id")
    return user


def _overlapping(team_id: int, start: date, end: date | None, *, user_id: int | None = None,
                 role: str | None = None, exclude_id: int | None = None):
    query = select(TeamMembership).where(
        TeamMembership.team_id == team_id,
        or_(TeamMembership.end_date.is_(None), TeamMembership.end_date >= start))
    if end is not None:
        query = query.where(TeamMembership.start_date <= end)
    if user_id is not None:
        query = query.where(TeamMembership.user_id == user_id)
    if role is not None:
        query = query.where(TeamMembership.role == role)
    if exclude_id is not None:
        query = query.where(TeamMembership.id != exclude_id)
    return db.session.scalars(query.limit(1)).first()


def _check_period(start: date | None, end: date | None) -> date:
    if start is None:
        raise ServiceError(_("Oppgi når medlemskapet begynner."), "start_date")
    if end is not None and end < start:
        raise ServiceError(_("Medlemskapet kan ikke slutte før det begynte."), "end_date")
    return start


def add_member(team: InvestmentTeam, user: User | None, *, role: str = TeamRole.MEMBER, start_date: date | None = None,
               end_date: date | None = None, actor: User | None = None) -> TeamMembership:
    """Put ``user`` on the team for a period. Refuses a second membership in the same period and a
    second lead."""
    user = _check_candidate(team, user, role)
    start = _check_period(start_date or today_local(), end_date)
    if _overlapping(team.id, start, end_date, user_id=user.id):
        raise ServiceError(_("%(name)s er allerede med i teamet i denne perioden.", name=user.name), "user_id")
    if role == TeamRole.LEAD and _overlapping(team.id, start, end_date, role=TeamRole.LEAD):
        raise ServiceError(_("Teamet har allerede en investeringsleder i denne perioden. "
                             "Bruk «Overlat ledelsen» for å bytte leder."), "role")
    row = TeamMembership(team_id=team.id, family_id=team.family_id, user_id=user.id, agency_id=user.agency_id,
                         role=role, start_date=start, end_date=end_date)
    db.session.add(row)
    db.session.flush()
    policy.forget()  # memberships changed: the next question is asked afresh
    audit.record(AuditAction.TEAM_MEMBER_ADD, actor=actor, lab_id=team.lab_id, family_id=team.family_id,
                 object_type="team_membership", object_id=row.id,
                 summary={"team_id": team.id, "user_id": user.id, "role": role, "agency_id": user.agency_id})
    return row


def check_end_membership(row: TeamMembership, end_date: date | None) -> date:
    """Whether ``row`` may end on ``end_date`` (the refusal :func:`end_membership` would give)."""
    if end_date is None:
        raise ServiceError(_("Oppgi når medlemskapet slutter."), "end_date")
    if end_date < row.start_date:
        raise ServiceError(_("Medlemskapet kan ikke slutte før det begynte."), "end_date")
    if row.role == TeamRole.LEAD and not _overlapping(row.team_id, end_date + timedelta(days=1), None,
                                                      role=TeamRole.LEAD,
                                                exclude_id=row.id):
        raise ServiceError(_("Teamet må ha en investeringsleder. Overlat ledelsen til en annen først."),
                           "end_date")
    return end_date


def end_membership(row: TeamMembership, end_date: date | None, *, actor: User | None = None) -> TeamMembership:
    """End a membership on ``end_date`` (inclusive). The lead hands over with :func:`transfer_lead`.

    The audit row keeps the end date it replaced, so :func:`undo_end_membership` can restore it."""
    end_date = check_end_membership(row, end_date)
    previous = row.end_date
    row.end_date = end_date
    db.session.flush()
    policy.forget()  # memberships changed: the next question is asked afresh
    audit.record(AuditAction.TEAM_MEMBER_END, actor=actor, family_id=row.family_id, object_type="team_membership",
                 object_id=row.id, summary={"team_id": row.team_id, "user_id": row.user_id,
                                            "end_date": end_date, "previous_end_date": previous})
    return row


def _summary_date(summary: dict, key: str) -> date | None:
    value = summary.get(key)
    return date.fromisoformat(value) if isinstance(value, str) else None


def undo_end_membership(team: InvestmentTeam, event_id: object, *, actor: User) -> TeamMembership:
    """Undo ending a membership (issue 13): a new audited change that puts the old end date back.

    Within the undo window, by the lead who ended it, and only while nothing depends on it: the
    membership has not been changed again and the person has not been added to the team anew."""
    require_lead(actor, team)
    event = undo.undoable(event_id, AuditAction.TEAM_MEMBER_END, actor_id=actor.id, family_id=team.family_id)
    summary = event.summary or {}
    row = db.session.get(TeamMembership, int(event.object_id or 0))
    ended_on = _summary_date(summary, "end_date")
    if row is None or row.team_id != team.id or ended_on is None:
        raise ServiceError(_("Fant ikke endringen som skulle angres."), undo.FIELD, status=404)
    if row.end_date != ended_on:
        raise ConflictError(_("Medlemskapet til %(name)s er endret igjen etterpå, så avslutningen kan ikke angres.",
                              name=row.user.name), undo.FIELD)
    previous = _summary_date(summary, "previous_end_date")
    if _overlapping(team.id, ended_on + timedelta(days=1), previous, user_id=row.user_id, exclude_id=row.id):
        raise ConflictError(_("%(name)s er lagt til i teamet på nytt, så avslutningen kan ikke angres.",
                              name=row.user.name), undo.FIELD)
    row.end_date = previous
    db.session.flush()
    policy.forget()  # memberships changed: the next question is asked afresh
    audit.record(AuditAction.TEAM_MEMBER_END_UNDO, actor=actor, family_id=row.family_id,
                 object_type="team_membership", object_id=row.id,
                 summary={"undoes": event.id, "team_id": row.team_id, "user_id": row.user_id,
                          "end_date": previous})
    return row


@dataclass(frozen=True)
class LeadHandover:
    """What handing the lead over would do (checked, not yet done): the confirmation page says it."""

    new_lead: User
    old: TeamMembership
    own: TeamMembership | None  # the new lead's member row, which ends the day before
    on: date


def check_transfer_lead(team: InvestmentTeam, new_lead: User | None, *, on: date | None = None) -> LeadHandover:
    """Whether the lead may pass to ``new_lead`` from ``on`` (the refusal :func:`transfer_lead` would give)."""
    on = on or today_local()
    new_lead = _check_candidate(team, new_lead, TeamRole.LEAD)
    old = _overlapping(team.id, on, on, role=TeamRole.LEAD)
    if old is None:
        raise ServiceError(_("Teamet har ingen investeringsleder å overta fra."), "user_id")
    if old.user_id == new_lead.id:
        raise ServiceError(_("%(name)s leder allerede teamet.", name=new_lead.name), "user_id")
    day_before = on - timedelta(days=1)
    own = _overlapping(team.id, on, None, user_id=new_lead.id)
    for row in (old, own):
        if row is not None and row.start_date > day_before:
            raise ServiceError(_("Lederskiftet må være etter at medlemskapet begynte."), "on")
    return LeadHandover(new_lead, old, own, on)


def transfer_lead(team: InvestmentTeam, new_lead: User | None, *, on: date | None = None,
                  keep_old_as_member: bool = True, actor: User | None = None) -> TeamMembership:
    """Hand the team over to ``new_lead`` from ``on``: the old lead's row ends the day before (they
    stay as a member unless told otherwise), and a member row of the new lead ends too.

    The audit row names every row it changed or added and the end dates it replaced, so
    :func:`undo_transfer_lead` can put the team back as it was."""
    plan = check_transfer_lead(team, new_lead, on=on)
    old, own, on = plan.old, plan.own, plan.on
    day_before = on - timedelta(days=1)
    replaced = {"old_end_date": old.end_date, "own_end_date": own.end_date if own is not None else None}
    old.end_date = day_before
    if own is not None:
        own.end_date = day_before
    db.session.flush()
    policy.forget()  # memberships changed: the next question is asked afresh
    lead_row = TeamMembership(team_id=team.id, family_id=team.family_id, user_id=plan.new_lead.id,
                              agency_id=plan.new_lead.agency_id, role=TeamRole.LEAD, start_date=on)
    db.session.add(lead_row)
    member_row = None
    if keep_old_as_member:
        member_row = TeamMembership(team_id=team.id, family_id=team.family_id, user_id=old.user_id,
                                    agency_id=old.agency_id, role=TeamRole.MEMBER, start_date=on)
        db.session.add(member_row)
    db.session.flush()
    policy.forget()  # memberships changed: the next question is asked afresh
    audit.record(AuditAction.TEAM_LEAD_TRANSFER, actor=actor, lab_id=team.lab_id, family_id=team.family_id,
                 object_type="investment_team", object_id=team.id,
                 summary={"from_user_id": old.user_id, "to_user_id": plan.new_lead.id, "on": on,
                          "old_row_id": old.id, "own_row_id": own.id if own is not None else None,
                          "lead_row_id": lead_row.id, "member_row_id": member_row.id if member_row else None,
                          **replaced})
    return lead_row


def undo_transfer_lead(team: InvestmentTeam, event_id: object, *, actor: User) -> TeamMembership:
    """Undo a handover (issue 13): a new audited change that gives the lead back to who handed it over.

    Within the undo window, by the person who handed over, and only while the new lead has done
    nothing with the family since (no read, no change: their access rested on the new row) and the
    rows the handover made are as it left them. The rows it added go (they were the handover's own
    and held for minutes; both events stay in the audit trail), the rows it ended get their old
    end dates back."""
    event = undo.undoable(event_id, AuditAction.TEAM_LEAD_TRANSFER, actor_id=actor.id, family_id=team.family_id)
    summary = event.summary or {}
    if str(event.object_id) != str(team.id) or not summary.get("lead_row_id"):
        raise ServiceError(_("Fant ikke endringen som skulle angres."), undo.FIELD, status=404)

    def row(key: str) -> TeamMembership | None:
        found = db.session.get(TeamMembership, summary[key]) if summary.get(key) else None
        return found if found is not None and found.team_id == team.id else None

    lead_row, member_row, old, own = row("lead_row_id"), row("member_row_id"), row("old_row_id"), row("own_row_id")
    on = _summary_date(summary, "on")
    day_before = on - timedelta(days=1) if on else None
    if (lead_row is None or old is None or old.end_date != day_before or lead_row.end_date is not None
            or (summary.get("member_row_id") and (member_row is None or member_row.end_date is not None))
            or (own is not None and own.end_date != day_before)):
        raise ConflictError(_("Teamet er endret etter lederskiftet, så det kan ikke angres."), undo.FIELD)
    if undo.acted_since(event, lead_row.user_id):
        raise ConflictError(_("%(name)s har allerede arbeidet med familien som investeringsleder, så lederskiftet "
                              "kan ikke angres. Be %(name)s om å overlate ledelsen tilbake.",
                              name=lead_row.user.name), undo.FIELD)
    removed = [r.id for r in (lead_row, member_row) if r is not None]
    for added in (lead_row, member_row):
        if added is not None:
            db.session.delete(added)
    db.session.flush()
    old.end_date = _summary_date(summary, "old_end_date")
    if own is not None:
        own.end_date = _summary_date(summary, "own_end_date")
    db.session.flush()
    policy.forget()  # memberships changed: the next question is asked afresh
    audit.record(AuditAction.TEAM_LEAD_TRANSFER_UNDO, actor=actor, lab_id=team.lab_id, family_id=team.family_id,
                 object_type="investment_team", object_id=team.id,
                 summary={"undoes": event.id, "lead_user_id": old.user_id, "removed_row_ids": removed})
    return old


def create_team(*, lab_id: int, family_id: int, enrolment_id: int, lead: User, start_date: date,
                actor: User | None = None) -> InvestmentTeam:
    """A new team for an enrolment, led from ``start_date`` by ``lead``."""
    team = InvestmentTeam(lab_id=lab_id, family_id=family_id, enrolment_id=enrolment_id)
    db.session.add(team)
    db.session.flush()
    audit.record(AuditAction.TEAM_CREATE, actor=actor, lab_id=lab_id, family_id=family_id,
                 object_type="investment_team",
                 object_id=team.id, summary={"enrolment_id": enrolment_id})
    add_member(team, lead, role=TeamRole.LEAD, start_date=start_date, actor=actor)
    return team


def carry_over(old: InvestmentTeam, new: InvestmentTeam, on: date, *, actor: User | None = None) -> int:
    """Move the current members of ``old`` to ``new`` from ``on`` (a re-enrolment keeps its team).

    Each old row ends the day before (or, if it began that day, on the day itself); the lead of the
    new team is already there and is skipped. Returns how many memberships moved.
    """
    moved = 0
    present = {m.user_id for m in memberships(new.id)}
    for row in memberships(old.id):
        if not row.is_current(on) and not (row.start_date > on):
            continue
        row.end_date = max(row.start_date, on - timedelta(days=1))
        if row.user_id in present:
            continue
        role = TeamRole.MEMBER if row.role == TeamRole.LEAD else row.role
        db.session.add(TeamMembership(team_id=new.id, family_id=new.family_id, user_id=row.user_id,
                                      agency_id=row.agency_id, role=role,
                                      start_date=on))
        present.add(row.user_id)
        moved += 1
    db.session.flush()
    policy.forget()  # memberships changed: the next question is asked afresh
    if moved:
        audit.record(AuditAction.TEAM_CARRY_OVER, actor=actor, lab_id=new.lab_id, family_id=new.family_id,
                     object_type="investment_team", object_id=new.id,
                     summary={"from_team_id": old.id, "moved": moved})
    return moved
