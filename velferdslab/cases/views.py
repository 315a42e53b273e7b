"""Family pages (HTML). Thin: access from ``cases.access``, data from ``cases.queries``, every change
through ``cases.services``. Only ``create_app`` imports this module.

Family-scoped routes declare only ``LOGIN``: whether a user may see *this* family is decided per
object (team membership), so everyone off the team — managers and administrators included — gets
the same audited 404 as for a family that does not exist.

Extension hook
--------------
``FAMILY_PANELS`` is a list of functions ``(family, user, gated: bool) -> dict | None``. The family
page calls them in order; each returns ``None`` (no panel) or ``{"template": "...", **context}``.
The template is rendered with that context plus ``family``, ``user`` and ``gated`` and placed on
the page in the same order (the budget panel, an emergency-access banner, the progress-report
link). A panel must respect ``gated`` itself: a gated member may see the family's name, team and
meeting dates only.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from velferdslab.audit import services as audit
from velferdslab.auth.models import Agency
from velferdslab.cases import access as family_access
from velferdslab.cases import chart, forms, queries, services
from velferdslab.cases.consent.models import Consent
from velferdslab.cases.household.models import FamilyMember
from velferdslab.cases.journey.models import JourneyAssessment
from velferdslab.cases.meetings.models import Meeting
from velferdslab.cases.plan.models import Action, Goal
from velferdslab.cases.themes import LEVEL_CODES, LEVEL_NAMES, THEME_BY_CODE, THEMES
from velferdslab.core import navigation
from velferdslab.core.errors import ServiceError
from velferdslab.core.forms import add_error, choices, render_form
from velferdslab.core.models import today_local
from velferdslab.core.permissions import LOGIN, requires
from velferdslab.extensions import db

blueprint = Blueprint("cases", __name__, template_folder="templates")

FamilyPanel = Callable[..., "dict | None"]
FAMILY_PANELS: list[FamilyPanel] = []


def render_family_panels(family, user, gated: bool) -> list[Markup]:
    """Every registered panel, rendered in registration order."""
    rendered = []
    for panel in FAMILY_PANELS:
        spec = panel(family, user, gated)
        if not spec:
            continue
        context = dict(spec)
        template = context.pop("template")
        context.update(family=family, user=user, gated=gated)
        rendered.append(Markup(render_template(template, **context)))  # noqa: S704 - our own templates
    return rendered


@blueprint.record_once
def _labels(state) -> None:
    """Label tables as template globals, so imported macros see them too."""
    state.app.jinja_env.globals.update({
        "level_names": LEVEL_NAMES, "level_codes": LEVEL_CODES, "themes_by_code": THEME_BY_CODE,
        "member_role_labels": forms.MEMBER_ROLE_LABELS, "enrolment_status_labels": forms.ENROLMENT_STATUS_LABELS,
        "close_reason_labels": forms.CLOSE_REASON_LABELS, "horizon_labels": forms.HORIZON_LABELS,
        "goal_status_labels": forms.GOAL_STATUS_LABELS, "action_status_labels": forms.ACTION_STATUS_LABELS,
        "kind_labels": forms.KIND_LABELS, "perspective_labels": forms.PERSPECTIVE_LABELS})


# --- helpers -------------------------------------------------------------------------------------

def _access(family_id: int) -> family_access.Access:
    return family_access.require_family(current_user, family_id)


def _content(family_id: int) -> family_access.Access:
    """Access to the case content: 404 off the team, 403 (audited) without consent."""
    access = _access(family_id)
    access.require_consent()
    return access


def _read(access, action: str, object_type: str = "family", object_id=None, **summary) -> None:
    audit.record(action, family_id=access.family.id, object_type=object_type,
                 object_id=object_id if object_id is not None else access.family.id, summary=summary or None)


def _user():
    return current_user._get_current_object()


def _own(model, object_id: int, family_id: int):
    row = db.session.get(model, object_id)
    if row is None or row.family_id != family_id:
        abort(404)
    return row


_DOTTED = re.compile(r"^(new_actions|actions)\.(\d+)\.(\w+)$")


def _attach(form, error: ServiceError, default: str) -> None:
    """Put a service's message on the form field it names; nested API-style names map to rows."""
    match = _DOTTED.match(error.field or "")
    if match:
        group, index, name = match.groups()
        name = {"owner_user_id": "owner", "owner_is_family": "owner"}.get(name, name)
        error = ServiceError(error.message, f"new_{index}_{name}" if group == "new_actions"
                             else f"action_{index}_{name}")
    add_error(form, error, default)


