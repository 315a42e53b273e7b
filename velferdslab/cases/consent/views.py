"""Consents per member, agency, purpose and kind of information: record, renew, withdraw, print."""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _

from velferdslab.audit import undo
from velferdslab.audit.actions import AuditAction
from velferdslab.cases.access import Access
from velferdslab.cases.confirm import confirmation_page, confirmed, flash_done
from velferdslab.cases.consent import form_pdf, forms, services
from velferdslab.cases.consent.models import CATEGORY_LABELS, Consent, purpose_label
from velferdslab.cases.gate import family_route
from velferdslab.cases.web import _agency_choices, _attach, _done, _user, blueprint
from velferdslab.core.errors import ConflictError, ServiceError
from velferdslab.core.forms import render_form
from velferdslab.core.models import today_local
from velferdslab.core.pdf import pdf_download
from velferdslab.core.permissions import LOGIN, requires


@blueprint.route("/familier/<int:family_id>/samtykke", methods=["GET", "POST"])
@requires(LOGIN)
@family_route(AuditAction.CONSENT_VIEW, content=False)
def consents(access: Access):
    """Consents per member (or the household), agency, purpose and kind of information. The team's
    lead records them (never for their own agency): that is how a member's gate opens, and what the
    member then sees of the case content."""
    family_id = access.family.id
    form = forms.ConsentForm()
    form.agency.choices = _agency_choices(access.family.lab_id, None)
    form.subject.choices = forms.subject_choices(family_id)
    form.given_by.choices = forms.member_choices(family_id)
    if request.method == "GET":
        form.valid_from.data = today_local()
    if form.validate_on_submit():
        try:
            services.give_consent(access, actor=_user(), agency=form.agency.data, subject=form.subject.data,
                                  given_by=form.given_by.data, purpose=form.purpose.data,
                                  categories=form.categories.data, valid_from=form.valid_from.data,
                                  valid_to=form.valid_to.data, method=form.method.data,
                                  witness_name=form.witness_name.data)
        except ServiceError as error:
            _attach(form, error, "agency")
        else:
            return _done(_("Samtykket er registrert."), family_id, "cases.consents")
    rows = services.consents(family_id)
    superseded = {c.supersedes_id for c in rows if c.supersedes_id}
    return render_form("cases/consents.html", form, family=access.family, access=access, consents=rows,
                       superseded=superseded, today=today_local(), is_valid=services.consent_is_valid,
                       may_confirm=lambda consent: services.may_confirm(access, _user(), consent),
                       purpose_label=purpose_label, category_labels=CATEGORY_LABELS)


@blueprint.get("/familier/<int:family_id>/samtykke/<int:consent_id>/skjema.pdf")
@requires(LOGIN)
@family_route(AuditAction.CONSENT_FORM_PDF, content=False, load={"consent": Consent})
def consent_form_pdf(access: Access, consent: Consent):
    """The consent as a form for the family to read and sign (bokmål, or English with ``?lang=en``)."""
    lang = request.args.get("lang", "nb")
    if lang not in form_pdf.LANGUAGES:
        lang = "nb"
    data = form_pdf.render_consent_form(consent, language=lang)
    return pdf_download(data, f"samtykke-{access.family.id}-{consent.id}-{lang}.pdf")


@blueprint.post("/familier/<int:family_id>/samtykke/<int:consent_id>/bekreft")
@requires(LOGIN)
@family_route(content=False, load={"consent": Consent})
def consent_confirm(access: Access, consent: Consent):
    """A second person confirms a consent recorded by someone of the agency it opens."""
    try:
        services.confirm_consent(access, consent, actor=_user())
    except ConflictError as error:
        flash(error.message, "error")
        return redirect(url_for("cases.consents", family_id=access.family.id), 303)
    return _done(_("Samtykket er bekreftet og gjelder nå."), access.family.id, "cases.consents")


