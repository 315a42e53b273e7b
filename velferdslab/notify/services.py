"""Creating, listing and reading notifications; preferences; the daily check; the calendar secret.

Services flush, never commit (the request or the CLI commits). A notification is stored once per
occasion (its ``dedupe_key``); an e-mail (``NotificationDelivery``) is made for it at once when the
user's preference for its kind is *immediate*, or in the day's digest (:func:`make_digests`). Mail
is sent after the commit, on the task queue (``notify.dispatch``), never inside a request.

Whether a notification about a family is shown or mailed is decided when it is read or sent, not
when it was made: a user removed from the family's team stops seeing and receiving it at once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Integer, Select, bindparam, func, or_, select
from sqlalchemy.orm import joinedload

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction
from velferdslab.auth.models import User, UserRole
from velferdslab.cases import gate
from velferdslab.cases.consent.models import Consent
from velferdslab.cases.overview import queries as overview_queries
from velferdslab.core import policy
from velferdslab.core.database import insert_one_new
from velferdslab.core.errors import ServiceError
from velferdslab.core.models import today_local, utcnow
from velferdslab.core.permissions import ROLE_PERMISSIONS, Permission
from velferdslab.extensions import db
from velferdslab.notify import dispatch
from velferdslab.notify.models import (
    CHANNELS,
    DEFAULT_CHANNEL,
    KINDS,
    CalendarFeed,
    Channel,
    DeliveryStatus,
    Kind,
    Notification,
    NotificationDelivery,
    NotificationPreference,
)
from velferdslab.teams.models import TeamMembership

DIGEST_WINDOW = timedelta(days=2)  # a digest gathers what was not mailed in this time, never older
CONSENT_WARNING_DAYS = 30
LIST_LIMIT = 100


def path_for(endpoint: str, **values: Any) -> str:
    """The path of a page, without a request (the daily check runs from cron)."""
    return current_app.url_map.bind("").build(endpoint, values)


# --- preferences ------------------------------------------------------------------------------------


def preferences(user: User) -> dict[str, str]:
    chosen = dict(
        db.session.execute(
            select(NotificationPreference.kind, NotificationPreference.channel).where(
                NotificationPreference.user_id == user.id
            )
        ).all()
    )
    return {kind: chosen.get(kind, DEFAULT_CHANNEL.get(Kind(kind), Channel.DAILY)) for kind in KINDS}


def save_preferences(user: User, choices: dict[str, str]) -> None:
    for kind, channel in choices.items():
        if kind not in KINDS:
            raise ServiceError(_("Ukjent type varsel."), kind)
        if channel not in CHANNELS:
            raise ServiceError(_("Velg ingen e-post, med en gang eller daglig sammendrag."), kind)
    for kind, channel in choices.items():
        row = db.session.get(NotificationPreference, (user.id, kind))
        if row is None:
            db.session.add(NotificationPreference(user_id=user.id, kind=kind, channel=channel))
        else:
            row.channel = channel
    db.session.flush()


# --- making notifications ---------------------------------------------------------------------------


def notify(
    user: User, kind: Kind, *, link: str, dedupe_key: str, family_id: int | None = None, at: datetime | None = None
) -> Notification | None:
    """Store one notification for ``user`` unless this occasion was already notified (then None)."""
    # One statement: a concurrent run that made the same one wins, and nothing else fails.
    row = insert_one_new(Notification, {"user_id": user.id, "lab_id": user.lab_id, "kind": Kind(kind).value,
                                        "family_id": family_id, "link": link, "dedupe_key": dedupe_key,
                                        "created_at": at or utcnow()}, "dedupe_key")
    if row is None:
        return None
    if preferences(user)[kind] == Channel.IMMEDIATE:
        delivery = _delivery(user, "immediate", f"n:{row.id}")
        row.delivery_id = delivery.id
        db.session.flush()
        dispatch.after_commit([delivery.id])
    return row


def _delivery(user: User, mode: str, dedupe_key: str) -> NotificationDelivery:
    delivery = NotificationDelivery(
        user_id=user.id, lab_id=user.lab_id, mode=mode, status=DeliveryStatus.QUEUED, attempts=0, dedupe_key=dedupe_key
    )
    db.session.add(delivery)
    db.session.flush()
    return delivery


def _team_family_id(user: User, family_id: int) -> int | None:
    """The family id when ``user`` hears of it as a member of its team (hidden when they leave)."""
    return family_id if gate.family_access(user, family_id) is not None else None


def _role_holders(permission: Permission, lab_id: int | None = None) -> list[User]:
    """Active users whose roles grant ``permission``, in one lab (or in every lab)."""
    roles = [role.value for role, granted in ROLE_PERMISSIONS.items() if permission in granted]
    query = select(User).join(UserRole).where(User.active.is_(True), UserRole.role.in_(roles))
    if lab_id is not None:
        query = query.where(User.lab_id == lab_id)
    return list(db.session.scalars(query.distinct().order_by(User.id)))


def _family_leads(family_id: int, on: date) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(TeamMembership, TeamMembership.user_id == User.id)
            .where(
                TeamMembership.family_id == family_id,
                TeamMembership.role == "lead",
                User.active.is_(True),
                TeamMembership.start_date <= on,
                or_(TeamMembership.end_date.is_(None), TeamMembership.end_date >= on),
            )
            .distinct()
            .order_by(User.id)
        )
    )


SPEND_OUTCOMES = {"approved": Kind.SPEND_APPROVED, "rejected": Kind.SPEND_REJECTED, "paid": Kind.SPEND_PAID}


def on_spend_changed(spend: Any) -> None:
    """A spend request was sent or decided: tell whoever must decide now, or the requester."""
    link = path_for("budget.spend_detail", spend_id=spend.id)
    if spend.status == "requested":
        approvals = sum(1 for d in spend.decisions if d.decision == "approve")
        # The queue it waits in: the family's lead's, or management's (``budget`` routes it).
        candidates = (
            _role_holders(Permission.SPEND_DECIDE_AS_MANAGEMENT, spend.lab_id)
            if spend.route == "management"
            else _family_leads(spend.family_id, today_local())
        )
        for user in candidates:
            if policy.can(user, "approve", spend):
                notify(
                    user,
                    Kind.SPEND_WAITING,
                    link=link,
                    dedupe_key=f"spend_waiting:{spend.id}:{approvals}:{user.id}",
                    family_id=_team_family_id(user, spend.family_id),
                )
    elif spend.status in SPEND_OUTCOMES:
        # With their roles (the gate asks them whether the requester still works with the family).
        requester = db.session.get(User, spend.requester_id, options=[joinedload(User.role_rows)])
        if requester is not None and requester.active:
            notify(
                requester,
                SPEND_OUTCOMES[spend.status],
                link=link,
                dedupe_key=f"{SPEND_OUTCOMES[spend.status]}:{spend.id}:{requester.id}",
                family_id=_team_family_id(requester, spend.family_id),
            )


def on_emergency_access(grant: Any) -> None:
    """Someone broke the glass for a family: its investment lead hears of it."""
    link = path_for("cases.family_page", family_id=grant.family_id)
    for lead in _family_leads(grant.family_id, today_local()):
        if lead.id != grant.user_id:
            notify(
                lead,
                Kind.EMERGENCY_ACCESS,
                link=link,
                dedupe_key=f"emergency_access:{grant.id}:{lead.id}",
                family_id=grant.family_id,
            )


def report_refused_address(delivery: NotificationDelivery) -> None:
    """The mail server refused a user's address: the lab's administrators hear of it (in the app)."""
    link = path_for("notify.deliveries")
    for admin in _role_holders(Permission.ADMIN_USERS, delivery.lab_id):
        notify(admin, Kind.MAIL_REFUSED, link=link, dedupe_key=f"mail_refused:{delivery.id}:{admin.id}")


# --- the daily check --------------------------------------------------------------------------------


def _consents_expiring(family_ids: list[int], today: date) -> list[Consent]:
    if not family_ids:
        return []
    newer = select(Consent.supersedes_id).where(Consent.supersedes_id.is_not(None))
    return list(
        db.session.scalars(
            select(Consent)
            .where(
                Consent.family_id.in_(family_ids),
                Consent.expires_on >= today,
                Consent.expires_on <= today + timedelta(days=CONSENT_WARNING_DAYS),
                Consent.withdrawn_on.is_(None),
                Consent.id.not_in(newer),
            )
            .order_by(Consent.id)
        )
    )


def check_user(user: User, today: date) -> int:
    """The due-date notifications for one user (what *Mine oppgaver* shows as due); returns how many are new."""
    soon = today + timedelta(days=current_app.config["NOTIFY_ACTION_DAYS"])
    made = 0
    case_tasks = overview_queries.my_case_tasks(user, today)
    for item in case_tasks.items:
        family_id = item.family.id
        note = None
        if item.kind == "tiltak" and item.hidden is None and item.on is not None and item.on <= soon:
            kind = Kind.ACTION_OVERDUE if item.overdue else Kind.ACTION_DUE
            note = (
                kind,
                path_for("cases.action_edit", family_id=family_id, action_id=item.action_id),
                f"{kind}:{item.action_id}:{item.on}",
            )
        elif item.kind == "vurdering" and item.access.is_lead:
            kind = Kind.FOLLOW_UP_DUE if (item.code or "").startswith("follow_up") else Kind.ASSESSMENT_DUE
            note = (
                kind,
                path_for("cases.assessments", family_id=family_id),
                f"{kind}:{family_id}:{item.code}:{item.on}",
            )
        elif item.kind == "mote" and item.on == today + timedelta(days=1):
            note = (
                Kind.MEETING_TOMORROW,
                path_for("cases.meetings", family_id=family_id),
                f"{Kind.MEETING_TOMORROW}:{family_id}:{item.on}",
            )
        if note is not None:
            made += (
                notify(user, note[0], link=note[1], dedupe_key=f"{note[2]}:{user.id}", family_id=family_id) is not None
            )
    led = [s.family.id for s in case_tasks.summaries if s.access.is_lead and not s.closed]
    for consent in _consents_expiring(led, today):
        made += (
            notify(
                user,
                Kind.CONSENT_EXPIRING,
                link=path_for("cases.consents", family_id=consent.family_id),
                dedupe_key=f"{Kind.CONSENT_EXPIRING}:{consent.id}:{consent.expires_on}:{user.id}",
                family_id=consent.family_id,
            )
            is not None
        )
    return made


def check_due(today: date | None = None) -> int:
    """Every user's due-date notifications, for every lab."""
    today = today or today_local()
    users = _role_holders(Permission.FAMILIES_WORK)
    return sum(check_user(user, today) for user in users)


