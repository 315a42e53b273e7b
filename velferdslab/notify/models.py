"""Notifications (issue 18): what a user is told, how each is mailed, what they asked for, and
their private calendar feed.

A notification's ``dedupe_key`` is unique: whatever creates one (a service's event, the daily
check) names the occasion (``action_overdue:17:2026-12-01``), so running the check twice stores
nothing twice and mails nothing twice. No row holds a family's name, a note or an amount: the
text is the kind's, the link points at the item, whose own page is still behind the family gate.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from velferdslab.core.models import UTCDateTime, one_of, utcnow
from velferdslab.core.vocabulary import Vocabulary
from velferdslab.extensions import Model


class Kind(Vocabulary):
    """What a notification is about; the label is the whole text the user sees (no personal data)."""

    SPEND_WAITING = "spend_waiting", _l("En utgift venter på din avgjørelse")
    SPEND_APPROVED = "spend_approved", _l("En utgift du ba om er godkjent")
    SPEND_REJECTED = "spend_rejected", _l("En utgift du ba om er avslått")
    SPEND_PAID = "spend_paid", _l("En utgift du ba om er utbetalt")
    ACTION_DUE = "action_due", _l("Et tiltak du eier har frist snart")
    ACTION_OVERDUE = "action_overdue", _l("Et tiltak du eier har passert fristen")
    ASSESSMENT_DUE = "assessment_due", _l("En vurdering er forfalt for en familie du leder")
    FOLLOW_UP_DUE = "follow_up_due", _l("En oppfølging etter 6 eller 12 måneder er forfalt")
    MEETING_TOMORROW = "meeting_tomorrow", _l("Du har et møte i investeringsteamet i morgen")
    CONSENT_EXPIRING = "consent_expiring", _l("Et samtykke går ut innen 30 dager")
    EMERGENCY_ACCESS = "emergency_access", _l("Nødtilgang er brukt på en familie du leder")
    MAIL_REFUSED = "mail_refused", _l("En e-postadresse ble avvist av e-posttjeneren")


KINDS = Kind.codes()


class Channel(Vocabulary):
    """How a kind reaches the user by e-mail (the list in the app shows every notification)."""

    OFF = "off", _l("Ingen e-post")
    IMMEDIATE = "immediate", _l("Med en gang")
    DAILY = "daily", _l("Daglig sammendrag")


CHANNELS = Channel.codes()
# Decisions waiting on me and my decided requests go out at once; the rest in the daily digest.
DEFAULT_CHANNEL = {
    Kind.SPEND_WAITING: Channel.IMMEDIATE,
    Kind.SPEND_APPROVED: Channel.IMMEDIATE,
    Kind.SPEND_REJECTED: Channel.IMMEDIATE,
    Kind.SPEND_PAID: Channel.IMMEDIATE,
}


class DeliveryStatus(Vocabulary):
    QUEUED = "queued", _l("I kø")
    SENT = "sent", _l("Sendt")
    FAILED = "failed", _l("Feilet")
    SKIPPED = "skipped", _l("Ikke sendt (ingenting å si lenger)")


DELIVERY_STATUSES = DeliveryStatus.codes()
DELIVERY_MODES = ("immediate", "digest")


class NotificationDelivery(Model):
    """One e-mail: for one notification (immediate) or a day's digest. Holds no text, only state."""

    __tablename__ = "notification_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"), index=True)
    mode: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(40))  # a code: smtp_error, invalid_address, …
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(one_of("status", DELIVERY_STATUSES), name="status_known"),
        CheckConstraint(one_of("mode", DELIVERY_MODES), name="mode_known"),
    )


class Notification(Model):
    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    lab_id: Mapped[int] = mapped_column(ForeignKey("lab.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    # Set when the user hears of it as a member of the family's team: leaving the team hides it at once.
    family_id: Mapped[int | None] = mapped_column(ForeignKey("family.id", ondelete="CASCADE"), index=True)
    link: Mapped[str] = mapped_column(String(300))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification_delivery.id", ondelete="SET NULL"), index=True
    )

    __table_args__ = (CheckConstraint(one_of("kind", KINDS), name="kind_known"),)

    @property
    def text(self) -> str:
        member = Kind.get(self.kind)
        return member.label if member is not None else self.kind


class NotificationPreference(Model):
    """A user's choice of e-mail for one kind; no row means the kind's default."""

    __tablename__ = "notification_preference"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))

    __table_args__ = (
        CheckConstraint(one_of("kind", KINDS), name="kind_known"),
        CheckConstraint(one_of("channel", CHANNELS), name="channel_known"),
    )


class CalendarFeed(Model):
    """A user's private iCalendar feed: only the hash of the secret in its URL is stored."""

    __tablename__ = "calendar_feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    show_names: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
