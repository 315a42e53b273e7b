"""Meetings: the list, the meeting form (attendees, notes, that day's assessment, actions), one
meeting, and editing it."""

from __future__ import annotations

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from velferdslab.audit.actions import AuditAction
from velferdslab.auth.login import session_seconds_left
from velferdslab.cases.access import Access, unique_reasons, visible_ratings
from velferdslab.cases.enrolment import queries as enrolment_queries
from velferdslab.cases.enrolment import services as enrolment_services
from velferdslab.cases.gate import family_route, note
from velferdslab.cases.household import services as household_services
from velferdslab.cases.journey import forms as journey_forms
from velferdslab.cases.journey import queries as journey_queries
from velferdslab.cases.journey import services as journey_services
from velferdslab.cases.journey.models import PERSPECTIVES
from velferdslab.cases.journey.services import FormVoice
from velferdslab.cases.meetings import forms, queries, services
from velferdslab.cases.meetings.models import Meeting
from velferdslab.cases.minside import content as minside_content
from velferdslab.cases.plan import queries as plan_queries
from velferdslab.cases.plan.forms import goal_choices, owner_values, team_choices
from velferdslab.cases.themes import THEME_CODES
from velferdslab.cases.web import _attach, _done, _user, blueprint
from velferdslab.core.errors import ForbiddenError, ServiceError
from velferdslab.core.forms import choices, render_form
from velferdslab.core.models import OSLO, today_local
from velferdslab.core.permissions import LOGIN, requires


@blueprint.get("/familier/<int:family_id>/moter")
@requires(LOGIN)
@family_route(AuditAction.MEETING_LIST, content=False)
def meetings(access: Access):
    """All meetings. A gated member sees dates and attendees only (notes are not even selected)."""
    rows = queries.meetings(access)
    note(count=len(rows))
    return render_template("cases/meetings.html", family=access.family, access=access, rows=rows)


def _meeting_form(access, open_actions):
    family_id = access.family.id
    themes, perspectives = journey_services.assessment_context(family_id)
    members = household_services.family_members(family_id)
    form = forms.meeting_form_class(themes, perspectives, [a.id for a in open_actions], members)()
    enrolment = enrolment_services.current_enrolment(family_id)
    team_rows = [m for m in enrolment_queries.team_rows(family_id, getattr(enrolment, "id", None))
                 if m.is_current(today_local())]
    form.attendee_user_ids.choices = choices(dict.fromkeys((m.user_id, m.user.name) for m in team_rows))
    form.attendee_member_ids.choices = forms.attendee_choices(members, today_local().year)
    owners, goals = team_choices(family_id), goal_choices(family_id, access)
    for i in range(forms.NEW_ACTION_ROWS):
        form[f"new_{i}_owner"].choices = owners
        form[f"new_{i}_goal_id"].choices = goals
    return form, themes, perspectives


def _meeting_input(form, themes, perspectives, open_actions) -> dict:
    # Every level the form sends is that day's rating, also one pre-filled from the last
    # assessment and left as it was; "not assessed this time" leaves the assessment out.
    ratings = [] if form.skip_assessment.data else journey_forms.ratings_from(form, themes, perspectives)
    assessment = None
    if ratings:
        overall, reason = journey_forms.overall_from(form)
        assessment = {"ratings": ratings, "overall_level": overall, "override_reason": reason}
    updates = [{"id": a.id, "status": form[f"action_{a.id}_status"].data} for a in open_actions
               if form[f"action_{a.id}_status"].data != a.status]
    new = []
    for i in range(forms.NEW_ACTION_ROWS):
        title = (form[f"new_{i}_title"].data or "").strip()
        if not title:
            continue
        new.append({"title": title, **owner_values(form[f"new_{i}_owner"].data),
                    "due_on": form[f"new_{i}_due_on"].data, "review_on": form[f"new_{i}_review_on"].data,
                    "goal_id": form[f"new_{i}_goal_id"].data or None})
    return {"held_on": form.held_on.data, "attendee_user_ids": form.attendee_user_ids.data or [],
            "attendee_member_ids": form.attendee_member_ids.data or [], "notes": form.notes.data,
            "decisions": form.decisions.data, "next_meeting_on": form.next_meeting_on.data,
            "interpreter_used": bool(form.interpreter_used.data), "assessment": assessment,
            "action_updates": updates, "new_actions": new}


