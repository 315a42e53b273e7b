"""The family API read (issue 19): exactly what ``GET /api/v1/families/<id>`` returns, and nothing else.

The family page needs the whole journey (every rating of every assessment), the board, the open
actions with their owners and the latest meetings; the API read returns a summary of 2–3 KB: the
members, the latest enrolment, the current team and consents, the applicable themes, the latest
overall level and its trend, how many open actions are overdue, the next meeting and why some case
content is hidden. So it reads that: the last two assessments' levels (not every rating), which
(member, theme) pairs have been rated at all (for the hidden reasons; never a level or a note), the
goal themes, the open actions' due dates and goal themes. A fixed number of statements whatever the
history, none of them returning more rows as the history grows except the open actions (the
current plan, not its history).

The output is the same as the family page's read model gives (``tests/cases/test_family_read.py``
compares them); the consent filtering is the same calls of :class:`~velferdslab.cases.access.Access`
(``may_see``/``hidden_reason``), in the same order, so the hidden reasons come out the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Date, case, cast, exists, func, literal, null, select, union_all
from sqlalchemy.orm import aliased, joinedload, load_only

from velferdslab.auth.models import User
from velferdslab.cases.access import Access, unique_reasons
from velferdslab.cases.consent.models import Consent
from velferdslab.cases.enrolment.models import Enrolment
from velferdslab.cases.household import services as household_services
from velferdslab.cases.household.models import FamilyMember
from velferdslab.cases.journey import queries as journey_queries
from velferdslab.cases.journey import services as journey_services
from velferdslab.cases.journey.models import FamilyTheme, JourneyAssessment, ThemeRating
from velferdslab.cases.meetings import queries as meeting_queries
from velferdslab.cases.meetings.models import Meeting
from velferdslab.cases.plan.models import OPEN_ACTION_STATUSES, Action, Goal
from velferdslab.core.models import today_local
from velferdslab.extensions import db
from velferdslab.teams.models import InvestmentTeam, TeamMembership


@dataclass
class FamilyRead:
    """What the API returns about one family (``overview.api._family_out``)."""

    access: Access
    members: list[FamilyMember]
    enrolment: Enrolment | None
    current_team: list[TeamMembership]
    current_consents: list[Consent]
    themes: list[str]
    next_meeting_on: date | None
    today: date
    overall_level: int | None = None
    trend: str | None = None
    overdue_actions: int = 0
    hidden: list[str] = field(default_factory=list)
    # The current consents are never superseded (that is what makes them current).
    superseded_consent_ids: set[int] = field(default_factory=set)

    @property
    def gated(self) -> bool:
        return self.access.gated


def _reasons(access: Access, pairs, kind: str) -> list[str]:
    """The hidden reasons of items given as (subject member id, theme), in the items' order, once each."""
    reasons: list[str] = []
    for subject, theme in pairs:
        if not access.may_see(subject, theme, kind):
            reason = access.hidden_reason(subject, theme, kind)
            if reason not in reasons:
                reasons.append(reason)
    return reasons