def _done(message: str, family_id: int, endpoint: str = "cases.family_page", **values):
    flash(message, "success")
    return redirect(url_for(endpoint, family_id=family_id, **values))


def _agency_choices(lab_id: int, blank: str | None) -> list:
    agencies = db.session.scalars(select(Agency).where(Agency.lab_id == lab_id, Agency.active.is_(True))
                                  .order_by(Agency.name)).all()
    return choices(([(0, blank)] if blank else []) + [(a.id, a.name) for a in agencies])


def _team_choices(family_id: int) -> list:
    rows = [m for m in queries.team_rows(family_id, getattr(services.current_enrolment(family_id), "id", None))
            if m.is_current(today_local())]
    seen, pairs = set(), [("", _("– velg –")), ("family", _("Familien selv"))]
    for m in rows:
        if m.user_id not in seen:
            seen.add(m.user_id)
            pairs.append((str(m.user_id), f"{m.user.name} ({m.agency.name if m.agency else _('ingen etat')})"))
    return choices(pairs)


def _goal_choices(family_id: int) -> list:
    goals = db.session.scalars(select(Goal).where(Goal.family_id == family_id, Goal.status == "open")
                               .order_by(Goal.theme, Goal.id)).all()
    return choices([(0, _("Uten mål"))] + [(g.id, f"{THEME_BY_CODE[g.theme].name}: {g.text[:60]}") for g in goals])


def _owner_values(value: str | None) -> dict:
    if value == "family":
        return {"owner_user_id": None, "owner_is_family": True}
    return {"owner_user_id": int(value) if value and value.isdigit() else None, "owner_is_family": False}


def _perspectives(members) -> list[str]:
    return ["team", "family", "young_person"] if any(m.role == "young_person" for m in members) \
        else ["team", "family"]


# --- Mine familier, search, registration --------------------------------------------------------

def my_families_panel(user) -> dict | None:
    """The start page panel for caseworkers and team leads (``dashboard.views.START_PANELS``)."""
    if not user.has_permission("families.work"):
        return None
    summaries = queries.my_families(user)
    audit.record_for_families("family.list", {s.family.id: {"gated": s.access.gated} for s in summaries},
                              purpose="mine familier")
    return {"templates": ["cases/_my_families.html"], "my_families": summaries}


@blueprint.get("/familier")
@requires("families.work")
def families():
    """Mine familier, with a search by name among the families the user may see."""
    q = request.args.get("q", "").strip()[:100]
    if q:
        hits = queries.search_families(current_user, q)
        audit.record_for_families("family.search_hit", [hit.family.id for hit in hits], purpose="søk")
        return render_template("cases/families.html", q=q, hits=hits, summaries=None)
    panel = my_families_panel(current_user) or {}
    return render_template("cases/families.html", q="", hits=None, summaries=panel.get("my_families", []))


@blueprint.route("/familier/ny", methods=["GET", "POST"])
@requires("teams.manage")
def family_new():
    form = forms.RegisterFamilyForm()
    form.referred_by_agency_id.choices = _agency_choices(current_user.lab_id, _("Ikke oppgitt"))
    if request.method == "GET":
        form.referred_on.data = today_local()
    if form.validate_on_submit():
        try:
            family = services.create_family(
                current_user.lab, actor=_user(), household_name=form.household_name.data,
                language=form.language.data, interpreter_needed=form.interpreter_needed.data,
                referred_on=form.referred_on.data, referred_by_agency_id=form.referred_by_agency_id.data or None,
                referral_reason=form.referral_reason.data,
                members=[{"first_name": form.first_name.data, "last_name": form.last_name.data,
                          "birth_year": form.birth_year.data, "role": form.role.data, "is_contact": True}])
        except ServiceError as error:
            _attach(form, error, "household_name")
        else:
            return _done(_("Familien er registrert. Registrer samtykke før teamet starter arbeidet."), family.id,
                         "cases.consents")
    return render_form("cases/family_new.html", form)


# --- the family page -----------------------------------------------------------------------------

@blueprint.get("/familier/<int:family_id>")
@requires(LOGIN)
def family_page(family_id: int):
    """The family page: members, team, consent, the journey, duken, open actions and meetings."""
    access = _access(family_id)
    page = queries.family_page(access)
    audit.record("family.view", family_id=family_id, object_type="family", object_id=family_id,
                 purpose="familieside", summary={"gated": access.gated})
    charts = None
    if page.history is not None and page.history.points:
        charts = {"overall": chart.overall_chart(page.history), "themes": chart.journey_charts(page.history)}
    panels = render_family_panels(access.family, _user(), access.gated)
    return render_template("cases/family.html", family=access.family, access=access, page=page, charts=charts,
                           panels=panels, swatch=chart.legend_swatch)


