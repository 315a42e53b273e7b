"""Notification e-mail: what it says (a short text and a link, in the user's language, no personal
data) and how it leaves (SMTP with STARTTLS or TLS; in development the console and ``instance/mail/``).

:func:`deliver` sends one delivery and records the outcome: sent (audited: that it was sent, never
its text), skipped (nothing the user may still see), failed after the last try (``smtp_error``),
or failed at once for an address the server refused (``invalid_address``; the lab's administrators
are told) or when production has no mail server set (``not_configured``).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections import Counter
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app, render_template
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction
from velferdslab.auth.models import User
from velferdslab.core.models import utcnow
from velferdslab.extensions import db
from velferdslab.notify import services
from velferdslab.notify.models import DeliveryStatus, Kind, Notification, NotificationDelivery

log = logging.getLogger(__name__)


class SendFailed(Exception):
    """A try failed and another will be made (RQ re-runs the job)."""


class AddressRefused(Exception):
    pass


class NotConfigured(Exception):
    pass


def digest_line(kind: str, count: int) -> str:
    """One line of the daily digest: how many of a kind, no names, no amounts."""
    lines = {
        Kind.SPEND_WAITING: lambda: ngettext(
            "%(num)d utgift venter på din avgjørelse", "%(num)d utgifter venter på din avgjørelse", count
        ),
        Kind.SPEND_APPROVED: lambda: ngettext(
            "%(num)d utgift du ba om er godkjent", "%(num)d utgifter du ba om er godkjent", count
        ),
        Kind.SPEND_REJECTED: lambda: ngettext(
            "%(num)d utgift du ba om er avslått", "%(num)d utgifter du ba om er avslått", count
        ),
        Kind.SPEND_PAID: lambda: ngettext(
            "%(num)d utgift du ba om er utbetalt", "%(num)d utgifter du ba om er utbetalt", count
        ),
        Kind.ACTION_DUE: lambda: ngettext(
            "Du har %(num)d tiltak med frist snart", "Du har %(num)d tiltak med frist snart", count
        ),
        Kind.ACTION_OVERDUE: lambda: ngettext(
            "Du har %(num)d tiltak som har passert fristen", "Du har %(num)d tiltak som har passert fristen", count
        ),
        Kind.ASSESSMENT_DUE: lambda: ngettext(
            "%(num)d vurdering er forfalt i familier du leder",
            "%(num)d vurderinger er forfalt i familier du leder",
            count,
        ),
        Kind.FOLLOW_UP_DUE: lambda: ngettext(
            "%(num)d oppfølging etter 6 eller 12 måneder er forfalt",
            "%(num)d oppfølginger etter 6 eller 12 måneder er forfalt",
            count,
        ),
        Kind.MEETING_TOMORROW: lambda: ngettext("Du har %(num)d møte i morgen", "Du har %(num)d møter i morgen", count),
        Kind.CONSENT_EXPIRING: lambda: ngettext(
            "%(num)d samtykke går ut innen 30 dager", "%(num)d samtykker går ut innen 30 dager", count
        ),
        Kind.EMERGENCY_ACCESS: lambda: ngettext(
            "Nødtilgang er brukt %(num)d gang på familier du leder",
            "Nødtilgang er brukt %(num)d ganger på familier du leder",
            count,
        ),
        Kind.MAIL_REFUSED: lambda: ngettext(
            "%(num)d e-postadresse ble avvist av e-posttjeneren",
            "%(num)d e-postadresser ble avvist av e-posttjeneren",
            count,
        ),
    }
    return lines[Kind(kind)]()


def language_of(user: User) -> str:
    languages = current_app.config["LANGUAGES"]
    return (
        user.locale
        if user.locale is not None and user.locale in languages
        else str(current_app.config["BABEL_DEFAULT_LOCALE"])
    )


def render(user: User, mode: str, rows: list[Notification]) -> tuple[str, str]:
    """(subject, body) of the mail, in the user's language."""
    base = current_app.config["PUBLIC_URL"]
    with force_locale(language_of(user)):
        if mode == "immediate":
            row = rows[0]
            subject = _("Velferdslab: %(text)s", text=row.text)
            body = render_template(
                "notify/mail/immediate.txt",
                text=row.text,
                url=base + row.link,
                settings_url=base + services.path_for("notify.preferences"),
            )
        else:
            counts = Counter(r.kind for r in rows)
            lines = [digest_line(kind, counts[kind]) for kind in Kind.codes() if counts[kind]]
            subject = _("Velferdslab: dine varsler")
            body = render_template(
                "notify/mail/digest.txt",
                lines=lines,
                url=base + services.path_for("notify.notifications"),
                settings_url=base + services.path_for("notify.preferences"),
            )
    return subject, body


