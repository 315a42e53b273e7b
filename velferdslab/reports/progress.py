"""The family's progress report (*fremdriftsrapport*): what goes into it, in a fixed number of
statements whatever the length of the family's history.

The journey comes from ``cases.journey.queries.journey_history`` and is drawn by ``cases.chart`` — the
same chart and table as on the family page. Access is checked by the caller (``cases.access``).
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date

from flask import current_app, has_request_context, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload

from velferdslab.budget.models import SpendRequest
from velferdslab.cases import chart as journey_chart
from velferdslab.cases import rules
from velferdslab.cases.access import Access, unique_reasons
from velferdslab.cases.enrolment import queries as enrolment_queries
from velferdslab.cases.enrolment import services as enrolment_services
from velferdslab.cases.enrolment.models import Enrolment
from velferdslab.cases.journey import queries as journey_queries
from velferdslab.cases.journey import services as journey_services
from velferdslab.cases.meetings import queries as meeting_queries
from velferdslab.cases.plan import queries as plan_queries
from velferdslab.cases.plan import services as plan_services
from velferdslab.cases.plan.models import Action, Goal
from velferdslab.cases.themes import THEME_BY_CODE
from velferdslab.core import pdf
from velferdslab.core.errors import ServiceError
from velferdslab.core.i18n import OSLO
from velferdslab.core.models import today_local, utcnow
from velferdslab.extensions import db

LANGUAGES = ("nb", "en")
PERIOD_MONTHS = 6  # the default period: the last half-year, what a family can take in before a meeting


@dataclass
class SpendLine:
    spend: SpendRequest
    goal_text: str | None

    @property
    def on(self) -> date:
        return self.spend.paid_on or (self.spend.decided_at.date() if self.spend.decided_at else self.spend.wanted_on)


@dataclass
class ProgressReport:
    access: Access
    start: date
    end: date
    enrolment: Enrolment | None
    team: list
    history: journey_queries.JourneyHistory
    themes: list[str]
    goals: list[Goal]
    actions_by_goal: dict[int | None, list[Action]]
    goals_left_out: int
    actions_left_out: int
    meetings: list[meeting_queries.MeetingRow]
    spend_by_theme: dict[str, list[SpendLine]]
    next_steps: list[Action]
    overdue: int
    next_meeting_on: date | None
    today: date = field(default_factory=today_local)
    # What the reader's consents do not cover (issue 15): the reasons, never the content.
    hidden: list[str] = field(default_factory=list)

    @property
    def family(self):
        return self.access.family

    @property
    def team_by_agency(self) -> list[tuple[str, list]]:
        """The current team grouped by the agency each member represents (lead first)."""
        groups: dict[str, list] = defaultdict(list)
        for m in self.team:
            if m.is_current(self.today):
                groups[m.agency.name if m.agency else ""].append(m)
        return sorted(groups.items(), key=lambda item: (item[0] == "", item[0]))

    @property
    def latest(self):
        return self.history.latest

    @property
    def first(self):
        return self.history.points[0] if self.history.points else None

    @property
    def table_points(self) -> list:
        """The rows of the journey table: the first assessment (where they started), every
        assessment in the period and the latest (where they are now), newest first. The charts
        show the whole enrolment."""
        points = self.history.points
        rows = [p for p in points[1:-1] if self.start <= p.assessed_on <= self.end]
        return list(reversed(points[:1] + rows + points[1:][-1:]))

    @property
    def disagreements(self) -> list[str]:
        """Themes where the perspectives differ in the latest assessment."""
        point = self.latest
        return [t for t in self.history.rated_themes() if point and point.disagrees(t)]

    @property
    def spend_total(self) -> int:
        return sum(line.spend.amount for lines in self.spend_by_theme.values() for line in lines)

    def theme_name(self, code: str) -> str:
        return str(THEME_BY_CODE[code].name)


def default_period(enrolment: Enrolment | None, today: date, end: date | None = None) -> tuple[date, date]:
    """The ``PERIOD_MONTHS`` months up to ``end`` (default today), from the start of the current
    enrolment (or its referral) when that is later. For a closed enrolment the months are the
    last ones in the lab, and the period runs on to ``end`` so the follow-ups after closure are in it."""
    end = end or today
    if enrolment is None:
        return end, end
    began = enrolment.started_on or enrolment.referred_on
    anchor = min(end, enrolment.closed_on) if enrolment.status == "closed" and enrolment.closed_on else end
    return min(max(began, rules.add_months(anchor, -PERIOD_MONTHS)), end), end


def resolve_period(family_id: int, start: date | None, end: date | None) -> tuple[date, date]:
    """The period a request asks for, the missing end(s) filled in as the report does; an empty
    period (start after end) is a ``ServiceError`` on the field that was given."""
    default_start, default_end = default_period(enrolment_services.current_enrolment(family_id), today_local(), end)
    field = "til" if end is not None else "fra"
    start, end = start or default_start, end or default_end
    if start > end:
        raise ServiceError(_("Perioden er tom: fra-datoen er etter til-datoen."), field)
    return start, end


def _local_day(stamp) -> date:
    return stamp.astimezone(OSLO).date()


def in_period(item: Action | Goal, start: date, end: date,
              open_statuses: tuple[str, ...] = plan_services.OPEN_ACTION_STATUSES) -> bool:
    """An action (or goal) belongs in the period's report when it existed by the period's end and
    was not finished before it began: still open, or done or dropped (its last change) in the
    period or after it."""
    if _local_day(item.created_at) > end:
        return False
    return item.status in open_statuses or _local_day(item.updated_at) >= start


def _existed_by(item: Action | Goal, end: date) -> bool:
    return _local_day(item.created_at) <= end


def _overdue(action: Action, today: date) -> bool:
    return action.due_on is not None and action.due_on < today


def build(access: Access, start: date | None = None, end: date | None = None) -> ProgressReport:
    """Collect the report. ``start``/``end`` bound the journey table, the actions, the meetings and
    the spend; the charts and the start-and-now table cover the whole enrolment, so the family sees
    where it began. Goals and actions are listed when they were open at some time in the period
    (``in_period``); the report says how many it leaves out because they were finished before.
    The next steps are the open actions due today or later (or without a date); open actions past
    their date are counted there and stay in the goals' table (or, when the table does not list
    them — a past period — are among the next steps)."""
    family_id = access.family.id
    today = today_local()
    enrolment = enrolment_services.current_enrolment(family_id)
    default_start, default_end = default_period(enrolment, today, end)
    start, end = start or default_start, end or default_end
    themes = journey_services.applicable_themes(family_id)
    history = journey_queries.journey_history(family_id, themes, access)
    history.points = [p for p in history.points if p.assessed_on <= end
                      and (enrolment is None or p.assessed_on >= enrolment.referred_on)]
    goals_shown = plan_queries.visible_goals(access, list(db.session.scalars(
        select(Goal).where(Goal.family_id == family_id).order_by(Goal.theme, Goal.horizon, Goal.id))))
    actions_shown = plan_queries.visible_actions(access, plan_queries.all_actions(family_id))
    all_goals, actions = goals_shown.items, actions_shown.items
    shown = [a for a in actions if in_period(a, start, end)]
    actions_by_goal: dict[int | None, list[Action]] = defaultdict(list)
    for action in shown:
        actions_by_goal[action.goal_id].append(action)
    goals = [g for g in all_goals if g.id in actions_by_goal or in_period(g, start, end, ("open",))]
    open_actions = [a for a in actions if a.status in plan_services.OPEN_ACTION_STATUSES]
    listed = {a.id for a in shown}
    meetings = [row for row in meeting_queries.meetings(access) if start <= row.meeting.held_on <= end]
    meetings.sort(key=lambda row: row.meeting.held_on)
    next_meeting = meeting_queries.next_meeting_on(family_id, today)
    spend = access.hide(spend_lines(family_id, start, end), "spend", theme=lambda line: line.spend.theme,
                        subject=lambda _line: None)
    return ProgressReport(
        access=access, start=start, end=end, enrolment=enrolment,
        team=enrolment_queries.team_rows(family_id, enrolment.id if enrolment else None), history=history,
        themes=themes, goals=goals, actions_by_goal=actions_by_goal,
        goals_left_out=sum(1 for g in all_goals if _existed_by(g, end) and g not in goals),
        actions_left_out=sum(1 for a in actions if _existed_by(a, end)) - len(shown),
        meetings=meetings, spend_by_theme=by_theme(spend.items),
        next_steps=[a for a in open_actions if not _overdue(a, today) or a.id not in listed],
        overdue=sum(1 for a in open_actions if _overdue(a, today) and a.id in listed),
        next_meeting_on=next_meeting, today=today,
        hidden=unique_reasons(history.hidden, goals_shown.hidden, actions_shown.hidden,
                              [row.hidden for row in meetings if row.hidden], spend.hidden))


def spend_in_period(family_id: int, start: date, end: date) -> dict[str, list[SpendLine]]:
    """Approved and paid spend in the period, by theme, with the goal it serves (every theme: the
    report itself shows only those the reader's agency has consent for, see :func:`build`)."""
    return by_theme(spend_lines(family_id, start, end))


def spend_lines(family_id: int, start: date, end: date) -> list[SpendLine]:
    """Approved and paid spend in the period, with the goal it serves, in theme order."""
    paid_in = and_(SpendRequest.status == "paid", SpendRequest.paid_on.between(start, end))
    approved_in = and_(SpendRequest.status == "approved", SpendRequest.wanted_on.between(start, end))
    rows = db.session.scalars(select(SpendRequest).where(SpendRequest.family_id == family_id, or_(paid_in, approved_in))
                              .options(joinedload(SpendRequest.goal))
                              .order_by(SpendRequest.theme, SpendRequest.paid_on, SpendRequest.id))
    return [SpendLine(spend, spend.goal.text if spend.goal else None) for spend in rows]


def by_theme(lines: list[SpendLine]) -> dict[str, list[SpendLine]]:
    grouped: dict[str, list[SpendLine]] = defaultdict(list)
    for line in lines:
        grouped[line.spend.theme].append(line)
    return {code: grouped[code] for code in THEME_BY_CODE if code in grouped}


# --- rendering ----------------------------------------------------------------------------------

def context(report: ProgressReport) -> dict:
    """The template context; the label tables (level and theme names…) are Jinja globals."""
    history = report.history
    # The family page's own charts, sized for A4 (two theme charts side by side, so their text
    # prints at its real size) and embedded as images: far cheaper for WeasyPrint than inline SVG,
    # and tagged as figures with the chart's description as alternative text.
    themes = journey_chart.journey_charts(history, width=320, height=130, id_prefix="report-journey")
    for item in themes:
        item["svg"] = pdf.svg_image(item["svg"])
    return {"report": report, "history": history, "printed_at": utcnow(), "swatch": journey_chart.legend_swatch,
            "charts": {"overall": pdf.svg_image(journey_chart.overall_chart(history, chart_id="report-overall",
                                                                            width=640)),
                       "themes": themes}}


def render_html(report: ProgressReport, language: str = "nb") -> str:
    with force_locale(language):
        return render_template("reports/progress_pdf.html", lang=language, **context(report))


def render_progress_pdf(access: Access, *, start: date | None = None, end: date | None = None,
                        language: str = "nb", actor=None) -> bytes:
    """The progress report as PDF bytes, through ``core.pdf``.

    Access must already be checked and the caller records the audit row (the page and the API
    record ``family.report_pdf``; the batch queue its own event). Outside a request (a queue
    worker) a request context is made so templates can build the static URLs. ``actor`` is
    accepted for callers that pass it; the report does not depend on who renders it.
    """
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}")
    scope = nullcontext() if has_request_context() else current_app.test_request_context("/")
    with scope:
        html = render_html(build(access, start, end), language)
    return pdf.render_pdf(html, lang=language)