@blueprint.route("/familier/<int:family_id>/endre", methods=["GET", "POST"])
@requires(LOGIN)
def family_edit(family_id: int):
    access = _content(family_id)
    form = forms.FamilyForm(obj=access.family)
    if form.validate_on_submit():
        try:
            services.update_family(access, actor=_user(), household_name=form.household_name.data,
                                   language=form.language.data, interpreter_needed=form.interpreter_needed.data)
        except ServiceError as error:
            _attach(form, error, "household_name")
        else:
            return _done(_("Endringene er lagret."), family_id)
    return render_form("cases/simple_form.html", form, family=access.family, title=_("Endre familie"),
                       fields=["household_name", "language", "interpreter_needed"])


# --- members -------------------------------------------------------------------------------------

def _member_form(family_id: int, member: FamilyMember | None):
    access = _content(family_id)
    form = forms.MemberForm(obj=member)
    if form.validate_on_submit():
        values = {k: form[k].data for k in ("first_name", "last_name", "birth_year", "role", "is_contact")}
        try:
            if member is None:
                services.add_member(access, actor=_user(), **values)
            else:
                services.update_member(access, member, actor=_user(), **values)
        except ServiceError as error:
            _attach(form, error, "first_name")
        else:
            return _done(_("Familiemedlemmet er lagret."), family_id)
    elif member is not None and request.method == "GET":
        _read(access, "member.view", "family_member", member.id)
    title = _("Nytt familiemedlem") if member is None else member.full_name
    return render_form("cases/simple_form.html", form, family=access.family, title=title,
                       fields=["first_name", "last_name", "birth_year", "role", "is_contact"],
                       hint=_("Lagre bare det teamet trenger. Aldri fødselsnummer."))


@blueprint.route("/familier/<int:family_id>/medlemmer/ny", methods=["GET", "POST"])
@requires(LOGIN)
def member_new(family_id: int):
    return _member_form(family_id, None)


@blueprint.route("/familier/<int:family_id>/medlemmer/<int:member_id>", methods=["GET", "POST"])
@requires(LOGIN)
def member_edit(family_id: int, member_id: int):
    _access(family_id)
    return _member_form(family_id, _own(FamilyMember, member_id, family_id))


# --- enrolment -----------------------------------------------------------------------------------

def _enrolment_page(access, start=None, close=None, again=None, status=200):
    enrolments = services.enrolments(access.family.id)
    current = enrolments[-1] if enrolments else None
    start = start or forms.StartForm(formdata=None, started_on=today_local())
    close = close or forms.CloseForm(formdata=None, closed_on=today_local())
    again = again or forms.ReEnrolForm(formdata=None, referred_on=today_local())
    again.referred_by_agency_id.choices = _agency_choices(access.family.lab_id, _("Ikke oppgitt"))
    follow_ups = services.follow_up_dates(current) if current else {}
    return render_template("cases/enrolment.html", family=access.family, access=access, enrolments=enrolments,
                           current=current, start=start, close=close, again=again, follow_ups=follow_ups), status


@blueprint.get("/familier/<int:family_id>/deltakelse")
@requires(LOGIN)
def enrolment(family_id: int):
    access = _content(family_id)
    _read(access, "enrolment.view")
    return _enrolment_page(access)


@blueprint.post("/familier/<int:family_id>/deltakelse/<int:enrolment_id>/start")
@requires(LOGIN)
def enrolment_start(family_id: int, enrolment_id: int):
    from velferdslab.cases.enrolment.models import Enrolment

    access = _content(family_id)
    form = forms.StartForm()
    if form.validate_on_submit():
        try:
            services.activate_enrolment(access, _own(Enrolment, enrolment_id, family_id), actor=_user(),
                                        started_on=form.started_on.data)
        except ServiceError as error:
            _attach(form, error, "started_on")
        else:
            return _done(_("Familien har startet i laben."), family_id, "cases.enrolment")
    return _enrolment_page(access, start=form, status=422)