def message(user: User, subject: str, body: str) -> EmailMessage:
    settings = current_app.config["SMTP"]
    mail = EmailMessage()
    mail["From"] = settings["sender"]
    mail["To"] = user.email
    mail["Subject"] = subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=settings["sender"].rpartition("@")[2] or None)
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(body)
    return mail


def transmit(mail: EmailMessage, name: str) -> None:
    """Hand the mail to the configured transport. Raises AddressRefused, NotConfigured, or OSError /
    smtplib.SMTPException for anything a later try may get past."""
    settings = current_app.config["SMTP"]
    if settings["backend"] == "disabled":
        raise NotConfigured()
    if settings["backend"] == "console":
        folder = Path(settings["mail_dir"])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.eml").write_bytes(mail.as_bytes())
        log.info("e-mail (development, not sent) to %s:\n%s", mail["To"], mail.as_string())
        return
    context = ssl.create_default_context()
    connection: smtplib.SMTP
    if settings["security"] == "tls":
        connection = smtplib.SMTP_SSL(settings["host"], settings["port"], timeout=settings["timeout"], context=context)
    else:
        connection = smtplib.SMTP(settings["host"], settings["port"], timeout=settings["timeout"])
    with connection:
        if settings["security"] == "starttls":
            connection.starttls(context=context)
        if settings["user"]:
            connection.login(settings["user"], settings["password"])
        try:
            connection.send_message(mail)
        except smtplib.SMTPRecipientsRefused as refused:
            raise AddressRefused() from refused


def _finish(
    delivery: NotificationDelivery, status: str, error: str | None, action: AuditAction | None, count: int
) -> str:
    delivery.status, delivery.error = status, error
    if status == DeliveryStatus.SENT:
        delivery.sent_at = delivery.last_attempt_at
    if action is not None:
        # That a notification went out (or did not), by which means, how many: never its text.
        audit.record(
            action,
            lab_id=delivery.lab_id,
            object_type="notification_delivery",
            object_id=delivery.id,
            summary={
                "mode": delivery.mode,
                "notifications": count,
                "attempts": delivery.attempts,
                **({"error": error} if error else {}),
            },
        )
    db.session.commit()
    return status


def deliver(delivery_id: int, *, final: bool) -> str:
    """Send one delivery now and commit its outcome. Raises SendFailed when it will be tried again."""
    delivery = db.session.get(NotificationDelivery, delivery_id)
    if delivery is None or delivery.status != DeliveryStatus.QUEUED:
        return "skipped"
    user = db.session.get(User, delivery.user_id)
    # Checked now, not when it was queued: a user who left a family's team hears nothing more of it.
    rows = (
        []
        if user is None or not user.active
        else list(
            db.session.scalars(
                select(Notification)
                .where(Notification.delivery_id == delivery.id, services.visible_clause(user))
                .order_by(Notification.id)
            )
        )
    )
    if not rows or user is None:
        return _finish(delivery, DeliveryStatus.SKIPPED, None, None, 0)
    subject, body = render(user, delivery.mode, rows)
    delivery.attempts += 1
    delivery.last_attempt_at = utcnow()
    try:
        transmit(message(user, subject, body), f"{utcnow():%Y%m%dT%H%M%S}-{delivery.id}")
    except AddressRefused:
        services.report_refused_address(delivery)
        return _finish(delivery, DeliveryStatus.FAILED, "invalid_address", AuditAction.NOTIFY_MAIL_FAILED, len(rows))
    except NotConfigured:
        log.warning("notification e-mail %s not sent: VELFERDSLAB_SMTP_HOST is not set", delivery.id)
        return _finish(delivery, DeliveryStatus.FAILED, "not_configured", AuditAction.NOTIFY_MAIL_FAILED, len(rows))
    except (OSError, smtplib.SMTPException) as error:
        log.warning(
            "notification e-mail %s: try %s failed (%s)%s",
            delivery.id,
            delivery.attempts,
            type(error).__name__,
            "; giving up" if final else "; will retry",
        )
        if final:
            return _finish(delivery, DeliveryStatus.FAILED, "smtp_error", AuditAction.NOTIFY_MAIL_FAILED, len(rows))
        db.session.commit()
        raise SendFailed(str(delivery.id)) from error
    return _finish(delivery, DeliveryStatus.SENT, None, AuditAction.NOTIFY_MAIL_SENT, len(rows))
