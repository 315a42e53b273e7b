"""Consents per agency and purpose: record, renew, withdraw."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from velferdslab.audit.actions import AuditAction
from velferdslab.cases.access import Access
from velferdslab.cases.consent import forms, services
from velferdslab.cases.consent.models import Consent
from velferdslab.cases.gate import family_route
from velferdslab.cases.web import _agency_choices, _attach, _done, _user, blueprint
from velferdslab.core.errors import ConflictError, ServiceError
from velferdslab.core.forms import render_form
from velferdslab.core.models import today_local
from velferdslab.core.permissions import LOGIN, requires


@blueprint.route("/familier/<int:family_id>/samtykke", methods=["GET", "POST"])
@requires(LOGIN)
@family_route(AuditAction.CONSENT_VIEW, content=False)
def consents(access: Access):
    """Consents per agency and purpose. The team's lead records them (never for their own agency):
    that is how a member's gate opens."""
    family_id = access.family.id
    form = forms.ConsentForm()
    form.agency_id.choices = _agency_choices(access.family.lab_id, None)
    form.given_by_member_id.choices = forms.member_choices(family_id)
    if request.method == "GET":
        form.given_on.data = today_local()
    if form.validate_on_submit():
        try:
            services.give_consent(access, actor=_user(), agency_id=form.agency_id.data, purpose=form.purpose.data,
                                  given_by_member_id=form.given_by_member_id.data, given_on=form.given_on.data,
                                  expires_on=form.expires_on.data)
        except ServiceError as error:
            _attach(form, error, "agency_id")
        else:
            return _done(_("Samtykket er registrert."), family_id, "cases.consents")
    rows = services.consents(family_id)
    superseded = {c.supersedes_id for c in rows if c.supersedes_id}
    return render_form("cases/consents.html", form, family=access.family, access=access, consents=rows,
                       superseded=superseded, today=today_local(), is_valid=services.consent_is_valid,
                       may_confirm=lambda consent: services.may_confirm(access, _user(), consent))


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
    family_id = access.family.id
    form = forms.WithdrawForm()
    form.by_member_id.choices = forms.member_choices(family_id)
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