@blueprint.post("/familier/<int:family_id>/deltakelse/<int:enrolment_id>/avslutt")
@requires(LOGIN)
def enrolment_close(family_id: int, enrolment_id: int):
    from velferdslab.cases.enrolment.models import Enrolment

    access = _content(family_id)
    form = forms.CloseForm()
    if form.validate_on_submit():
        try:
            services.close_enrolment(access, _own(Enrolment, enrolment_id, family_id), actor=_user(),
                                     closed_on=form.closed_on.data, reason=form.reason.data)
        except ServiceError as error:
            _attach(form, error, "closed_on")
        else:
            return _done(_("Deltakelsen er avsluttet. Oppfølging etter 6 og 12 måneder er planlagt."), family_id,
                         "cases.enrolment")
    return _enrolment_page(access, close=form, status=422)


@blueprint.post("/familier/<int:family_id>/deltakelse/ny")
@requires(LOGIN)
def enrolment_new(family_id: int):
    access = _content(family_id)
    form = forms.ReEnrolForm()
    form.referred_by_agency_id.choices = _agency_choices(access.family.lab_id, _("Ikke oppgitt"))
    if form.validate_on_submit():
        try:
            services.re_enrol(access, actor=_user(), referred_on=form.referred_on.data,
                              referred_by_agency_id=form.referred_by_agency_id.data or None,
                              referral_reason=form.referral_reason.data)
        except ServiceError as error:
            _attach(form, error, "referred_on")
        else:
            return _done(_("Familien er henvist på nytt. Historikken er beholdt."), family_id, "cases.enrolment")
    return _enrolment_page(access, again=form, status=422)


# --- consent -------------------------------------------------------------------------------------

def _consent_members(family_id: int) -> list:
    return choices((m.id, m.full_name) for m in services.family_members(family_id))


@blueprint.route("/familier/<int:family_id>/samtykke", methods=["GET", "POST"])
@requires(LOGIN)
def consents(family_id: int):
    """Consents per agency and purpose. Any team member may record one: that is how the gate opens."""
    access = _access(family_id)
    form = forms.ConsentForm()
    form.agency_id.choices = _agency_choices(access.family.lab_id, None)
    form.given_by_member_id.choices = _consent_members(family_id)
    if request.method == "GET":
        form.given_on.data = today_local()
        form.agency_id.data = access.membership.agency_id if access.membership else None
    if form.validate_on_submit():
        try:
            services.give_consent(access, actor=_user(), agency_id=form.agency_id.data, purpose=form.purpose.data,
                                  given_by_member_id=form.given_by_member_id.data, given_on=form.given_on.data,
                                  expires_on=form.expires_on.data)
        except ServiceError as error:
            _attach(form, error, "agency_id")
        else:
            return _done(_("Samtykket er registrert."), family_id, "cases.consents")
    else:
        _read(access, "consent.view")
    rows = services.consents(family_id)
    superseded = {c.supersedes_id for c in rows if c.supersedes_id}
    return render_form("cases/consents.html", form, family=access.family, access=access, consents=rows,
                       superseded=superseded, today=today_local(), is_valid=services.consent_is_valid)


@blueprint.route("/familier/<int:family_id>/samtykke/<int:consent_id>/trekk", methods=["GET", "POST"])
@requires(LOGIN)
def consent_withdraw(family_id: int, consent_id: int):
    access = _access(family_id)
    consent = _own(Consent, consent_id, family_id)
    form = forms.WithdrawForm()
    form.by_member_id.choices = _consent_members(family_id)
    if request.method == "GET":
        form.withdrawn_on.data = today_local()
        form.by_member_id.data = consent.given_by_member_id
    if form.validate_on_submit():
        try:
            services.withdraw_consent(access, consent, actor=_user(), withdrawn_on=form.withdrawn_on.data,
                                      by_member_id=form.by_member_id.data)
        except ServiceError as error:
            _attach(form, error, "withdrawn_on")
        else:
            return _done(_("Samtykket er trukket tilbake."), family_id, "cases.consents")
    title = _("Trekk tilbake samtykke for %(agency)s", agency=consent.agency.name)
    return render_form("cases/simple_form.html", form, family=access.family, title=title,
                       fields=["withdrawn_on", "by_member_id"], back=url_for("cases.consents", family_id=family_id),
                       submit=_("Trekk tilbake"))


# --- themes --------------------------------------------------------------------------------------