@blueprint.route("/familier/<int:family_id>/moter/ny", methods=["GET", "POST"])
@requires(LOGIN)
@family_route(AuditAction.MEETING_FORM)
def meeting_new(access: Access):
    """The meeting form: attendees, notes, decisions, that day's assessment of every applicable
    theme from each perspective, and new or updated actions — one submit, all or nothing."""
    family_id = access.family.id
    open_actions = plan_queries.visible_actions(access, plan_queries.open_actions(family_id)).items
    form, themes, perspectives = _meeting_form(access, open_actions)
    draft = services.draft_for(access, actor=_user())
    history = journey_queries.journey_history(family_id, themes, access)
    # The family's own ratings from Min side (issue 16), as far as this reader's consents reach.
    family_own, family_own_hidden = minside_content.family_ratings_for_team(access)
    if request.method == "GET":
        form.held_on.data = today_local()
        form.interpreter_used.data = access.family.interpreter_needed
        for action in open_actions:
            form[f"action_{action.id}_status"].data = action.status
        _prefill_ratings(form, history.latest, themes, perspectives)
        minside_content.prefill_family_own(form, family_own)
        if draft is not None:  # the work typed before (a closed tab, an expired session) comes back
            _restore(form, services.draft_fields(draft))
    refusal = None
    if form.validate_on_submit() and not _refuse_theme_notes(form, themes, perspectives):
        try:
            meeting = services.record_meeting(access, actor=_user(),
                                              **_meeting_input(form, themes, perspectives, open_actions))
        except ServiceError as error:
            if error.field == services.EMPTY_FIELD:
                refusal = error.message
            else:
                _attach(form, error, "held_on")
        else:
            services.discard_draft(access, actor=_user())
            return _done(_("Møtet er registrert."), family_id, "cases.meeting_detail", meeting_id=meeting.id)
    return render_form("cases/meeting_form.html", form, status=422 if refusal else None, family=access.family,
                       themes=themes, perspectives=perspectives, open_actions=open_actions,
                       latest=history.latest, start=history.start, new_rows=range(forms.NEW_ACTION_ROWS),
                       refusal=refusal, family_own=family_own, family_own_hidden=family_own_hidden,
                       draft_time=_clock(draft.updated_at) if draft is not None and request.method == "GET" else None,
                       session_limits=_session_limits())


def _prefill_ratings(form, latest, themes: list[str], voices: list[FormVoice]) -> None:
    """Start each theme and voice at its level (and whom it was about) in the family's latest
    assessment (a draft, restored after this, wins). Notes start empty: they belong to this meeting."""
    if latest is None:
        return
    for theme in themes:
        for voice in voices:
            found = latest.voice_for(theme, voice.key)
            if found is None:
                continue
            form[journey_forms.rating_field_names(theme, voice.key)[0]].data = str(found.level)
            subject = journey_forms.subject_field_name(theme, voice.key)
            if subject in form and found.subject_member_id is not None:
                form[subject].data = str(found.subject_member_id)


SKIPPED_NOTE = _l("Temaene vurderes ikke på dette møtet: fjern merknaden, eller ta bort haken for «ikke vurdert».")


def _refuse_theme_notes(form, themes: list[str], perspectives: list[FormVoice]) -> bool:
    """A note is kept only with its level: refused beside an unrated theme, and beside every theme
    when the themes were not assessed at this meeting. True when one was refused."""
    if not form.skip_assessment.data:
        return journey_forms.refuse_notes_without_level(form, themes, perspectives)
    names = [journey_forms.rating_field_names(t, p.key)[1] for t in themes for p in perspectives]
    names = [n for n in names if (form[n].data or "").strip()]
    for name in names:
        form[name].errors = list(form[name].errors) + [str(SKIPPED_NOTE)]
    return bool(names)


def _restore(form, fields: dict[str, list[str]]) -> None:
    """Fill the form from a draft: each field the draft holds takes its typed value(s); a field it
    does not hold (a box nobody ticked) keeps the form's own start value."""
    formdata = MultiDict([(name, value) for name, values in fields.items() for value in values])
    for field in form:
        if field.name in fields and field.name != "csrf_token":
            field.process(formdata)


def _clock(stamp) -> str:
    return stamp.astimezone(OSLO).strftime("%H:%M")


def _session_limits() -> dict:
    """What the page's script needs to keep the session alive and warn before its absolute end."""
    return {"idle": int(current_app.config["SESSION_IDLE_TIMEOUT"].total_seconds()), "left": session_seconds_left()}


