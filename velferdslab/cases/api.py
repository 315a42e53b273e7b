"""JSON API for families and their case: members, enrolment, consent, themes, assessments, the
plan and meetings. Same rules as the pages: off the team is the audited 404 of a family that does
not exist; a gated member (no valid consent for their agency) gets the family's name, team and
meeting dates and attendees, and 403 for the rest. Every read of a family's data is audited.
"""

from __future__ import annotations

from flask import abort
from flask.views import MethodView
from flask_login import current_user
from sqlalchemy import select

from velferdslab.audit import services as audit
from velferdslab.cases import queries, schemas, services
from velferdslab.cases.access import Access, require_family
from velferdslab.cases.consent.models import Consent
from velferdslab.cases.enrolment.models import Enrolment
from velferdslab.cases.household.models import FamilyMember
from velferdslab.cases.journey.models import JourneyAssessment
from velferdslab.cases.meetings.models import Meeting
from velferdslab.cases.plan.models import Action, Goal
from velferdslab.cases.themes import THEMES
from velferdslab.core.api import Blueprint
from velferdslab.core.models import today_local
from velferdslab.core.permissions import LOGIN, requires
from velferdslab.extensions import db

blueprint = Blueprint("cases_api", __name__, url_prefix="/api/v1",
                      description="Families, members, enrolment, consent, journey assessments, plan and meetings")


def _user():
    return current_user._get_current_object()


def _access(family_id: int, *, content: bool = False) -> Access:
    access = require_family(current_user, family_id)
    if content:
        access.require_consent()
    return access


def _read(access: Access, action: str, object_type: str = "family", object_id=None, **summary) -> None:
    audit.record(action, family_id=access.family.id, object_type=object_type,
                 object_id=object_id if object_id is not None else access.family.id, purpose="api",
                 summary=summary or None)


def _own(model, object_id: int, family_id: int):
    row = db.session.get(model, object_id)
    if row is None or row.family_id != family_id:
        abort(404)
    return row


# --- output helpers ------------------------------------------------------------------------------

def _member_out(member: FamilyMember, gated: bool) -> dict:
    out = {"id": member.id, "first_name": member.first_name, "last_name": member.last_name, "role": member.role,
           "is_contact": member.is_contact}
    if not gated:
        out["birth_year"] = member.birth_year
    return out


def _enrolment_out(enrolment: Enrolment | None, gated: bool) -> dict | None:
    if enrolment is None:
        return None
    out = {k: getattr(enrolment, k) for k in ("id", "status", "referred_on", "referred_by_agency_id", "started_on",
                                              "closed_on", "close_reason")}
    if not gated:
        out["referral_reason"] = enrolment.referral_reason
    out["follow_ups"] = services.follow_up_dates(enrolment)
    return out


def _membership_out(m) -> dict:
    return {"id": m.id, "user_id": m.user_id, "name": m.user.name, "agency_id": m.agency_id,
            "agency": m.agency.name if m.agency else None, "role": m.role, "start_date": m.start_date,
            "end_date": m.end_date}


def _consent_out(consent: Consent, superseded: set[int], today) -> dict:
    return {**{k: getattr(consent, k) for k in ("id", "agency_id", "purpose", "given_by_member_id", "given_on",
                                                "expires_on", "withdrawn_on", "supersedes_id")},
            "current": consent.id not in superseded,
            "valid": services.consent_is_valid(consent, today, superseded)}


def _family_out(page: queries.FamilyPage) -> dict:
    access, gated = page.access, page.gated
    out = {"id": access.family.id, "household_name": access.family.household_name,
           "language": access.family.language, "interpreter_needed": access.family.interpreter_needed,
           "gated": gated, "is_lead": access.is_lead, "members": [_member_out(m, gated) for m in page.members],
           "enrolment": _enrolment_out(page.enrolment, gated), "team": [_membership_out(m) for m in page.current_team],
           "consents": [_consent_out(c, page.superseded_consent_ids, page.today) for c in page.current_consents],
           "next_meeting_on": page.next_meeting_on}
    if not gated:
        latest = page.history.latest if page.history else None
        out.update(themes=page.themes, overall_level=latest.overall_level if latest else None, trend=page.trend,
                   overdue_actions=len(page.overdue_actions))
    return out


