"""Which themes apply, and the journey assessments: list, one with its versions, new, correct."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from velferdslab.audit.actions import AuditAction
from velferdslab.cases.access import Access, unique_reasons, visible_ratings
from velferdslab.cases.gate import family_route, note
from velferdslab.cases.household import services as household_services
from velferdslab.cases.journey import forms, queries, services
from velferdslab.cases.journey.models import JourneyAssessment
from velferdslab.cases.minside import content as minside_content
from velferdslab.cases.themes import CHILD_FACES, CHILD_SCALE, DISAGREEMENT_STEPS, THEMES
from velferdslab.cases.web import _attach, _done, _user, blueprint, template_globals
from velferdslab.core.errors import ServiceError
from velferdslab.core.forms import render_form
from velferdslab.core.models import today_local
from velferdslab.core.permissions import LOGIN, requires

template_globals(kind_labels=forms.KIND_LABELS, perspective_labels=forms.PERSPECTIVE_LABELS,
                 disagreement_steps=DISAGREEMENT_STEPS, child_scale=CHILD_SCALE, child_faces=CHILD_FACES)


@blueprint.route("/familier/<int:family_id>/tema", methods=["GET", "POST"])
@requires(LOGIN)
@family_route(AuditAction.FAMILY_THEMES_VIEW)
def themes(access: Access):
    family_id = access.family.id
    form = forms.ThemesForm()
    members = household_services.family_members(family_id)
    if request.method == "GET":
        form.themes.data = services.applicable_themes(family_id)
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


@blueprint.get("/familier/<int:family_id>/vurderinger")
@requires(LOGIN)
@family_route(AuditAction.ASSESSMENT_LIST)
def assessments(access: Access):
    """Every assessment with all its versions: corrections never hide what was there before."""
    rows = queries.all_versions(access.family.id)
    note(count=len(rows))
    level_shown = access.may_see(None, None, "level")
    return render_template("cases/assessments.html", family=access.family, rows=rows, level_shown=level_shown,
                           hidden=[] if level_shown else [access.hidden_reason(None, None, "level")])


@blueprint.get("/familier/<int:family_id>/vurderinger/<int:assessment_id>")
@requires(LOGIN)
@family_route(AuditAction.ASSESSMENT_VIEW, load={"assessment": JourneyAssessment})
def assessment_detail(access: Access, assessment: JourneyAssessment):
    versions = services.assessment_versions(assessment)
    shown = {v.id: visible_ratings(access, v.ratings) for v in versions}
    ratings = {v_id: queries.household_ratings(s.items) for v_id, s in shown.items()}
    voices = {v_id: queries.member_voice_rows(s.items, []) for v_id, s in shown.items()}
    level_shown = access.may_see(None, None, "level")
    hidden = unique_reasons(*(s.hidden for s in shown.values()),
                            [] if level_shown else [access.hidden_reason(None, None, "level")])
    return render_template("cases/assessment.html", family=access.family, assessment=assessment,
                           versions=versions, ratings=ratings, perspectives=["team", "family", "young_person"],
                           voices=voices, members=household_services.family_members(access.family.id),
                           hidden=hidden, level_shown=level_shown)


def _fill_ratings(form, assessment: JourneyAssessment) -> None:
    for rating in assessment.ratings:
        key = services.voice_key(rating.perspective, rating.given_by_member_id, rating.subject_member_id)
        level_name, note_name = forms.rating_field_names(rating.theme, key)
        if level_name in form:
            form[level_name].data = str(rating.level)
            form[note_name].data = rating.note
            subject = forms.subject_field_name(rating.theme, key)
            if subject in form and rating.subject_member_id is not None:
                form[subject].data = str(rating.subject_member_id)
    form.overall_level.data = str(assessment.overall_level) if assessment.overall_level != \
        assessment.suggested_level else ""
    form.override_reason.data = assessment.override_reason


@blueprint.route("/familier/<int:family_id>/vurderinger/ny", methods=["GET", "POST"])
@requires(LOGIN)
@family_route(AuditAction.FAMILY_FORM)
def assessment_new(access: Access):
    """An assessment outside a meeting, e.g. the follow-ups 6 and 12 months after closure."""
    family_id = access.family.id
    themes, perspectives = services.assessment_context(family_id)
    members = household_services.family_members(family_id)
    form = forms.assessment_form_class(themes, perspectives, correction=False, members=members)()
    # The family's own ratings from Min side (issue 16), as far as this reader's consents reach.
    family_own, family_own_hidden = minside_content.family_ratings_for_team(access)
    if request.method == "GET":
        form.assessed_on.data = today_local()
        form.kind.data = request.args.get("type", "regular")
        minside_content.prefill_family_own(form, family_own)
    if form.validate_on_submit() and not forms.refuse_notes_without_level(form, themes, perspectives):
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
                       perspectives=perspectives, title=_("Ny vurdering"), correction=False,
                       family_own=family_own, family_own_hidden=family_own_hidden)


@blueprint.route("/familier/<int:family_id>/vurderinger/<int:assessment_id>/rett", methods=["GET", "POST"])
@requires(LOGIN)
@family_route(AuditAction.ASSESSMENT_VIEW, load={"assessment": JourneyAssessment})
def assessment_correct(access: Access, assessment: JourneyAssessment):
    family_id = access.family.id
    if not assessment.is_current:
        flash(_("Denne versjonen er allerede rettet. Du retter nå den nyeste versjonen."), "info")
        newest = services.assessment_versions(assessment)[0]
        return redirect(url_for("cases.assessment_correct", family_id=family_id, assessment_id=newest.id))
    themes, perspectives = services.assessment_context(family_id, assessment.assessed_on.year)
    members = household_services.family_members(family_id)
    form = forms.assessment_form_class(themes, perspectives, correction=True, members=members)()
    if request.method == "GET":
        form.assessed_on.data = assessment.assessed_on
        _fill_ratings(form, assessment)
    if form.validate_on_submit() and not forms.refuse_notes_without_level(form, themes, perspectives):
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
