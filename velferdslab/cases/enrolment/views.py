"""The enrolment page: start, close, refer again."""

from __future__ import annotations

from typing import Any

from flask import render_template, url_for
from flask_babel import format_date
from flask_babel import gettext as _

from velferdslab.audit.actions import AuditAction
from velferdslab.cases.access import Access
from velferdslab.cases.confirm import confirmation_page, confirmed
from velferdslab.cases.enrolment import forms, services
from velferdslab.cases.enrolment.models import Enrolment
from velferdslab.cases.gate import family_route
from velferdslab.cases.web import _agency_choices, _attach, _done, _user, blueprint, template_globals
from velferdslab.core.errors import ServiceError
from velferdslab.core.models import today_local
from velferdslab.core.permissions import LOGIN, requires

template_globals(enrolment_status_labels=forms.ENROLMENT_STATUS_LABELS,
                 close_reason_labels=forms.CLOSE_REASON_LABELS)


def _enrolment_page(access: Access, start: Any = None, close: Any = None, again: Any = None,
                    status: int = 200) -> tuple[str, int]:
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
@family_route(AuditAction.ENROLMENT_VIEW)
def enrolment(access: Access) -> Any:
    return _enrolment_page(access)


@blueprint.post("/familier/<int:family_id>/deltakelse/<int:enrolment_id>/start")
@requires(LOGIN)
@family_route(load={"enrolment": Enrolment})
def enrolment_start(access: Access, enrolment: Enrolment) -> Any:
    form = forms.StartForm()
    if form.validate_on_submit():
        try:
            services.activate_enrolment(access, enrolment, actor=_user(), started_on=form.started_on.data)
        except ServiceError as error:
            _attach(form, error, "started_on")
        else:
            return _done(_("Familien har startet i laben."), access.family.id, "cases.enrolment")
    return _enrolment_page(access, start=form, status=422)


@blueprint.post("/familier/<int:family_id>/deltakelse/<int:enrolment_id>/avslutt")
@requires(LOGIN)
@family_route(load={"enrolment": Enrolment})
def enrolment_close(access: Access, enrolment: Enrolment) -> Any:
    """Close the enrolment — after a confirmation page that says when and what follows."""
    form = forms.CloseForm()
    if form.validate_on_submit():
        try:
            closed_on, follow_ups = services.check_close_enrolment(access, enrolment, actor=_user(),
                                                                   closed_on=form.closed_on.data,
                                                                   reason=form.reason.data)
            if not confirmed():
                return confirmation_page(
                    family=access.family, title=_("Avslutte deltakelsen for %(family)s?",
                                                  family=access.family.household_name),
                    consequences=[
                        _("Deltakelsen avsluttes %(date)s. Grunn: %(reason)s.", date=format_date(closed_on, "long"),
                          reason=forms.CLOSE_REASON_LABELS[form.reason.data]),
                        _("Oppfølgingsvurderingene forfaller %(first)s og %(second)s.",
                          first=format_date(follow_ups["follow_up_6"], "long"),
                          second=format_date(follow_ups["follow_up_12"], "long")),
                        _("Teamet beholder tilgangen. Avslutningen kan ikke angres, men familien kan henvises "
                          "på nytt.")],
                    confirm=_("Ja, avslutt deltakelsen"), back=url_for("cases.enrolment", family_id=access.family.id))
            services.close_enrolment(access, enrolment, actor=_user(), closed_on=form.closed_on.data,
                                     reason=form.reason.data)
        except ServiceError as error:
            _attach(form, error, "closed_on")
        else:
            return _done(_("Deltakelsen for %(family)s er avsluttet. Oppfølging etter 6 og 12 måneder er planlagt.",
                           family=access.family.household_name), access.family.id, "cases.enrolment")
    return _enrolment_page(access, close=form, status=422)


@blueprint.post("/familier/<int:family_id>/deltakelse/ny")
@requires(LOGIN)
@family_route()
def enrolment_new(access: Access) -> Any:
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
            return _done(_("Familien er henvist på nytt. Historikken er beholdt."), access.family.id,
                         "cases.enrolment")
    return _enrolment_page(access, again=form, status=422)