def make_digests(today: date | None = None, now: datetime | None = None) -> list[int]:
    """One digest a day per user, of what they asked to get daily and was not mailed yet."""
    today, now = today or today_local(), now or utcnow()
    waiting = list(
        db.session.scalars(
            select(Notification)
            .where(
                Notification.delivery_id.is_(None),
                Notification.created_at >= now - DIGEST_WINDOW,
                Notification.created_at <= now,
            )
            .order_by(Notification.user_id, Notification.id)
        )
    )
    by_user: dict[int, list[Notification]] = {}
    for row in waiting:
        by_user.setdefault(row.user_id, []).append(row)
    made = []
    for user_id, rows in by_user.items():
        user = db.session.get(User, user_id)
        if user is None or not user.active:
            continue
        chosen = preferences(user)
        daily = [r for r in rows if chosen[r.kind] == Channel.DAILY]
        key = f"digest:{user.id}:{today.isoformat()}"
        if (
            not daily
            or db.session.scalar(select(NotificationDelivery.id).where(NotificationDelivery.dedupe_key == key))
            is not None
        ):
            continue
        delivery = _delivery(user, "digest", key)
        for row in daily:
            row.delivery_id = delivery.id
        made.append(delivery.id)
    db.session.flush()
    dispatch.after_commit(made)
    return made


