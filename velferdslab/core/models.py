"""Declarative base with a constraint naming convention, and the column types every domain uses."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, DateTime, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase

# Named constraints make migrations reproducible across SQLite and PostgreSQL (as Indico does).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# The lab's time zone: stored times are UTC; dates people type and read are Oslo dates.
OSLO = ZoneInfo("Europe/Oslo")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC. Use as a callable default, never as a value."""
    return datetime.now(UTC)


def today_local() -> date:
    """Today in Europe/Oslo: what staff mean by "today" when they type a date, and so the one
    "today" every date rule compares with (memberships, consent, due dates). There is no UTC today."""
    return datetime.now(OSLO).date()


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware.

    PostgreSQL keeps it as ``timestamptz``; SQLite has no time zones, so values are stored as naive
    UTC and the zone is put back on the way out. Naive input is refused: it is always a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def one_of(column: str, values) -> str:
    """SQL for a CHECK constraint that keeps ``column`` within a fixed set of codes."""
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


# Money is integer øre. BigInteger so a national installation's totals cannot overflow.
Money = BigInteger