@blueprint.route("/familier/<int:family_id>/tema", methods=["GET", "POST"])
@requires(LOGIN)
def themes(family_id: int):
    access = _content(family_id)
    form = forms.ThemesForm()
    members = services.family_members(family_id)
    if request.method == "GET":
        form.themes.data = services.applicable_themes(family_id)
        _read(access, "family.themes_view")
    if form.validate_on_submit():
        wanted = set(form.themes.data or [])
        if not wanted:
            form.themes.errors = [_("Minst ett tema må gjelde.")]
        else:
            current = set(services.applicable_themes(family_id))
            for theme in THEMES:
                if (theme.code in wanted) != (theme.code in current):
                    services.set_theme_applicability(access, theme.code, theme.code in wanted, actor=_user())
            return _done(_("Temaene er oppdatert."), family_id)
    defaults = {t.code: services.default_applicable(t.code, members) for t in THEMES}
    return render_form("cases/themes.html", form, family=access.family, defaults=defaults)


# --- journey assessments -------------------------------------------------------------------------

def _assessment_context(family_id: int):
    members = services.family_members(family_id)
    themes = services.applicable_theme_codes(members, services.theme_overrides(family_id))
    return themes, _perspectives(members)


@blueprint.get("/familier/<int:family_id>/vurderinger")
@requires(LOGIN)
def assessments(family_id: int):
    """Every assessment with all its versions: corrections never hide what was there before."""
    access = _content(family_id)
    rows = db.session.scalars(select(JourneyAssessment).where(JourneyAssessment.family_id == family_id)
                              .order_by(JourneyAssessment.assessed_on.desc(), JourneyAssessment.version.desc(),
                                        JourneyAssessment.id.desc())).all()
    _read(access, "assessment.list", count=len(rows))
    return render_template("cases/assessments.html", family=access.family, rows=rows)


@blueprint.get("/familier/<int:family_id>/vurderinger/<int:assessment_id>")
@requires(LOGIN)
def assessment_detail(family_id: int, assessment_id: int):
    access = _content(family_id)
    assessment = _own(JourneyAssessment, assessment_id, family_id)
    versions = services.assessment_versions(assessment)
    ratings = {v.id: {(r.theme, r.perspective): r for r in v.ratings} for v in versions}
    _read(access, "assessment.view", "journey_assessment", assessment.id)
    return render_template("cases/assessment.html", family=access.family, assessment=assessment,
                           versions=versions, ratings=ratings, perspectives=["team", "family", "young_person"])


def _fill_ratings(form, assessment: JourneyAssessment) -> None:
    for rating in assessment.ratings:
        level_name, note_name = forms.rating_field_names(rating.theme, rating.perspective)
        if level_name in form:
            form[level_name].data = str(rating.level)
            form[note_name].data = rating.note
    form.overall_level.data = str(assessment.overall_level) if assessment.overall_level != \
        assessment.suggested_level else ""
    form.override_reason.data = assessment.override_reason


@blueprint.route("/familier/<int:family_id>/vurderinger/ny", methods=["GET", "POST"])
@requires(LOGIN)
def assessment_new(family_id: int):
    """An assessment outside a meeting, e.g. the follow-ups 6 and 12 months after closure."""
    access = _content(family_id)
    themes, perspectives = _assessment_context(family_id)
    form = forms.assessment_form_class(themes, perspectives, correction=False)()
    if request.method == "GET":
        form.assessed_on.data = today_local()
        form.kind.data = request.args.get("type", "regular")
    if form.validate_on_submit():
        overall, reason = forms.overall_from(form)
        try:
            services.create_assessment(access, actor=_user(), assessed_on=form.assessed_on.data, kind=form.kind.data,
                                       ratings=forms.ratings_from(form, themes, perspectives),
                                       overall_level=overall, override_reason=reason)
        except ServiceError as error:
            _attach(form, error, "assessed_on")
        else:
            return _done(_("Vurderingen er lagret."), family_id)
    return render_form("cases/assessment_form.html", form, family=access.family, themes=themes,
                       perspectives=perspectives, title=_("Ny vurdering"), correction=False)