def queued_deliveries(older_than: timedelta = timedelta(minutes=5)) -> list[int]:
    """Deliveries still queued a while after they were made (the queue lost them, or had none)."""
    return list(
        db.session.scalars(
            select(NotificationDelivery.id)
            .where(
                NotificationDelivery.status == DeliveryStatus.QUEUED,
                NotificationDelivery.created_at <= utcnow() - older_than,
            )
            .order_by(NotificationDelivery.id)
        )
    )


# --- reading ----------------------------------------------------------------------------------------


def visible_clause(user: User) -> Any:
    """SQL: a notification of ``user`` they may still have (not one about a family whose team they left)."""
    return (Notification.user_id == user.id) & or_(
        Notification.family_id.is_(None), Notification.family_id.in_(gate.visible_family_ids(user))
    )


@cache
def _unread_count_query(works: bool, with_emergency: bool) -> Select:
    """:func:`unread_count`'s statement, built once per shape (every page asks it for the bell)."""
    visible = (Notification.user_id == bindparam("user_id", type_=Integer)) & or_(
        Notification.family_id.is_(None),
        Notification.family_id.in_(gate.visible_family_ids_query(works, with_emergency)))
    return select(func.count()).select_from(Notification).where(visible, Notification.read_at.is_(None))


def unread_count(user: User) -> int:
    """How many of ``user``'s notifications (those :func:`visible_clause` lets them have) are unread."""
    return db.session.scalar(_unread_count_query(*gate.visible_family_ids_shape(user)),
                             gate.visible_family_ids_params(user)) or 0