def _assessment_out(row: JourneyAssessment, versions: list[int] | None = None) -> dict:
    out = {k: getattr(row, k) for k in ("id", "assessed_on", "kind", "version", "is_current", "supersedes_id",
                                        "meeting_id", "overall_level", "suggested_level", "override_reason",
                                        "correction_reason", "created_at")}
    out["ratings"] = [{"theme": r.theme, "perspective": r.perspective, "level": r.level, "note": r.note}
                      for r in row.ratings]
    if versions is not None:
        out["versions"] = versions
    return out


def _action_out(action: Action) -> dict:
    out = {k: getattr(action, k) for k in ("id", "title", "owner_user_id", "owner_is_family", "due_on", "review_on",
                                           "goal_id", "status", "meeting_id")}
    out["overdue"] = services.is_overdue(action)
    return out


def _meeting_out(meeting: Meeting, staff_ids, member_ids, gated: bool, assessment_id=None, action_ids=()) -> dict:
    out = {"id": meeting.id, "held_on": meeting.held_on, "next_meeting_on": meeting.next_meeting_on,
           "attendee_user_ids": list(staff_ids), "attendee_member_ids": list(member_ids)}
    if not gated:
        out.update(notes=meeting.notes, decisions=meeting.decisions, assessment_id=assessment_id,
                   action_ids=list(action_ids))
    return out


# --- families ------------------------------------------------------------------------------------

@blueprint.route("/families")
class Families(MethodView):
    @requires("families.work")
    @blueprint.arguments(schemas.FamilyQuerySchema, location="query")
    @blueprint.response(200, schemas.FamilyListItemSchema(many=True))
    def get(self, args):
        """The families you are on the team of (*Mine familier*), or those whose name matches `q`."""
        summaries = queries.my_families(current_user)
        if args.get("q"):
            hits = {a.family.id for a in queries.search_families(current_user, args["q"])}
            summaries = [s for s in summaries if s.family.id in hits]
        audit.record_for_families("family.list", {s.family.id: {"gated": s.access.gated} for s in summaries},
                                  purpose="api")
        out = []
        for s in summaries:
            row = {"id": s.family.id, "household_name": s.family.household_name, "gated": s.access.gated,
                   "is_lead": s.access.is_lead, "status": s.enrolment.status if s.enrolment else None,
                   "next_meeting_on": s.next_meeting_on}
            if not s.access.gated:
                row.update(overall_level=s.level, trend=s.trend, open_actions=s.open_actions,
                           overdue_actions=s.overdue_actions, assessment_due=[kind for kind, _when in s.due])
            out.append(row)
        return out

    @requires("teams.manage")
    @blueprint.arguments(schemas.FamilyCreateSchema)
    @blueprint.response(201, schemas.FamilySchema)
    def post(self, data):
        """Register a referred family; you become the lead of its investment team."""
        family = services.create_family(current_user.lab, actor=_user(), **data)
        return _family_out(queries.family_page(_access(family.id)))


@blueprint.route("/families/<int:family_id>")
class FamilyById(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.FamilySchema)
    def get(self, family_id: int):
        """One family: members, enrolment, team, consent and (with consent) the journey's latest level."""
        access = _access(family_id)
        page = queries.family_page(access)
        _read(access, "family.view", gated=access.gated)
        return _family_out(page)

    @requires(LOGIN)
    @blueprint.arguments(schemas.FamilyUpdateSchema)
    @blueprint.response(200, schemas.FamilySchema)
    def patch(self, data, family_id: int):
        access = _access(family_id, content=True)
        family = access.family
        merged = {"household_name": family.household_name, "language": family.language,
                  "interpreter_needed": family.interpreter_needed, **data}
        services.update_family(access, actor=_user(), **merged)
        return _family_out(queries.family_page(access))


# --- members -------------------------------------------------------------------------------------

@blueprint.route("/families/<int:family_id>/members")
class Members(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.MemberSchema(many=True))
    def get(self, family_id: int):
        """Household members (a gated member gets names and roles only)."""
        access = _access(family_id)
        _read(access, "member.list")
        return [_member_out(m, access.gated) for m in services.family_members(family_id)]

    @requires(LOGIN)
    @blueprint.arguments(schemas.MemberSchema)
    @blueprint.response(201, schemas.MemberSchema)
    def post(self, data, family_id: int):
        """Add a member. No national identity numbers: the schema has no field for one."""
        access = _access(family_id, content=True)
        return _member_out(services.add_member(access, actor=_user(), **data), False)


