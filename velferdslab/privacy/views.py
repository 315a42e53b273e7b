"""The family's privacy page: access log (HTML, PDF), export (JSON, PDF), restriction and erasure;
and the family-page panels (emergency-access banner, link to this page). Only ``create_app``
imports this module."""

from __future__ import annotations

import json
from datetime import date, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from velferdslab.audit import access_log as audit_log
from velferdslab.audit import emergency
from velferdslab.audit.actions import AuditAction, Purpose
from velferdslab.audit.forms import ConfirmForm
from velferdslab.cases import gate
from velferdslab.cases.access import Access
from velferdslab.cases.consent.models import CATEGORY_LABELS
from velferdslab.cases.gate import family_route
from velferdslab.core import policy
from velferdslab.core.errors import ServiceError
from velferdslab.core.forms import add_error, render_form
from velferdslab.core.models import utcnow
from velferdslab.core.pdf import attachment, pdf_download, render_pdf
from velferdslab.core.permissions import Permission, requires
from velferdslab.privacy import services
from velferdslab.privacy.forms import EraseForm
from velferdslab.privacy.inventory import BY_TABLE

blueprint = Blueprint("privacy", __name__, template_folder="templates")
PERMISSION = Permission.PRIVACY_REQUESTS
BANNER_DAYS = 30


def _handler(access: Access) -> Access:
    """403 for those who see the family but do not handle its requests (the gate gave the 404)."""
    services.require_handler(current_user, access)
    return access


# The family's rights are handled on the family's behalf, also through emergency access, and
# also once the family is restricted; each service audits its own read or change.
handler_route = family_route(content=False, emergency="write")


@blueprint.get("/familier/<int:family_id>/personvern")
@requires(PERMISSION)
@family_route(AuditAction.FAMILY_PRIVACY_VIEW, purpose=Purpose.FAMILY_REQUEST, content=False, emergency="write")
def overview(access: Access):
    _handler(access)
    return render_template("privacy/overview.html", family=access.family, access=access,
                           closed=services.is_closed(access.family), erase_form=EraseForm(), confirm=ConfirmForm())


@blueprint.get("/familier/<int:family_id>/innsynslogg")
@requires(PERMISSION)
@handler_route
def access_log(access: Access):
    since, until = _period()
    log = services.read_access_log(access, current_user, fmt="html", since=since, until=until)
    return render_template("privacy/access_log.html", family=access.family, log=log, **_document(log, since, until))


@blueprint.get("/familier/<int:family_id>/innsynslogg.pdf")
@requires(PERMISSION)
@handler_route
def access_log_pdf(access: Access):
    family_id = access.family.id
    since, until = _period()
    log = services.read_access_log(access, current_user, fmt="pdf", since=since, until=until)
    html = render_template("privacy/access_log_pdf.html", family=access.family, log=log, printed_at=utcnow(),
                           **_document(log, since, until))
    return pdf_download(render_pdf(html), f"innsynslogg-familie-{family_id}.pdf")


def _period() -> tuple[date | None, date | None]:
    """``?fra=`` and ``?til=`` (YYYY-MM-DD): the period of the log; a bad date is a 422 naming it."""
    dates: list[date | None] = []
    for name in ("fra", "til"):
        raw = (request.args.get(name) or "").strip()
        try:
            day = date.fromisoformat(raw) if raw else None
        except ValueError:
            day = None
            raise ServiceError(_("Skriv datoen som ÅÅÅÅ-MM-DD."), name) from None
        if day is not None and not date(2000, 1, 1) <= day <= date(2100, 12, 31):
            raise ServiceError(_("Datoen må være mellom 2000 og 2100."), name)
        dates.append(day)
    return dates[0], dates[1]


def _document(log: list[dict], since: date | None, until: date | None) -> dict:
    """The lines the page and the PDF print: repeated entries grouped, at most the newest
    ``MAX_DOCUMENT_LINES`` (a longer log is read by period), so the document stays quick to make."""
    lines = audit_log.lines(log)
    shown = lines[-audit_log.MAX_DOCUMENT_LINES:]
    return {"lines": shown, "cut": len(lines) - len(shown), "since": since, "until": until}


