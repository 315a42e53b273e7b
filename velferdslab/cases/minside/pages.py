"""The pages of Min side (issue 16): the plan and journey, the member's own rating, consents, the
access log, the export and the progress report. Every route reads only the family's own session
(``views.family_session``) and sees through :class:`~velferdslab.cases.minside.access.FamilyAccess`.
"""

from __future__ import annotations

import json

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from velferdslab.audit import access_log as audit_log
from velferdslab.auth.models import Agency
from velferdslab.cases.consent import form_pdf
from velferdslab.cases.consent.models import CATEGORY_LABELS, ConsentPurpose
from velferdslab.cases.household.models import FamilyMember
from velferdslab.cases.minside import content, services
from velferdslab.cases.minside.access import FamilyAccess
from velferdslab.cases.minside.web import ACR, PATH, ConfirmForm, family_session
from velferdslab.cases.themes import CHILD_FACES, CHILD_SCALE, LEVEL_NAMES, THEME_BY_CODE
from velferdslab.cases.web import blueprint, template_globals
from velferdslab.core.errors import ServiceError
from velferdslab.core.models import utcnow
from velferdslab.core.pdf import attachment, pdf_download, render_pdf
from velferdslab.extensions import db

template_globals(child_scale=CHILD_SCALE)

# What the four levels mean, in plain words (the same words on the page and in the export).
LEVEL_HELP = {
    1: _l("Det går ikke lenger slik det er nå. Noe må endres raskt."),
    2: _l("Det går, men det er skjørt. Litt motgang kan velte det."),
    3: _l("Det går greit nå, med den hjelpen dere har."),
    4: _l("Det går bra, og det holder seg uten ekstra hjelp."),
}


def _level_help() -> dict[int, str]:
    return {level: str(text) for level, text in LEVEL_HELP.items()}


def _common(access: FamilyAccess) -> dict:
    return {"member": access.member, "family": access.family, "form": ConfirmForm(),
            "level_names": LEVEL_NAMES, "theme_by_code": THEME_BY_CODE}


@blueprint.get(PATH)
@family_session
def minside(member: FamilyMember):
    """Min side's first page: the plan, the journey in plain words, the next meeting, the actions
    the family owns."""
    services.record_self_view(member)
    access = FamilyAccess.of(member)
    info = content.overview(access)
    return render_template("minside/home.html", info=info, level_help=_level_help(), **_common(access))


@blueprint.post(PATH + "/tiltak/<int:action_id>/utfort")
@family_session
def minside_action_done(member: FamilyMember, action_id: int):
    if ConfirmForm().validate_on_submit():
        try:
            action = content.mark_action_done(FamilyAccess.of(member), action_id)
        except ServiceError as error:
            flash(error.message, "error")
        else:
            flash(_("Tiltaket «%(title)s» er markert som utført.", title=action.title), "success")
    return redirect(url_for("cases.minside") + "#tiltak")


# --- my own rating --------------------------------------------------------------------------------

@blueprint.route(PATH + "/vurdering", methods=["GET", "POST"])
@family_session
def minside_rating(member: FamilyMember):
    access = FamilyAccess.of(member)
    themes = content.journey_services.applicable_themes(access.family.id)
    child = content.uses_child_scale(member)
    mine = content.own_ratings(member)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            return redirect(url_for("cases.minside_rating"))
        levels: dict[str, int | None] = {}
        for theme in themes:
            raw = request.form.get(f"level_{theme}", "")
            levels[theme] = int(raw) if raw.isdigit() else None
        notes = {theme: request.form.get(f"note_{theme}") for theme in themes}
        try:
            count = content.save_own_ratings(access, levels, notes)
        except ServiceError as error:
            errors[error.field or ""] = error.message
            status = 422
        else:
            flash(ngettext("Takk! Vurderingen din er lagret (%(num)d tema). Teamet ser den før møtet.",
                           "Takk! Vurderingen din er lagret (%(num)d temaer). Teamet ser den før møtet.", count),
                  "success")
            return redirect(url_for("cases.minside_rating"))
    scale = ({k: f"{CHILD_FACES[k]} {v}" for k, v in CHILD_SCALE.items()} if child
             else {k: str(v) for k, v in LEVEL_NAMES.items()})
    return render_template("minside/rating.html", themes=themes, mine=mine, child=child, scale=scale,
                           errors=errors, level_help=_level_help(), posted=request.form, **_common(access)), status


# --- consents -------------------------------------------------------------------------------------

@blueprint.get(PATH + "/samtykker")
@family_session
def minside_consents(member: FamilyMember):
    access = FamilyAccess.of(member)
    return _consents_page(access)