@blueprint.route("/familier/<int:family_id>/vurderinger/<int:assessment_id>/rett", methods=["GET", "POST"])
@requires(LOGIN)
def assessment_correct(family_id: int, assessment_id: int):
    access = _content(family_id)
    assessment = _own(JourneyAssessment, assessment_id, family_id)
    if not assessment.is_current:
        flash(_("Denne versjonen er allerede rettet. Du retter nå den nyeste versjonen."), "info")
        newest = services.assessment_versions(assessment)[0]
        return redirect(url_for("cases.assessment_correct", family_id=family_id, assessment_id=newest.id))
    themes, perspectives = _assessment_context(family_id)
    form = forms.assessment_form_class(themes, perspectives, correction=True)()
    if request.method == "GET":
        form.assessed_on.data = assessment.assessed_on
        _fill_ratings(form, assessment)
        _read(access, "assessment.view", "journey_assessment", assessment.id)
    if form.validate_on_submit():
        overall, reason = forms.overall_from(form)
        try:
            row = services.correct_assessment(access, assessment, actor=_user(),
                                              correction_reason=form.correction_reason.data,
                                              assessed_on=form.assessed_on.data,
                                              ratings=forms.ratings_from(form, themes, perspectives),
                                              overall_level=overall, override_reason=reason)
        except ServiceError as error:
            _attach(form, error, "correction_reason")
        else:
            return _done(_("Rettelsen er lagret som en ny versjon."), family_id, "cases.assessment_detail",
                         assessment_id=row.id)
    return render_form("cases/assessment_form.html", form, family=access.family, themes=themes,
                       perspectives=perspectives, title=_("Rett vurderingen"), correction=True)


# --- meetings ------------------------------------------------------------------------------------

@blueprint.get("/familier/<int:family_id>/moter")
@requires(LOGIN)
def meetings(family_id: int):
    """All meetings. A gated member sees dates and attendees only (notes are not even selected)."""
    access = _access(family_id)
    rows = queries.meetings(access)
    _read(access, "meeting.list", count=len(rows))
    return render_template("cases/meetings.html", family=access.family, access=access, rows=rows)


def _meeting_form(access, open_actions):
    family_id = access.family.id
    themes, perspectives = _assessment_context(family_id)
    form = forms.meeting_form_class(themes, perspectives, [a.id for a in open_actions])()
    team_rows = [m for m in queries.team_rows(family_id, getattr(services.current_enrolment(family_id), "id", None))
                 if m.is_current(today_local())]
    form.attendee_user_ids.choices = choices(dict.fromkeys((m.user_id, m.user.name) for m in team_rows))
    form.attendee_member_ids.choices = _consent_members(family_id)
    owners, goals = _team_choices(family_id), _goal_choices(family_id)
    for i in range(forms.NEW_ACTION_ROWS):
        form[f"new_{i}_owner"].choices = owners
        form[f"new_{i}_goal_id"].choices = goals
    return form, themes, perspectives


def _meeting_input(form, themes, perspectives, open_actions) -> dict:
    ratings = forms.ratings_from(form, themes, perspectives)
    assessment = None
    if ratings:
        overall, reason = forms.overall_from(form)
        assessment = {"ratings": ratings, "overall_level": overall, "override_reason": reason}
    updates = [{"id": a.id, "status": form[f"action_{a.id}_status"].data} for a in open_actions
               if form[f"action_{a.id}_status"].data != a.status]
    new = []
    for i in range(forms.NEW_ACTION_ROWS):
        title = (form[f"new_{i}_title"].data or "").strip()
        if not title:
            continue
        new.append({"title": title, **_owner_values(form[f"new_{i}_owner"].data),
                    "due_on": form[f"new_{i}_due_on"].data, "review_on": form[f"new_{i}_review_on"].data,
                    "goal_id": form[f"new_{i}_goal_id"].data or None})
    return {"held_on": form.held_on.data, "attendee_user_ids": form.attendee_user_ids.data or [],
            "attendee_member_ids": form.attendee_member_ids.data or [], "notes": form.notes.data,
            "decisions": form.decisions.data, "next_meeting_on": form.next_meeting_on.data,
            "assessment": assessment, "action_updates": updates, "new_actions": new}


@blueprint.route("/familier/<int:family_id>/moter/ny", methods=["GET", "POST"])
@requires(LOGIN)
def meeting_new(family_id: int):
    """The meeting form: attendees, notes, decisions, that day's assessment of every applicable
    theme from each perspective, and new or updated actions — one submit, all or nothing."""
    access = _content(family_id)
    open_actions = queries.open_actions(family_id)
    form, themes, perspectives = _meeting_form(access, open_actions)
    if request.method == "GET":
        form.held_on.data = today_local()
        for action in open_actions:
            form[f"action_{action.id}_status"].data = action.status
        _read(access, "meeting.form")
    if form.validate_on_submit():
        try:
            meeting = services.record_meeting(access, actor=_user(),
                                              **_meeting_input(form, themes, perspectives, open_actions))
        except ServiceError as error:
            _attach(form, error, "held_on")
        else:
            return _done(_("Møtet er registrert."), family_id, "cases.meeting_detail", meeting_id=meeting.id)
    history = queries.journey_history(family_id, themes)
    return render_form("cases/meeting_form.html", form, family=access.family, themes=themes,
                       perspectives=perspectives, open_actions=open_actions, latest=history.latest,
                       new_rows=range(forms.NEW_ACTION_ROWS))