@blueprint.route("/families/<int:family_id>/members/<int:member_id>")
class MemberById(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.MemberUpdateSchema)
    @blueprint.response(200, schemas.MemberSchema)
    def patch(self, data, family_id: int, member_id: int):
        access = _access(family_id, content=True)
        member = _own(FamilyMember, member_id, family_id)
        merged = {k: getattr(member, k) for k in ("first_name", "last_name", "birth_year", "role", "is_contact")}
        merged.update(data)
        return _member_out(services.update_member(access, member, actor=_user(), **merged), False)


# --- enrolment -----------------------------------------------------------------------------------

@blueprint.route("/families/<int:family_id>/enrolments")
class Enrolments(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.EnrolmentSchema(many=True))
    def get(self, family_id: int):
        """Every enrolment of the family, oldest first (re-enrolment keeps the history)."""
        access = _access(family_id, content=True)
        _read(access, "enrolment.view")
        return [_enrolment_out(e, False) for e in services.enrolments(family_id)]

    @requires(LOGIN)
    @blueprint.arguments(schemas.ReferralSchema)
    @blueprint.response(201, schemas.EnrolmentSchema)
    def post(self, data, family_id: int):
        """Refer a closed family again (team lead): a new enrolment and team; the old stay."""
        access = _access(family_id, content=True)
        return _enrolment_out(services.re_enrol(access, actor=_user(), **data), False)


@blueprint.route("/families/<int:family_id>/enrolments/<int:enrolment_id>/activate")
class EnrolmentActivate(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.EnrolmentActivateSchema)
    @blueprint.response(200, schemas.EnrolmentSchema)
    def post(self, data, family_id: int, enrolment_id: int):
        """referred → active (team lead)."""
        access = _access(family_id, content=True)
        enrolment = _own(Enrolment, enrolment_id, family_id)
        return _enrolment_out(services.activate_enrolment(access, enrolment, actor=_user(), **data), False)


@blueprint.route("/families/<int:family_id>/enrolments/<int:enrolment_id>/close")
class EnrolmentClose(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.EnrolmentCloseSchema)
    @blueprint.response(200, schemas.EnrolmentSchema)
    def post(self, data, family_id: int, enrolment_id: int):
        """active → closed with a reason (team lead); follow-ups fall due after 6 and 12 months."""
        access = _access(family_id, content=True)
        enrolment = _own(Enrolment, enrolment_id, family_id)
        return _enrolment_out(services.close_enrolment(access, enrolment, actor=_user(), **data), False)


# --- consent -------------------------------------------------------------------------------------

@blueprint.route("/families/<int:family_id>/consents")
class Consents(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.ConsentSchema(many=True))
    def get(self, family_id: int):
        """Every consent row, superseded ones included (`current` marks the live row)."""
        access = _access(family_id)
        rows = services.consents(family_id)
        superseded = {c.supersedes_id for c in rows if c.supersedes_id}
        _read(access, "consent.view")
        return [_consent_out(c, superseded, today_local()) for c in rows]

    @requires(LOGIN)
    @blueprint.arguments(schemas.ConsentSchema)
    @blueprint.response(201, schemas.ConsentSchema)
    def post(self, data, family_id: int):
        """Record (or renew) a consent. A child under the lab's consent age cannot give one."""
        access = _access(family_id)
        row = services.give_consent(access, actor=_user(), **data)
        return _consent_out(row, set(), today_local())


@blueprint.route("/families/<int:family_id>/consents/<int:consent_id>/withdraw")
class ConsentWithdraw(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.ConsentWithdrawSchema)
    @blueprint.response(201, schemas.ConsentSchema)
    def post(self, data, family_id: int, consent_id: int):
        """Withdraw a consent: a new row supersedes it; nothing is edited."""
        access = _access(family_id)
        consent = _own(Consent, consent_id, family_id)
        row = services.withdraw_consent(access, consent, actor=_user(), **data)
        return _consent_out(row, set(), today_local())


# --- themes --------------------------------------------------------------------------------------

def _themes_out(family_id: int) -> list[dict]:
    members = services.family_members(family_id)
    applicable = set(services.applicable_theme_codes(members, services.theme_overrides(family_id)))
    return [{"code": t.code, "name": str(t.name), "description": str(t.description),
             "applicable": t.code in applicable, "default": services.default_applicable(t.code, members)}
            for t in THEMES]