@blueprint.get("/familier/<int:family_id>/eksport.json")
@requires(PERMISSION)
@handler_route
def export_json(access: Access):
    family_id = access.family.id
    data = services.export(access, current_user, fmt="json")
    return attachment(json.dumps(data, ensure_ascii=False, indent=2), f"familie-{family_id}.json", "application/json")


@blueprint.get("/familier/<int:family_id>/eksport.pdf")
@requires(PERMISSION)
@handler_route
def export_pdf(access: Access):
    family_id = access.family.id
    data = services.export(access, current_user, fmt="pdf")
    html = render_template("privacy/export_pdf.html", family=access.family, data=data, labels=BY_TABLE,
                           category_labels=CATEGORY_LABELS, printed_at=utcnow())
    return pdf_download(render_pdf(html), f"familie-{family_id}.pdf")


@blueprint.post("/familier/<int:family_id>/sperr")
@requires(PERMISSION)
@handler_route
def restrict(access: Access):
    family_id = access.family.id
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            services.restrict(access, current_user._get_current_object())
        except ServiceError as error:
            flash(error.message, "error")
            return redirect(url_for("privacy.overview", family_id=family_id))
        flash(_("Familien er sperret. Den er nå skjult for alle, også teamet, og kan bare nås med nødtilgang."),
              "success")
        return redirect(url_for("dashboard.index"))
    return redirect(url_for("privacy.overview", family_id=family_id))


@blueprint.post("/familier/<int:family_id>/opphev-sperring")
@requires(PERMISSION)
@handler_route
def unrestrict(access: Access):
    family_id = access.family.id
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            services.unrestrict(access, current_user._get_current_object())
        except ServiceError as error:
            flash(error.message, "error")
        else:
            flash(_("Sperringen er opphevet."), "success")
    return redirect(url_for("privacy.overview", family_id=family_id))


@blueprint.post("/familier/<int:family_id>/slett")
@requires(PERMISSION)
@handler_route
def erase(access: Access):
    form = EraseForm()
    if form.validate_on_submit():
        try:
            services.erase(access, current_user._get_current_object(), confirm_family_id=form.confirm_family_id.data,
                           no_duty_to_keep=form.no_duty_to_keep.data)
        except ServiceError as error:
            add_error(form, error, "confirm_family_id")
        else:
            flash(_("Familiens personopplysninger er slettet. Anonyme nivåer og utgifter er beholdt for statistikken."),
                  "success")
            return redirect(url_for("dashboard.index"))
    return render_form("privacy/overview.html", form, family=access.family, access=access,
                       closed=services.is_closed(access.family), erase_form=form, confirm=ConfirmForm())


# --- panels on the family page --------------------------------------------------------------------

def emergency_panel(family, user, gated: bool) -> dict | None:
    """Emergency access is visible on the family page: who broke the glass, when and why."""
    grants = emergency.grants_for_family(family.id, since=utcnow() - timedelta(days=BANNER_DAYS))
    if not grants:
        return None
    return {"template": "privacy/emergency_banner.html", "grants": grants, "is_active": emergency.is_active}


def privacy_panel(family, user, gated: bool) -> dict | None:
    """A link to the family's privacy page, for the lead and for emergency access."""
    if not user.has_permission(PERMISSION):
        return None
    # The gate has looked the access up already in this request (the same key as the budget panel's).
    access = (policy.remember(("family_access", user.id, family.id), lambda: gate.family_access(user, family.id))
              or gate.emergency_access(user, family.id))
    if access is not None and policy.can(user, "handle_privacy", access):
        return {"template": "privacy/panel.html"}
    return None


def _register_panels() -> None:
    from velferdslab.cases.panels import FAMILY_PANELS

    for panel in (emergency_panel, privacy_panel):
        if panel not in FAMILY_PANELS:
            FAMILY_PANELS.append(panel)


_register_panels()
