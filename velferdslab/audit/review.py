"""The audit review: who opened which family and why, with the accesses that need a look flagged.

Everything is one SQL statement per question (page, count, per-flag totals, the "many families"
list, the emergency grants), so a year of events is filtered and flagged by the database, never
by a Python loop. The flags, each a SQL expression on the event row:

* ``off_team`` — a family's data touched by someone who was not on its team that day (denied
  attempts and emergency access included);
* ``denied`` — the attempt was refused (the audited 404s, refused emergency requests);
* ``emergency`` — an emergency-access grant, its end or review, or a read made under a grant;
* ``many`` — the actor touched more than ``threshold`` different families that (Oslo) day;
* ``night`` — between 22:00 and 06:00 Oslo time.

``audit`` imports only ``core``: users, agencies and team memberships come through the narrow
interface of ``audit.directory``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, Row, SQLColumnExpression, and_, case, cast, distinct, exists, extract, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from velferdslab.audit import services as audit
from velferdslab.audit.actions import AuditAction, Purpose
from velferdslab.audit.directory import source
from velferdslab.audit.models import AuditEvent, EmergencyAccess
from velferdslab.core.models import OSLO
from velferdslab.core.permissions import FAMILY_ACTOR_ROLE
from velferdslab.extensions import db

NIGHT_START, NIGHT_END = 22, 6
PAGE_SIZE = 50
FLAGS = ("off_team", "denied", "emergency", "many", "night")



@dataclass
class Filters:
    lab_id: int
    start: date
    end: date
    user_id: int | None = None
    family_id: int | None = None
    agency_id: int | None = None
    action: str | None = None  # a prefix: "family." or "family.view"
    flag: str | None = None  # one of FLAGS, or "any"
    threshold: int = 20

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time(0), OSLO).astimezone(UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time(0), OSLO).astimezone(UTC)


# --- time in Oslo, in SQL --------------------------------------------------------------------------

def _oslo_local(value: str) -> datetime:
    stamp = datetime.fromisoformat(str(value))
    return stamp.replace(tzinfo=UTC if stamp.tzinfo is None else stamp.tzinfo).astimezone(OSLO)


def _sqlite_oslo_hour(value: str | None) -> int | None:
    return None if value is None else _oslo_local(value).hour


def _sqlite_oslo_date(value: str | None) -> str | None:
    return None if value is None else _oslo_local(value).date().isoformat()


def _sqlite_functions() -> None:
    """SQLite has no time zones: teach this connection Oslo's hour and date (DST included)."""
    raw = db.session.connection().connection.dbapi_connection
    assert isinstance(raw, sqlite3.Connection)  # called only when the database is not PostgreSQL
    raw.create_function("oslo_hour", 1, _sqlite_oslo_hour, deterministic=True)
    raw.create_function("oslo_date", 1, _sqlite_oslo_date, deterministic=True)


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def oslo_hour(column_: SQLColumnExpression[datetime]) -> ColumnElement[Any]:
    if _postgres():
        return extract("hour", func.timezone("Europe/Oslo", column_))
    return func.oslo_hour(column_)


def oslo_date(column_: SQLColumnExpression[datetime]) -> ColumnElement[Any]:
    if _postgres():
        return cast(func.timezone("Europe/Oslo", column_), Date)
    return func.oslo_date(column_)


# --- the flags -----------------------------------------------------------------------------------

def _many_families(filters: Filters):
    """(actor_id, day, families) for every actor who touched more than ``threshold`` families a day."""
    e = AuditEvent
    day = oslo_date(e.occurred_at).label("day")
    return (select(e.actor_id.label("actor_id"), day, func.count(distinct(e.family_id)).label("families"))
            .where(e.lab_id == filters.lab_id, e.occurred_at >= filters.since, e.occurred_at < filters.until,
                   e.family_id.is_not(None), e.actor_id.is_not(None))
            .group_by(e.actor_id, day)
            .having(func.count(distinct(e.family_id)) > filters.threshold))


def flag_expressions(many) -> dict[str, ColumnElement]:
    e = AuditEvent
    _membership = source("memberships")
    on_team = exists().where(_membership.c.user_id == e.actor_id, _membership.c.family_id == e.family_id,
                             _membership.c.start_date <= oslo_date(e.occurred_at),
                             or_(_membership.c.end_date.is_(None),
                                 _membership.c.end_date >= oslo_date(e.occurred_at)))
    under_grant = exists().where(EmergencyAccess.user_id == e.actor_id, EmergencyAccess.family_id == e.family_id,
                                 EmergencyAccess.granted_at <= e.occurred_at,
                                 e.occurred_at <= func.coalesce(EmergencyAccess.ended_at, EmergencyAccess.expires_at))
    hour = oslo_hour(e.occurred_at)
    return {
        "off_team": and_(e.family_id.is_not(None), e.actor_id.is_not(None),
                         func.coalesce(e.actor_role, "") != FAMILY_ACTOR_ROLE, ~on_team),
        "denied": or_(e.action.like("%denied"), e.action.like("%refused")),
        "emergency": or_(e.action.like("emergency.%"), and_(e.family_id.is_not(None), under_grant)),
        "many": many.c.actor_id.is_not(None),
        "night": or_(hour >= NIGHT_START, hour < NIGHT_END),
    }