@blueprint.get("/familier/<int:family_id>/moter/<int:meeting_id>")
@requires(LOGIN)
def meeting_detail(family_id: int, meeting_id: int):
    access = _access(family_id)
    _own(Meeting, meeting_id, family_id)
    row = next((r for r in queries.meetings(access) if r.meeting.id == meeting_id), None)
    assessment = actions = None
    if not access.gated:
        assessment = db.session.scalar(select(JourneyAssessment).where(JourneyAssessment.meeting_id == meeting_id,
                                                                       JourneyAssessment.is_current.is_(True)))
        actions = db.session.scalars(select(Action).where(Action.meeting_id == meeting_id).order_by(Action.id)).all()
    _read(access, "meeting.view", "meeting", meeting_id, gated=access.gated)
    return render_template("cases/meeting.html", family=access.family, access=access, row=row,
                           assessment=assessment, actions=actions)


@blueprint.route("/familier/<int:family_id>/moter/<int:meeting_id>/endre", methods=["GET", "POST"])
@requires(LOGIN)
def meeting_edit(family_id: int, meeting_id: int):
    access = _content(family_id)
    meeting = _own(Meeting, meeting_id, family_id)
    form = forms.MeetingEditForm()
    team_rows = [m for m in queries.team_rows(family_id, meeting.enrolment_id) if m.is_current(meeting.held_on)
                 or m.is_current(today_local())]
    form.attendee_user_ids.choices = choices(dict.fromkeys(
        [(m.user_id, m.user.name) for m in team_rows]
        + [(a.user_id, a.user.name) for a in meeting.attendees if a.user_id]))
    form.attendee_member_ids.choices = _consent_members(family_id)
    if request.method == "GET":
        for name in ("held_on", "notes", "decisions", "next_meeting_on"):
            form[name].data = getattr(meeting, name)
        form.attendee_user_ids.data = [a.user_id for a in meeting.attendees if a.user_id]
        form.attendee_member_ids.data = [a.member_id for a in meeting.attendees if a.member_id]
        _read(access, "meeting.view", "meeting", meeting_id)
    if form.validate_on_submit():
        try:
            services.update_meeting(access, meeting, actor=_user(), held_on=form.held_on.data,
                                    attendee_user_ids=form.attendee_user_ids.data or [],
                                    attendee_member_ids=form.attendee_member_ids.data or [], notes=form.notes.data,
                                    decisions=form.decisions.data, next_meeting_on=form.next_meeting_on.data)
        except ServiceError as error:
            _attach(form, error, "held_on")
        else:
            return _done(_("Møtet er oppdatert."), family_id, "cases.meeting_detail", meeting_id=meeting_id)
    return render_form("cases/simple_form.html", form, family=access.family, title=_("Endre møte"),
                       fields=["held_on", "attendee_user_ids", "attendee_member_ids", "notes", "decisions",
                               "next_meeting_on"],
                       back=url_for("cases.meeting_detail", family_id=family_id, meeting_id=meeting_id))


# --- the plan (duken) ----------------------------------------------------------------------------

def _plan_page(access, goal_form=None, action_form=None, status=200):
    family_id = access.family.id
    themes = services.applicable_themes(family_id)
    goal_form = goal_form or forms.GoalForm(formdata=None)
    goal_form.theme.choices = choices((t, THEME_BY_CODE[t].name) for t in themes)
    action_form = action_form or forms.ActionForm(formdata=None)
    action_form.owner.choices = _team_choices(family_id)
    action_form.goal_id.choices = _goal_choices(family_id)
    goals = db.session.scalars(select(Goal).where(Goal.family_id == family_id)
                               .order_by(Goal.theme, Goal.horizon, Goal.id)).all()
    board = {t: {"short": [], "long": [], "dream": []} for t in themes}
    for goal in goals:
        board.setdefault(goal.theme, {"short": [], "long": [], "dream": []})[goal.horizon].append(goal)
    actions = queries.all_actions(family_id)
    return render_template("cases/plan.html", family=access.family, board=board, actions=actions,
                           goal_form=goal_form, action_form=action_form, today=today_local(),
                           is_overdue=services.is_overdue), status


@blueprint.get("/familier/<int:family_id>/plan")
@requires(LOGIN)
def plan(family_id: int):
    """Duken: the family's goals per theme (short term, long term, dreams) and every action."""
    access = _content(family_id)
    _read(access, "plan.view")
    return _plan_page(access)