@blueprint.post("/familier/<int:family_id>/moter/ny/utkast")
@requires(LOGIN)
@family_route()
def meeting_draft_save(access: Access):
    """Autosave: the page posts the meeting form's fields (JSON ``{"fields": {name: [values]}}``)
    every few seconds while the user types. CSRF-protected like every form (X-CSRFToken header)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify({"status": 422, "errors": {"fields": [_("Utkastet kunne ikke leses.")]}}), 422
    open_actions = plan_queries.visible_actions(access, plan_queries.open_actions(access.family.id)).items
    form, _themes, _perspectives = _meeting_form(access, open_actions)
    try:
        draft = services.save_draft(access, actor=_user(), fields=body.get("fields"),
                                    allowed={f.name for f in form if f.name != "csrf_token"})
    except ServiceError as error:
        return jsonify({"status": error.status, "errors": error.as_errors()}), error.status
    return jsonify({"saved_at": _clock(draft.updated_at)})


@blueprint.post("/familier/<int:family_id>/moter/ny/utkast/forkast")
@requires(LOGIN)
@family_route()
def meeting_draft_discard(access: Access):
    services.discard_draft(access, actor=_user())
    flash(_("Utkastet er forkastet."), "info")
    return redirect(url_for("cases.meeting_new", family_id=access.family.id))


@blueprint.get("/familier/<int:family_id>/moter/<int:meeting_id>")
@requires(LOGIN)
@family_route(AuditAction.MEETING_VIEW, content=False, load={"meeting": Meeting})
def meeting_detail(access: Access, meeting: Meeting):
    row = next((r for r in queries.meetings(access) if r.meeting.id == meeting.id), None)
    assessment, actions, changes = (None, None, None)
    hidden: list[str] = [row.hidden] if row is not None and row.hidden else []
    shown_ratings: list = []
    if not access.gated:
        assessment, all_actions = queries.decided_at(meeting.id)
        shown_actions = plan_queries.visible_actions(access, all_actions)
        actions = shown_actions.items
        changes = [(change, action) for change, action in queries.action_changes(meeting.id)
                   if access.may_see(None, action.goal.theme if action.goal else None, "action")]
        if assessment is not None:
            visible = visible_ratings(access, assessment.ratings)
            shown_ratings = visible.items
            hidden = unique_reasons(hidden, visible.hidden, shown_actions.hidden)
            if not access.may_see(None, None, "level"):
                hidden = unique_reasons(hidden, [access.hidden_reason(None, None, "level")])
        else:
            hidden = unique_reasons(hidden, shown_actions.hidden)
    ratings = journey_queries.household_ratings(shown_ratings)
    voices = journey_queries.member_voice_rows(shown_ratings, [])
    themes = [t for t in THEME_CODES if any(key[0] == t for key in ratings)]
    perspectives = [p for p in PERSPECTIVES if any(key[1] == p for key in ratings)]
    year = today_local().year
    family_attendees = [forms.attendee_label(m, year, with_age=not access.gated) for m in row.family] if row else []
    return render_template("cases/meeting.html", family=access.family, access=access, row=row,
                           assessment=assessment, actions=actions, changes=changes, ratings=ratings,
                           rated_themes=themes, rated_perspectives=perspectives, family_attendees=family_attendees,
                           voices=voices,
                           members=household_services.family_members(access.family.id) if voices else [],
                           hidden=hidden, level_shown=access.may_see(None, None, "level"))


@blueprint.route("/familier/<int:family_id>/moter/<int:meeting_id>/endre", methods=["GET", "POST"])
@requires(LOGIN)
@family_route(AuditAction.MEETING_VIEW, load={"meeting": Meeting})
def meeting_edit(access: Access, meeting: Meeting):
    family_id, meeting_id = access.family.id, meeting.id
    if queries.notes_hidden(access):  # the form shows the notes and decisions
        raise ForbiddenError(_("Samtykket for din etat dekker ikke møtenotatene."), "consent")
    form = forms.MeetingEditForm()
    team_rows = [m for m in enrolment_queries.team_rows(family_id, meeting.enrolment_id)
                 if m.is_current(meeting.held_on) or m.is_current(today_local())]
    form.attendee_user_ids.choices = choices(dict.fromkeys(
        [(m.user_id, m.user.name) for m in team_rows]
        + [(a.user_id, a.user.name) for a in meeting.attendees if a.user is not None]))
    form.attendee_member_ids.choices = forms.attendee_choices(household_services.family_members(family_id),
                                                              today_local().year)
    if request.method == "GET":
        for name in ("held_on", "notes", "decisions", "next_meeting_on", "interpreter_used"):
            form[name].data = getattr(meeting, name)
        form.attendee_user_ids.data = [a.user_id for a in meeting.attendees if a.user_id]
        form.attendee_member_ids.data = [a.member_id for a in meeting.attendees if a.member_id]
    if form.validate_on_submit():
        try:
            services.update_meeting(access, meeting, actor=_user(), held_on=form.held_on.data,
                                    attendee_user_ids=form.attendee_user_ids.data or [],
                                    attendee_member_ids=form.attendee_member_ids.data or [], notes=form.notes.data,
                                    decisions=form.decisions.data, next_meeting_on=form.next_meeting_on.data,
                                    interpreter_used=bool(form.interpreter_used.data))
        except ServiceError as error:
            _attach(form, error, "held_on")
        else:
            return _done(_("Møtet er oppdatert."), family_id, "cases.meeting_detail", meeting_id=meeting_id)
    return render_form("cases/simple_form.html", form, family=access.family, title=_("Endre møte"),
                       fields=["held_on", "attendee_user_ids", "attendee_member_ids", "interpreter_used", "notes",
                               "decisions", "next_meeting_on"],
                       back=url_for("cases.meeting_detail", family_id=family_id, meeting_id=meeting_id))