def family_read(access: Access) -> FamilyRead:
    """The family API read, in a fixed number of statements (see the module's docstring)."""
    family_id, gated = access.family.id, access.gated
    today = today_local()
    members = household_services.family_members(family_id)
    enrolment_query = (select(Enrolment).where(Enrolment.family_id == family_id)
                       .order_by(Enrolment.referred_on.desc(), Enrolment.id.desc()).limit(1))
    if gated:  # why the family was referred is case content
        enrolment_query = enrolment_query.options(load_only(Enrolment.id, Enrolment.family_id, Enrolment.lab_id,
                                                            Enrolment.status, Enrolment.referred_on,
                                                            Enrolment.started_on, Enrolment.closed_on))
    enrolment = db.session.scalar(enrolment_query)
    newer = aliased(Consent)
    consents = list(db.session.scalars(
        select(Consent).where(Consent.family_id == family_id,
                              ~exists(select(literal(1)).select_from(newer).where(newer.supersedes_id == Consent.id)))
        .order_by(Consent.recorded_at, Consent.id)))
    overrides = {theme: applicable for theme, applicable in db.session.execute(
        select(FamilyTheme.theme, FamilyTheme.applicable).where(FamilyTheme.family_id == family_id))}
    team: list[TeamMembership] = []
    if enrolment is not None:
        team = list(db.session.scalars(
            select(TeamMembership).join(InvestmentTeam, InvestmentTeam.id == TeamMembership.team_id)
            .where(InvestmentTeam.family_id == family_id, InvestmentTeam.enrolment_id == enrolment.id,
                   TeamMembership.start_date <= today,
                   TeamMembership.end_date.is_(None) | (TeamMembership.end_date >= today))
            # The team's names and agencies; not their roles (User.role_rows is selectin-loaded otherwise).
            .options(joinedload(TeamMembership.user).lazyload(User.role_rows), joinedload(TeamMembership.agency))
            .order_by(TeamMembership.role, TeamMembership.start_date, TeamMembership.id)))
    meeting_count, next_meeting_on = db.session.execute(
        select(func.count(), meeting_queries.planned_next_meeting_column(today)).select_from(Meeting)
        .where(Meeting.family_id == family_id)).one()
    read = FamilyRead(access=access, members=members, enrolment=enrolment, current_team=team,
                      current_consents=consents, themes=journey_services.applicable_theme_codes(members, overrides),
                      next_meeting_on=next_meeting_on, today=today)
    if gated:
        return read

    # The journey: the last two current assessments' overall levels, and which (subject, theme)
    # pairs are rated at all, in the order of their first rating (the order the page's filter meets them).
    levels: list[int | None] = [level for _id, level in reversed(db.session.execute(
        select(JourneyAssessment.id, JourneyAssessment.overall_level)
        .where(JourneyAssessment.family_id == family_id, JourneyAssessment.is_current.is_(True))
        .order_by(JourneyAssessment.assessed_on.desc(), JourneyAssessment.id.desc()).limit(2)).all())]
    history_hidden: list[str] = []
    if levels:
        first = func.min(ThemeRating.id)
        rated = db.session.execute(
            select(ThemeRating.subject_member_id, ThemeRating.theme, first)
            .join(JourneyAssessment, JourneyAssessment.id == ThemeRating.assessment_id)
            .where(JourneyAssessment.family_id == family_id, JourneyAssessment.is_current.is_(True))
            .group_by(ThemeRating.subject_member_id, ThemeRating.theme).order_by(first)).all()
        history_hidden = _reasons(access, [(subject, theme) for subject, theme, _first in rated], "rating")
        if not access.may_see(None, None, "level"):
            history_hidden.append(access.hidden_reason(None, None, "level"))
            levels = [None for _level in levels]
    read.overall_level = levels[-1] if levels else None
    read.trend = journey_queries.trend(levels)

    # The plan: the goals' themes (a goal is the household's), the open actions' due dates and themes.
    # One statement: the goals' themes (in theme order), then the open actions' themes and due dates
    # (in the page's order: by due date, undated last).
    goal_rows = select(literal("goal").label("kind"), Goal.theme.label("theme"), cast(null(), Date).label("due_on"),
                       literal(0).label("undated"), literal(0).label("id")).where(Goal.family_id == family_id) \
        .distinct()
    action_rows = (select(literal("action"), Goal.theme, Action.due_on, case((Action.due_on.is_(None), 1), else_=0),
                          Action.id)
                   .select_from(Action).outerjoin(Goal, Goal.id == Action.goal_id)
                   .where(Action.family_id == family_id, Action.status.in_(OPEN_ACTION_STATUSES)))
    plan = union_all(goal_rows, action_rows).subquery()
    rows = db.session.execute(select(plan.c.kind, plan.c.theme, plan.c.due_on)
                              .order_by(plan.c.kind.desc(), plan.c.undated, plan.c.due_on, plan.c.id,
                                        plan.c.theme)).all()
    goals_hidden = _reasons(access, [(None, theme) for kind, theme, _due in rows if kind == "goal"], "goal")
    actions = [(theme, due_on) for kind, theme, due_on in rows if kind == "action"]
    actions_hidden = _reasons(access, [(None, theme) for theme, _due in actions], "action")
    read.overdue_actions = sum(1 for theme, due_on in actions
                               if due_on is not None and due_on < today and access.may_see(None, theme, "action"))
    notes = meeting_queries.notes_hidden(access) if meeting_count else None
    read.hidden = unique_reasons(history_hidden, goals_hidden, actions_hidden, [notes] if notes else [])
    return read