def _consents_page(access: FamilyAccess, *, error: ServiceError | None = None, status: int = 200):
    agencies = db.session.scalars(db.select(Agency).where(Agency.lab_id == access.family.lab_id)
                                  .order_by(Agency.name)).all()
    subjects = [m for m in access.family.members if m.id in access.member_ids]
    return render_template("minside/consents.html", lines=content.my_consents(access), agencies=agencies,
                           purposes=ConsentPurpose.lazy_labels(), categories=CATEGORY_LABELS, subjects=subjects,
                           error=error, **_common(access)), status


def _int(name: str) -> int | None:
    raw = (request.form.get(name) or "").strip()
    return int(raw) if raw.isdigit() else None


@blueprint.post(PATH + "/samtykker")
@family_session
def minside_consent_give(member: FamilyMember):
    access = FamilyAccess.of(member)
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("cases.minside_consents"))
    subject = request.form.get("subject", "")
    try:
        content.give_own_consent(access, agency=_int("agency"), purpose=request.form.get("purpose"),
                                 subject=int(subject) if subject.isdigit() else None,
                                 categories=request.form.getlist("categories"))
    except ServiceError as error:
        return _consents_page(access, error=error, status=422)
    flash(_("Samtykket er gitt og signert elektronisk."), "success")
    return redirect(url_for("cases.minside_consents"))


@blueprint.post(PATH + "/samtykker/<int:consent_id>/trekk")
@family_session
def minside_consent_withdraw(member: FamilyMember, consent_id: int):
    access = FamilyAccess.of(member)
    if ConfirmForm().validate_on_submit():
        try:
            row = content.withdraw_own_consent(access, consent_id)
        except ServiceError as error:
            return _consents_page(access, error=error, status=error.status if error.status != 400 else 422)
        flash(_("Samtykket til %(agency)s er trukket tilbake. Etaten ser ikke lenger opplysningene.",
                agency=row.agency.name), "success")
    return redirect(url_for("cases.minside_consents"))


@blueprint.post(PATH + "/samtykker/<int:consent_id>/signer")
@family_session
def minside_consent_sign(member: FamilyMember, consent_id: int):
    access = FamilyAccess.of(member)
    if ConfirmForm().validate_on_submit():
        try:
            content.sign(access, consent_id, acr=session.get(ACR))
        except ServiceError as error:
            return _consents_page(access, error=error, status=error.status if error.status != 400 else 422)
        flash(_("Samtykkeskjemaet er signert elektronisk."), "success")
    return redirect(url_for("cases.minside_consents"))


@blueprint.get(PATH + "/samtykker/<int:consent_id>/skjema.pdf")
@family_session
def minside_consent_form(member: FamilyMember, consent_id: int):
    """The consent form to read before signing it (bokmål, or English with ``?lang=en``)."""
    access = FamilyAccess.of(member)
    consent = content.consent_for_form(access, consent_id)
    lang = request.args.get("lang", "nb")
    if lang not in form_pdf.LANGUAGES:
        lang = "nb"
    return pdf_download(form_pdf.render_consent_form(consent, language=lang), f"samtykke-{consent.id}-{lang}.pdf")


# --- access log, export, progress report ----------------------------------------------------------

@blueprint.get(PATH + "/innsyn")
@family_session
def minside_access_log(member: FamilyMember):
    access = FamilyAccess.of(member)
    log = content.my_access_log(access, fmt="html")
    lines = audit_log.lines(log)[-audit_log.MAX_DOCUMENT_LINES:]
    return render_template("minside/access_log.html", lines=list(reversed(lines)), **_common(access))


@blueprint.get(PATH + "/innsyn.pdf")
@family_session
def minside_access_log_pdf(member: FamilyMember):
    access = FamilyAccess.of(member)
    log = content.my_access_log(access, fmt="pdf")
    lines = audit_log.lines(log)[-audit_log.MAX_DOCUMENT_LINES:]
    html = render_template("minside/access_log_pdf.html", lines=lines, cut=0, printed_at=utcnow(),
                           **_common(access))
    return pdf_download(render_pdf(html), "innsynslogg-min-side.pdf")


@blueprint.get(PATH + "/mine-opplysninger.json")
@family_session
def minside_export_json(member: FamilyMember):
    data = content.export(FamilyAccess.of(member), fmt="json")
    return attachment(json.dumps(data, ensure_ascii=False, indent=2), "mine-opplysninger.json", "application/json")


@blueprint.get(PATH + "/mine-opplysninger.pdf")
@family_session
def minside_export_pdf(member: FamilyMember):
    access = FamilyAccess.of(member)
    data = content.export(access, fmt="pdf")
    html = render_template("minside/export_pdf.html", data=data, printed_at=utcnow(), **_common(access))
    return pdf_download(render_pdf(html), "mine-opplysninger.pdf")
