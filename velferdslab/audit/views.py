"""The audit review (administrators) and emergency access (lab management). Only ``create_app``
imports this module."""

from __future__ import annotations

import io
from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from velferdslab.audit import directory, emergency, review
from velferdslab.audit.forms import FLAG_LABELS, ConfirmForm, ReviewFilterForm
from velferdslab.audit.labels import action_label
from velferdslab.core import navigation, spreadsheet
from velferdslab.core.errors import ServiceError, error_response
from velferdslab.core.forms import choices
from velferdslab.core.i18n import OSLO
from velferdslab.core.models import utcnow
from velferdslab.core.pdf import attachment
from velferdslab.core.permissions import requires

blueprint = Blueprint("audit", __name__, template_folder="templates")

DEFAULT_DAYS = 7


def _lab_choices(name: str, empty) -> list:
    rows = directory.lab_names(name, current_user.lab_id)
    return choices([(0, empty)] + [(row.id, row.name) for row in rows])


class BadFilter(Exception):
    def __init__(self, errors: dict) -> None:
        super().__init__("bad audit review filter")
        self.errors = errors


@blueprint.errorhandler(BadFilter)
def _bad_filter(error: BadFilter):
    return error_response(422, error.errors)


def _filters() -> tuple[ReviewFilterForm, review.Filters]:
    form = ReviewFilterForm(request.args)
    form.user_id.choices = _lab_choices("people", _("Alle brukere"))
    form.agency_id.choices = _lab_choices("agencies", _("Alle etater"))
    if not form.validate():
        # An impossible filter is refused by name, not silently dropped: dropping ``family_id``
        # would show every family's events under a filter the reader believes is applied.
        raise BadFilter({str(form[name].label.text): list(messages) for name, messages in form.errors.items()})
    today = utcnow().astimezone(OSLO).date()
    end = form.end.data if form.end.data and not form.end.errors else today
    start = form.start.data if form.start.data and not form.start.errors else end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        start, end = end, start
    threshold = current_app.config.get("AUDIT_MANY_FAMILIES_PER_DAY", 20)
    if form.threshold.data and not form.threshold.errors:
        threshold = form.threshold.data
    form.start.data, form.end.data, form.threshold.data = start, end, threshold
    flag = form.flag.data if form.flag.data in ("any", *review.FLAGS) else None
    filters = review.Filters(lab_id=current_user.lab_id, start=start, end=end,
                             user_id=form.user_id.data or None if not form.user_id.errors else None,
                             agency_id=form.agency_id.data or None if not form.agency_id.errors else None,
                             family_id=form.family_id.data if not form.family_id.errors else None,
                             action=(form.action.data or "").strip() or None, flag=flag, threshold=threshold)
    return form, filters


@blueprint.get("/admin/revisjon")
@requires("audit.review")
def review_page():
    form, filters = _filters()
    number = request.args.get("side", 1, type=int)
    result = review.read_page(filters, number)
    args = {k: v for k, v in request.args.items() if k != "side"}
    return render_template("audit/review.html", form=form, filters=filters, result=result, args=args,
                           many=review.many_families(filters), grants=review.emergency_grants(filters),
                           flag_labels=FLAG_LABELS, action_label=action_label, confirm=ConfirmForm(),
                           now=utcnow())


CSV_HEADER = ["tid", "bruker_id", "bruker", "rolle", "etat", "familie", "handling", "objekt", "objekt_id",
              "formål", "adresse", *review.FLAGS]


@blueprint.get("/admin/revisjon.csv")
@requires("audit.review")
def review_csv():
    _form, filters = _filters()
    rows = review.read_export(filters)
    out = io.StringIO()
    out.write("\ufeff")  # Excel opens UTF-8 correctly only with the byte order mark
    writer = spreadsheet.writer(out)  # every cell formula-safe
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow([row.occurred_at.astimezone(OSLO).isoformat(timespec="seconds"), row.actor_id,
                         row.actor_name, row.actor_role, row.agency_name, row.family_id, row.action,
                         row.object_type, row.object_id, row.purpose, row.address,
                         *[int(getattr(row, f)) for f in review.FLAGS]])
    name = f"revisjon-{filters.start.isoformat()}-{filters.end.isoformat()}.csv"
    return attachment(out.getvalue(), name, "text/csv; charset=utf-8")


@blueprint.post("/admin/revisjon/nodtilgang/<int:grant_id>/gjennomgatt")
@requires("audit.review")
def review_grant(grant_id: int):
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            emergency.mark_reviewed(current_user, grant_id)
        except ServiceError as error:
            flash(error.message, "error")
            return redirect(url_for("audit.review_page", flag="emergency"))
        flash(_("Nødtilgangen er merket som gjennomgått."), "success")
    return redirect(request.referrer if _same_site(request.referrer) else url_for("audit.review_page"))


def _same_site(url: str | None) -> bool:
    return bool(url and url.startswith(request.host_url))


def start_panel(user) -> dict | None:
    """On an administrator's start page: emergency accesses nobody has reviewed yet."""
    if not user.has_permission("audit.review"):
        return None
    unreviewed, oldest = review.unreviewed_grants(user.lab_id)
    since = oldest.astimezone(OSLO).date().isoformat() if oldest else None
    return {"templates": ["audit/_start_panel.html"], "audit_unreviewed": unreviewed, "audit_since": since}


navigation.register_start_panel(start_panel, order=10)
navigation.register(_l("Revisjon"), "audit.review_page", "audit.review", order=85)