@blueprint.post("/familier/<int:family_id>/plan/mal")
@requires(LOGIN)
def goal_new(family_id: int):
    access = _content(family_id)
    form = forms.GoalForm()
    form.theme.choices = choices((t, THEME_BY_CODE[t].name) for t in services.applicable_themes(family_id))
    if form.validate_on_submit():
        try:
            services.create_goal(access, actor=_user(), theme=form.theme.data, horizon=form.horizon.data,
                                 text=form.text.data)
        except ServiceError as error:
            _attach(form, error, "text")
        else:
            return _done(_("Målet er lagt til."), family_id, "cases.plan")
    return _plan_page(access, goal_form=form, status=422)


@blueprint.route("/familier/<int:family_id>/plan/mal/<int:goal_id>", methods=["GET", "POST"])
@requires(LOGIN)
def goal_edit(family_id: int, goal_id: int):
    access = _content(family_id)
    goal = _own(Goal, goal_id, family_id)
    form = forms.GoalEditForm(obj=goal)
    if form.validate_on_submit():
        try:
            services.update_goal(access, goal, actor=_user(), text=form.text.data, status=form.status.data,
                                 horizon=form.horizon.data)
        except ServiceError as error:
            _attach(form, error, "text")
        else:
            return _done(_("Målet er oppdatert."), family_id, "cases.plan")
    elif request.method == "GET":
        _read(access, "goal.view", "goal", goal.id)
    return render_form("cases/simple_form.html", form, family=access.family,
                       title=_("Mål: %(theme)s", theme=THEME_BY_CODE[goal.theme].name),
                       fields=["text", "horizon", "status"], back=url_for("cases.plan", family_id=family_id))


def _action_values(form) -> dict:
    return {"title": form.title.data, **_owner_values(form.owner.data), "due_on": form.due_on.data,
            "review_on": form.review_on.data, "goal_id": form.goal_id.data or None, "status": form.status.data}


@blueprint.post("/familier/<int:family_id>/plan/tiltak")
@requires(LOGIN)
def action_new(family_id: int):
    access = _content(family_id)
    form = forms.ActionForm()
    form.owner.choices = _team_choices(family_id)
    form.goal_id.choices = _goal_choices(family_id)
    if form.validate_on_submit():
        try:
            services.create_action(access, actor=_user(), **_action_values(form))
        except ServiceError as error:
            _attach(form, error, "title")
        else:
            return _done(_("Tiltaket er lagt til."), family_id, "cases.plan")
    return _plan_page(access, action_form=form, status=422)


@blueprint.route("/familier/<int:family_id>/plan/tiltak/<int:action_id>", methods=["GET", "POST"])
@requires(LOGIN)
def action_edit(family_id: int, action_id: int):
    access = _content(family_id)
    action = _own(Action, action_id, family_id)
    form = forms.ActionForm(obj=action)
    form.owner.choices = _team_choices(family_id)
    if action.owner_user_id and str(action.owner_user_id) not in {c.value for c in form.owner.choices}:
        form.owner.choices += choices([(str(action.owner_user_id), _("%(name)s (ikke lenger i teamet)",
                                                                     name=action.owner.name))])
    form.goal_id.choices = _goal_choices(family_id)
    if action.goal_id and action.goal_id not in {c.value for c in form.goal_id.choices}:
        form.goal_id.choices += choices([(action.goal_id, _("Tidligere mål"))])
    if request.method == "GET":
        form.owner.data = "family" if action.owner_is_family else str(action.owner_user_id)
        form.goal_id.data = action.goal_id or 0
        _read(access, "action.view", "action", action.id)
    if form.validate_on_submit():
        values = _action_values(form)
        try:
            services.update_action(access, action, actor=_user(), **values)
        except ServiceError as error:
            _attach(form, error, "title")
        else:
            return _done(_("Tiltaket er oppdatert."), family_id, "cases.plan")
    return render_form("cases/simple_form.html", form, family=access.family, title=_("Endre tiltak"),
                       fields=["title", "owner", "due_on", "review_on", "goal_id", "status"],
                       back=url_for("cases.plan", family_id=family_id))


navigation.register(_l("Familier"), "cases.families", "families.work", order=10)


def _register_start_panel() -> None:
    from velferdslab.dashboard.views import START_PANELS

    if my_families_panel not in START_PANELS:
        START_PANELS.append(my_families_panel)


_register_start_panel()
