"""Emergency access (lab management and administrators): break the glass for one family, see and
end one's own grants. Only ``create_app`` imports this module."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from velferdslab.audit import emergency
from velferdslab.audit.forms import ConfirmForm, EmergencyForm
from velferdslab.cases.emergency import services
from velferdslab.core import navigation
from velferdslab.core.errors import ServiceError
from velferdslab.core.forms import add_error, render_form
from velferdslab.core.models import OSLO
from velferdslab.core.permissions import Permission, requires

blueprint = Blueprint("emergency", __name__, template_folder="templates")


@blueprint.route("/nodtilgang", methods=["GET", "POST"])
@requires(Permission.EMERGENCY_ACCESS)
def emergency_page() -> Any:
    form = EmergencyForm()
    if form.validate_on_submit():
        # Both fields are DataRequired, so a form that validated has them.
        assert form.family_id.data is not None and form.reason.data is not None
        try:
            row = services.grant(current_user, form.family_id.data, reason=form.reason.data, hours=form.hours.data)
        except ServiceError as error:
            add_error(form, error, "family_id")
        else:
            flash(_("Nødtilgang gitt til kl. %(time)s. Bruken logges og gjennomgås.",
                    time=row.expires_at.astimezone(OSLO).strftime("%H:%M")), "success")
            return redirect(url_for("cases.family_page", family_id=row.family_id))
    grants = emergency.grants_of_user(current_user.id)
    return render_form("audit/emergency.html", form, grants=grants, is_active=emergency.is_active,
                       confirm=ConfirmForm())


@blueprint.post("/nodtilgang/<int:grant_id>/avslutt")
@requires(Permission.EMERGENCY_ACCESS)
def emergency_end(grant_id: int) -> Any:
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            emergency.end(current_user, grant_id)
        except ServiceError as error:
            flash(error.message, "error")
        else:
            flash(_("Nødtilgangen er avsluttet."), "success")
    return redirect(url_for("emergency.emergency_page"))


navigation.register(_l("Nødtilgang"), "emergency.emergency_page", Permission.EMERGENCY_ACCESS, order=75)