def _base(filters: Filters):
    """The filtered events joined to the "many families" days, and the flag expressions."""
    if not _postgres():
        _sqlite_functions()
    e = AuditEvent
    many = _many_families(filters).subquery("many")
    flags = flag_expressions(many)
    conditions = [e.lab_id == filters.lab_id, e.occurred_at >= filters.since, e.occurred_at < filters.until]
    if filters.user_id:
        conditions.append(e.actor_id == filters.user_id)
    if filters.family_id:
        conditions.append(e.family_id == filters.family_id)
    if filters.agency_id:
        conditions.append(e.agency_id == filters.agency_id)
    if filters.action:
        conditions.append(e.action.like(filters.action.replace("%", "").replace("_", "\\_") + "%", escape="\\"))
    if filters.flag == "any":
        conditions.append(or_(*flags.values()))
    elif filters.flag in flags:
        conditions.append(flags[filters.flag])
    joined = e.__table__.outerjoin(many, and_(many.c.actor_id == e.actor_id,
                                              many.c.day == oslo_date(e.occurred_at)))
    return joined, and_(*conditions), flags


def _flag_columns(flags) -> list:
    return [case((expr, 1), else_=0).label(name) for name, expr in flags.items()]


def events_query(filters: Filters):
    """Every matching event with the actor's name, agency name and flags, newest first."""
    e = AuditEvent
    _user, _agency = source("people"), source("agencies")
    joined, where, flags = _base(filters)
    # A family member's own event (Min side) has their member id as actor: not a user's.
    staff_actor = func.coalesce(e.actor_role, "") != FAMILY_ACTOR_ROLE
    joined = (joined.outerjoin(_user, and_(_user.c.id == e.actor_id, staff_actor))
              .outerjoin(_agency, _agency.c.id == e.agency_id))
    return (select(e.id, e.occurred_at, e.actor_id, _user.c.name.label("actor_name"), e.actor_role, e.agency_id,
                   _agency.c.name.label("agency_name"), e.family_id, e.action, e.object_type, e.object_id,
                   e.purpose, e.address, *_flag_columns(flags))
            .select_from(joined).where(where).order_by(e.occurred_at.desc(), e.id.desc()))


@dataclass
class Page:
    rows: Sequence[Row[Any]]
    total: int
    page: int
    pages: int
    counts: dict = field(default_factory=dict)


def page(filters: Filters, number: int = 1, size: int = PAGE_SIZE) -> Page:
    """One page of events, the number of matching events, and how many carry each flag."""
    joined, where, flags = _base(filters)
    totals = db.session.execute(
        select(func.count(), *[func.coalesce(func.sum(case((expr, 1), else_=0)), 0).label(name)
                               for name, expr in flags.items()])
        .select_from(joined).where(where)).one()
    total = totals[0]
    pages = max(1, -(-total // size))
    number = min(max(1, number), pages)
    rows = db.session.execute(events_query(filters).limit(size).offset((number - 1) * size)).all()
    return Page(rows=rows, total=total, page=number, pages=pages,
                counts={name: totals[i + 1] for i, name in enumerate(flags)})


def many_families(filters: Filters) -> Sequence[Row[Any]]:
    """Who touched more families in a day than the threshold, with their name: (name, day, families)."""
    if not _postgres():
        _sqlite_functions()
    many = _many_families(filters).subquery()
    _user = source("people")
    return db.session.execute(select(many.c.actor_id, _user.c.name, many.c.day, many.c.families)
                              .select_from(many.outerjoin(_user, _user.c.id == many.c.actor_id))
                              .order_by(many.c.families.desc(), many.c.day.desc())).all()


def emergency_grants(filters: Filters) -> Sequence[Row[Any]]:
    """Grants in force during the period, with the holder's name and how many events they wrote
    about the family while the grant was in force."""
    g = EmergencyAccess
    e = AuditEvent
    _user = source("people")
    reads = (select(func.count()).where(e.actor_id == g.user_id, e.family_id == g.family_id,
                                        e.occurred_at >= g.granted_at,
                                        e.occurred_at <= func.coalesce(g.ended_at, g.expires_at))
             .scalar_subquery())
    query = (select(g, _user.c.name.label("user_name"), reads.label("events"))
             .join(_user, _user.c.id == g.user_id)
             .where(g.lab_id == filters.lab_id, g.granted_at < filters.until, g.expires_at >= filters.since)
             .order_by(g.reviewed_at.is_not(None), g.granted_at.desc()))
    if filters.user_id:
        query = query.where(g.user_id == filters.user_id)
    if filters.family_id:
        query = query.where(g.family_id == filters.family_id)
    return db.session.execute(query).all()


def unreviewed_grants(lab_id: int) -> tuple[int, datetime | None]:
    """How many grants of the lab nobody has reviewed, and when the oldest of them was given."""
    count, oldest = db.session.execute(select(func.count(), func.min(EmergencyAccess.granted_at))
                                       .where(EmergencyAccess.lab_id == lab_id,
                                              EmergencyAccess.reviewed_at.is_(None))).one()
    return count, oldest


# --- the review's own reads, audited ---------------------------------------------------------------

def _filter_summary(filters: Filters) -> dict:
    """What was looked at, for the review's own audit event: ids and codes only."""
    return {"start": filters.start, "end": filters.end, "user_id": filters.user_id, "family_id": filters.family_id,
            "agency_id": filters.agency_id, "flag": filters.flag}


def read_page(filters: Filters, number: int = 1) -> Page:
    """A page of the review as an administrator sees it; the look is itself audited."""
    result = page(filters, number)
    audit.record(AuditAction.AUDIT_REVIEW, object_type="audit_event", purpose=Purpose.REVIEW,
                 summary={**_filter_summary(filters), "page": result.page})
    return result


def read_export(filters: Filters) -> Iterator[Row]:
    """Every matching event for the CSV export (streamed in batches); the export is audited."""
    audit.record(AuditAction.AUDIT_REVIEW_EXPORT, object_type="audit_event", purpose=Purpose.REVIEW,
                 summary=_filter_summary(filters))
    return iter(db.session.execute(events_query(filters).execution_options(yield_per=2000)))