@blueprint.route("/familier/<int:family_id>/samtykke/<int:consent_id>/trekk", methods=["GET", "POST"])
@requires(LOGIN)
@family_route(AuditAction.CONSENT_VIEW, content=False, load={"consent": Consent})
def consent_withdraw(access: Access, consent: Consent):
    """Withdraw a consent — after a confirmation page that says who loses what, and from when."""
    family_id = access.family.id
    form = forms.WithdrawForm()
    form.withdrawn_by.choices = forms.member_choices(family_id)
    if request.method == "GET":
        form.withdrawn_on.data = today_local()
        form.withdrawn_by.data = consent.subject_member_id or consent.given_by_member_id
    if form.validate_on_submit():
        try:
            withdrawn_on, member = services.check_withdrawal(access, consent, withdrawn_on=form.withdrawn_on.data,
                                                             withdrawn_by=form.withdrawn_by.data)
            if not confirmed():
                return confirmation_page(
                    family=access.family,
                    title=_("Trekke tilbake samtykket for %(agency)s?", agency=consent.agency.name),
                    consequences=_withdrawal_consequences(consent, withdrawn_on, member.full_name),
                    confirm=_("Ja, trekk tilbake samtykket"),
                    back=url_for("cases.consents", family_id=family_id),
                    note=_("Du kan angre i %(minutes)s minutter etterpå, så lenge ingenting nytt er registrert for "
                           "samtykket.", minutes=int(undo.window().total_seconds() // 60)))
            row = services.withdraw_consent(access, consent, actor=_user(), withdrawn_on=form.withdrawn_on.data,
                                            withdrawn_by=form.withdrawn_by.data)
        except ServiceError as error:
            _attach(form, error, "withdrawn_on")
        else:
            flash_done(_("Samtykket for %(agency)s (%(purpose)s) er trukket tilbake.", agency=consent.agency.name,
                         purpose=purpose_label(consent.purpose)),
                       undo.latest(AuditAction.CONSENT_WITHDRAW, "consent", row.id),
                       url_for("cases.consent_withdraw_undo", family_id=family_id))
            return redirect(url_for("cases.consents", family_id=family_id))
    title = _("Trekk tilbake samtykke for %(agency)s", agency=consent.agency.name)
    return render_form("cases/simple_form.html", form, family=access.family, title=title,
                       fields=["withdrawn_on", "withdrawn_by"], back=url_for("cases.consents", family_id=family_id),
                       submit=_("Trekk tilbake"))


def _withdrawal_consequences(consent: Consent, withdrawn_on: date, by: str) -> list[str]:
    names, gated = services.withdrawal_consequence(consent, withdrawn_on)
    lines = [_("%(by)s trekker tilbake samtykket til %(agency)s (%(purpose)s) fra %(date)s.", by=by,
               agency=consent.agency.name, purpose=purpose_label(consent.purpose),
               date=format_date(withdrawn_on, "long"))]
    if gated and names:
        lines.append(_("%(names)s mister innsyn i vurderinger, notater, mål og tiltak, og ser bare familiens navn, "
                       "teamet og når teamet har møttes.", names=", ".join(names)))
    elif gated:
        lines.append(_("Ingen i teamet er fra %(agency)s nå; den som kommer til fra etaten, ser bare navn, team og "
                       "møtedatoer.", agency=consent.agency.name))
    else:
        lines.append(_("Et annet gyldig samtykke for %(agency)s gjelder fortsatt, så ingen mister innsyn.",
                       agency=consent.agency.name))
    lines.append(_("Samtykket endres ikke: tilbaketrekningen lagres som en ny rad, og historikken beholdes."))
    return lines


@blueprint.post("/familier/<int:family_id>/samtykke/angre")
@requires(LOGIN)
@family_route(content=False, emergency="none")
def consent_withdraw_undo(access: Access):
    """Undo a withdrawal (within the window, if nothing was recorded for the consent since)."""
    try:
        row = services.undo_withdrawal(access, request.form.get(undo.FIELD), actor=_user())
    except ServiceError as error:
        flash(error.message, "error")
    else:
        flash_done(_("Tilbaketrekningen er angret: samtykket for %(agency)s gjelder som før.",
                     agency=row.agency.name))
    return redirect(url_for("cases.consents", family_id=access.family.id), 303)