@blueprint.route("/families/<int:family_id>/themes")
class Themes(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.ThemeSchema(many=True))
    def get(self, family_id: int):
        """The seven themes and whether each applies to this family."""
        access = _access(family_id, content=True)
        _read(access, "family.themes_view")
        return _themes_out(family_id)


@blueprint.route("/families/<int:family_id>/themes/<string:theme>")
class ThemeByCode(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.ThemeApplicabilitySchema)
    @blueprint.response(200, schemas.ThemeSchema(many=True))
    def put(self, data, family_id: int, theme: str):
        """Override whether a theme applies to the family."""
        access = _access(family_id, content=True)
        services.set_theme_applicability(access, theme, data["applicable"], actor=_user())
        return _themes_out(family_id)


# --- assessments ---------------------------------------------------------------------------------

@blueprint.route("/families/<int:family_id>/assessments")
class Assessments(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.AssessmentSchema(many=True))
    def get(self, family_id: int):
        """The current version of every assessment, oldest first, with all ratings."""
        access = _access(family_id, content=True)
        history = queries.journey_history(family_id)
        _read(access, "assessment.list", count=len(history.points))
        return [{"id": p.id, "assessed_on": p.assessed_on, "kind": p.kind, "version": p.version, "is_current": True,
                 "meeting_id": p.meeting_id, "overall_level": p.overall_level, "suggested_level": p.suggested_level,
                 "override_reason": p.override_reason,
                 "ratings": [{"theme": t, "perspective": pp, "level": lvl, "note": note}
                             for (t, pp), (lvl, note) in p.ratings.items()]} for p in history.points]

    @requires(LOGIN)
    @blueprint.arguments(schemas.AssessmentCreateSchema)
    @blueprint.response(201, schemas.AssessmentSchema)
    def post(self, data, family_id: int):
        """A new assessment of every applicable theme; omit `overall_level` to take the suggestion."""
        access = _access(family_id, content=True)
        return _assessment_out(services.create_assessment(access, actor=_user(), **data))


@blueprint.route("/families/<int:family_id>/assessments/<int:assessment_id>")
class AssessmentById(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.AssessmentSchema)
    def get(self, family_id: int, assessment_id: int):
        """One version of an assessment, with the ids of all its versions (the history)."""
        access = _access(family_id, content=True)
        row = _own(JourneyAssessment, assessment_id, family_id)
        _read(access, "assessment.view", "journey_assessment", row.id)
        return _assessment_out(row, [v.id for v in services.assessment_versions(row)])


@blueprint.route("/families/<int:family_id>/assessments/<int:assessment_id>/corrections")
class AssessmentCorrections(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.AssessmentCorrectionSchema)
    @blueprint.response(201, schemas.AssessmentSchema)
    def post(self, data, family_id: int, assessment_id: int):
        """Correct the current version: a new version supersedes it (409 if it is not current)."""
        access = _access(family_id, content=True)
        row = _own(JourneyAssessment, assessment_id, family_id)
        new = services.correct_assessment(access, row, actor=_user(), **data)
        return _assessment_out(new, [v.id for v in services.assessment_versions(new)])


# --- plan ----------------------------------------------------------------------------------------

@blueprint.route("/families/<int:family_id>/goals")
class Goals(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.GoalSchema(many=True))
    def get(self, family_id: int):
        """The family's goals (duken)."""
        access = _access(family_id, content=True)
        _read(access, "plan.view")
        return db.session.scalars(select(Goal).where(Goal.family_id == family_id).order_by(Goal.id)).all()

    @requires(LOGIN)
    @blueprint.arguments(schemas.GoalSchema)
    @blueprint.response(201, schemas.GoalSchema)
    def post(self, data, family_id: int):
        access = _access(family_id, content=True)
        return services.create_goal(access, actor=_user(), **data)


@blueprint.route("/families/<int:family_id>/goals/<int:goal_id>")
class GoalById(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.GoalUpdateSchema)
    @blueprint.response(200, schemas.GoalSchema)
    def patch(self, data, family_id: int, goal_id: int):
        access = _access(family_id, content=True)
        goal = _own(Goal, goal_id, family_id)
        merged = {"text": goal.text, "status": goal.status, "horizon": goal.horizon, **data}
        return services.update_goal(access, goal, actor=_user(), **merged)