def list_for(user: User, *, unread_only: bool = False, limit: int = LIST_LIMIT) -> list[Notification]:
    query = select(Notification).where(visible_clause(user))
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(db.session.scalars(query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)))


def get_for(user: User, notification_id: int) -> Notification:
    row = db.session.scalar(select(Notification).where(visible_clause(user), Notification.id == notification_id))
    if row is None:
        raise ServiceError(_("Fant ikke varselet."), "notification", status=404)
    return row


def set_read(user: User, notification_id: int, read: bool = True) -> Notification:
    row = get_for(user, notification_id)
    row.read_at = (row.read_at or utcnow()) if read else None
    db.session.flush()
    return row


def mark_all_read(user: User) -> int:
    rows = list_for(user, unread_only=True, limit=10_000)
    now = utcnow()
    for row in rows:
        row.read_at = now
    db.session.flush()
    return len(rows)


# --- delivery status (administrators) --------------------------------------------------------------


def deliveries(admin: User, limit: int = LIST_LIMIT) -> list[tuple[NotificationDelivery, User]]:
    return list(
        db.session.execute(
            select(NotificationDelivery, User)
            .join(User, User.id == NotificationDelivery.user_id)
            .where(NotificationDelivery.lab_id == admin.lab_id)
            .order_by(NotificationDelivery.created_at.desc(), NotificationDelivery.id.desc())
            .limit(limit)
        ).all()
    )


def resend(admin: User, delivery_id: int) -> NotificationDelivery:
    delivery = db.session.get(NotificationDelivery, delivery_id)
    if delivery is None or delivery.lab_id != admin.lab_id:
        raise ServiceError(_("Fant ikke utsendelsen."), "delivery", status=404)
    if delivery.status != DeliveryStatus.FAILED:
        raise ServiceError(_("Bare en utsendelse som feilet kan sendes på nytt."), "delivery", status=409)
    delivery.status, delivery.attempts, delivery.error = DeliveryStatus.QUEUED, 0, None
    db.session.flush()
    audit.record(
        AuditAction.NOTIFY_RESEND,
        actor=admin,
        lab_id=admin.lab_id,
        object_type="notification_delivery",
        object_id=delivery.id,
        summary={"mode": delivery.mode},
    )
    dispatch.after_commit([delivery.id])
    return delivery


# --- the calendar feed ------------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def calendar_feed(user: User) -> CalendarFeed | None:
    return db.session.scalar(
        select(CalendarFeed).where(CalendarFeed.user_id == user.id, CalendarFeed.revoked_at.is_(None))
    )


def new_calendar_feed(user: User, *, show_names: bool) -> str:
    """A new secret address for the user's feed (the old one stops working). Returns the secret: shown once."""
    token = secrets.token_urlsafe(32)
    row = db.session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == user.id))
    if row is None:
        row = CalendarFeed(user_id=user.id, token_hash=_hash(token))
        db.session.add(row)
    row.token_hash, row.show_names, row.created_at, row.revoked_at = _hash(token), bool(show_names), utcnow(), None
    db.session.flush()
    audit.record(
        AuditAction.CALENDAR_FEED_CREATE,
        actor=user,
        lab_id=user.lab_id,
        object_type="calendar_feed",
        object_id=row.id,
        summary={"show_names": row.show_names},
    )
    return token


def revoke_calendar_feed(user: User) -> bool:
    row = calendar_feed(user)
    if row is None:
        return False
    row.revoked_at = utcnow()
    db.session.flush()
    audit.record(
        AuditAction.CALENDAR_FEED_REVOKE, actor=user, lab_id=user.lab_id, object_type="calendar_feed", object_id=row.id
    )
    return True


def feed_owner(token: str) -> tuple[User, CalendarFeed] | None:
    """The active user whose live feed has this secret, or None (revoked, unknown, disabled)."""
    if not token or len(token) > 100:
        return None
    row = db.session.scalar(
        select(CalendarFeed).where(CalendarFeed.token_hash == _hash(token), CalendarFeed.revoked_at.is_(None))
    )
    user = db.session.get(User, row.user_id) if row is not None else None
    if row is None or user is None or not user.active:
        return None
    return user, row
