"""*Varsler* (the list and the bell's count), e-mail preferences, the private calendar feed, a
meeting's ``.ics`` (behind the family gate) and the administrators' delivery status. Only
create_app imports this module."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction, Purpose
from velferdslab.cases.access import Access
from velferdslab.cases.gate import accessible_families, family_route
from velferdslab.cases.meetings.models import Meeting
from velferdslab.core.models import today_local
from velferdslab.core.permissions import LOGIN, Permission, public, requires
from velferdslab.extensions import db
from velferdslab.notify import calendar, services
from velferdslab.notify.models import Channel, DeliveryStatus, Kind

blueprint = Blueprint("notify", __name__, template_folder="templates")
ICS = "text/calendar; charset=utf-8"


def _safe_next(default: str) -> str:
    target = request.form.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else default


@blueprint.get("/varsler")
@requires(LOGIN)
def notifications():
    unread_only = request.args.get("ulest") == "1"
    rows = services.list_for(current_user, unread_only=unread_only)
    return render_template(
        "notify/list.html", rows=rows, unread_only=unread_only, unread=services.unread_count(current_user)
    )


@blueprint.get("/varsler/<int:notification_id>")
@requires(LOGIN)
def open_notification(notification_id: int):
    """Mark the notification read and go to its item; the item's page applies the family gate itself."""
    row = services.set_read(current_user, notification_id)
    return redirect(row.link)


@blueprint.post("/varsler/<int:notification_id>/lest")
@requires(LOGIN)
def mark_read(notification_id: int):
    services.set_read(current_user, notification_id, read=request.form.get("read", "1") == "1")
    return redirect(_safe_next(url_for("notify.notifications")))


@blueprint.post("/varsler/alle-lest")
@requires(LOGIN)
def mark_all_read():
    count = services.mark_all_read(current_user)
    flash(_("%(n)d varsler merket som lest.", n=count), "success")
    return redirect(url_for("notify.notifications"))


@blueprint.route("/varsler/innstillinger", methods=["GET", "POST"])
@requires(LOGIN)
def preferences():
    if request.method == "POST":
        services.save_preferences(
            current_user, {kind: request.form.get(kind, "") for kind in Kind.codes() if kind in request.form}
        )
        flash(_("Varslingsvalgene er lagret."), "success")
        return redirect(url_for("notify.preferences"))
    return render_template(
        "notify/preferences.html", chosen=services.preferences(current_user), kinds=list(Kind), channels=list(Channel)
    )


@blueprint.route("/kalender", methods=["GET", "POST"])
@requires(Permission.FAMILIES_WORK)
def calendar_settings():
    secret = None
    if request.method == "POST":
        if request.form.get("action") == "revoke":
            if services.revoke_calendar_feed(current_user):
                flash(_("Kalenderadressen er trukket tilbake og virker ikke lenger."), "success")
            return redirect(url_for("notify.calendar_settings"))
        secret = services.new_calendar_feed(current_user, show_names=request.form.get("show_names") == "1")
    feed = services.calendar_feed(current_user)
    feed_url = url_for("notify.calendar_feed", token=secret, _external=True) if secret else None
    return render_template("notify/calendar.html", feed=feed, feed_url=feed_url)


@blueprint.get("/kalender/<token>.ics")
@public
def calendar_feed(token: str):
    """The private feed: no sign-in, the secret in the address is the key; revoked or unknown is 404."""
    found = services.feed_owner(token)
    if found is None:
        abort(404)
    user, feed = found
    accesses = accessible_families(user)
    if feed.show_names and accesses:  # names leave the app: each family shown is a read, audited
        audit.record_for_families(
            AuditAction.FAMILY_LIST,
            {a.family.id: {"gated": a.gated} for a in accesses},
            actor=user,
            purpose=Purpose.MY_FAMILIES,
        )
    body = calendar.feed(accesses, show_names=feed.show_names, today=today_local(), db_session=db.session)
    return Response(body, mimetype="text/calendar", headers={"Cache-Control": "private, no-store", "Content-Type": ICS})


@blueprint.get("/familier/<int:family_id>/moter/<int:meeting_id>/kalender.ics")
@requires(LOGIN)
@family_route(AuditAction.MEETING_VIEW, content=False, load={"meeting": Meeting})
def meeting_ics(access: Access, meeting: Meeting):
    feed = services.calendar_feed(current_user)
    household = access.family.household_name if feed is not None and feed.show_names else None
    return Response(
        calendar.single(meeting, household=household),
        mimetype="text/calendar",
        headers={
            "Content-Type": ICS,
            "Cache-Control": "private, no-store",
            "Content-Disposition": f'attachment; filename="mote-{meeting.id}.ics"',
        },
    )


@blueprint.get("/admin/varsler")
@requires(Permission.ADMIN_USERS)
def deliveries():
    return render_template(
        "notify/deliveries.html", rows=services.deliveries(current_user), statuses=DeliveryStatus.labels()
    )


@blueprint.post("/admin/varsler/<int:delivery_id>/send-igjen")
@requires(Permission.ADMIN_USERS)
def resend(delivery_id: int):
    services.resend(current_user, delivery_id)
    flash(_("E-posten er lagt i kø igjen."), "success")
    return redirect(url_for("notify.deliveries"))