@blueprint.route("/families/<int:family_id>/actions")
class Actions(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.ActionSchema(many=True))
    def get(self, family_id: int):
        """Every action, open ones first; `overdue` flags open actions past their due date."""
        access = _access(family_id, content=True)
        _read(access, "plan.view")
        return [_action_out(a) for a in queries.all_actions(family_id)]

    @requires(LOGIN)
    @blueprint.arguments(schemas.ActionSchema)
    @blueprint.response(201, schemas.ActionSchema)
    def post(self, data, family_id: int):
        """An action owned by a current team member (`owner_user_id`) or the family (`owner_is_family`)."""
        access = _access(family_id, content=True)
        return _action_out(services.create_action(access, actor=_user(), **data))


@blueprint.route("/families/<int:family_id>/actions/<int:action_id>")
class ActionById(MethodView):
    @requires(LOGIN)
    @blueprint.arguments(schemas.ActionUpdateSchema)
    @blueprint.response(200, schemas.ActionSchema)
    def patch(self, data, family_id: int, action_id: int):
        access = _access(family_id, content=True)
        action = _own(Action, action_id, family_id)
        return _action_out(services.update_action(access, action, actor=_user(), **data))


# --- meetings ------------------------------------------------------------------------------------

@blueprint.route("/families/<int:family_id>/meetings")
class Meetings(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.MeetingSchema(many=True))
    def get(self, family_id: int):
        """Every meeting, newest first. A gated member gets dates and attendees only."""
        access = _access(family_id)
        rows = queries.meetings(access)
        _read(access, "meeting.list", count=len(rows))
        return [_meeting_out(r.meeting, [u.id for u in r.staff], [m.id for m in r.family], access.gated)
                for r in rows]

    @requires(LOGIN)
    @blueprint.arguments(schemas.MeetingCreateSchema)
    @blueprint.response(201, schemas.MeetingSchema)
    def post(self, data, family_id: int):
        """A whole meeting in one call: attendees, notes, decisions, that day's assessment, and new or
        updated actions. Any error (422) leaves nothing behind."""
        access = _access(family_id, content=True)
        meeting = services.record_meeting(access, actor=_user(), **data)
        return _meeting_detail(meeting, access)


def _meeting_detail(meeting: Meeting, access: Access) -> dict:
    assessment_id = None
    action_ids: list[int] = []
    if not access.gated:
        assessment_id = db.session.scalar(select(JourneyAssessment.id).where(
            JourneyAssessment.meeting_id == meeting.id, JourneyAssessment.is_current.is_(True)))
        action_ids = list(db.session.scalars(select(Action.id).where(Action.meeting_id == meeting.id)
                                             .order_by(Action.id)))
    return _meeting_out(meeting, [a.user_id for a in meeting.attendees if a.user_id],
                        [a.member_id for a in meeting.attendees if a.member_id], access.gated,
                        assessment_id, action_ids)


@blueprint.route("/families/<int:family_id>/meetings/<int:meeting_id>")
class MeetingById(MethodView):
    @requires(LOGIN)
    @blueprint.response(200, schemas.MeetingSchema)
    def get(self, family_id: int, meeting_id: int):
        access = _access(family_id)
        _own(Meeting, meeting_id, family_id)
        row = next(r for r in queries.meetings(access) if r.meeting.id == meeting_id)
        _read(access, "meeting.view", "meeting", meeting_id, gated=access.gated)
        return _meeting_detail(row.meeting, access)

    @requires(LOGIN)
    @blueprint.arguments(schemas.MeetingInputSchema(partial=True))
    @blueprint.response(200, schemas.MeetingSchema)
    def patch(self, data, family_id: int, meeting_id: int):
        access = _access(family_id, content=True)
        meeting = _own(Meeting, meeting_id, family_id)
        merged = {"held_on": meeting.held_on, "notes": meeting.notes, "decisions": meeting.decisions,
                  "next_meeting_on": meeting.next_meeting_on,
                  "attendee_user_ids": [a.user_id for a in meeting.attendees if a.user_id],
                  "attendee_member_ids": [a.member_id for a in meeting.attendees if a.member_id], **data}
        services.update_meeting(access, meeting, actor=_user(), **merged)
        return _meeting_detail(meeting, access)
