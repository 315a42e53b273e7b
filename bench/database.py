"""The bench database: create, migrate with the app's own Alembic migrations, fill, check, drop."""

from __future__ import annotations

import re

import psycopg
from sqlalchemy.engine import make_url

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/"
DEFAULT_NAME = "velferdslab_bench"


def libpq_url(url: str) -> str:
    """A URL psycopg understands (no SQLAlchemy driver suffix)."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def sqlalchemy_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def _admin_url(url: str) -> str:
    return libpq_url(make_url(url).set(database="postgres").render_as_string(hide_password=False))


def create(url: str) -> None:
    """(Re)create the database named in ``url``: drop it first if a previous run left it behind."""
    name = make_url(url).database
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name or ""):
        raise SystemExit(f"bench: refusing an unusual database name {name!r}")
    with psycopg.connect(_admin_url(url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def exists(url: str) -> bool:
    name = make_url(url).database
    with psycopg.connect(_admin_url(url), autocommit=True) as admin:
        return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def drop(url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(_admin_url(url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(url: str) -> None:
    """Build the schema exactly as production does: ``flask db upgrade``."""
    from flask_migrate import upgrade

    from velferdslab import create_app
    from velferdslab.extensions import db

    app = create_app({"ENV": "testing", "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url),
                      "RATELIMIT_STORAGE_URI": "memory://"})
    with app.app_context():
        upgrade()
        db.engine.dispose()


def is_empty(url: str) -> bool:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute("SELECT count(*) FROM lab").fetchone()[0] == 0


def server_facts(url: str) -> dict:
    with psycopg.connect(libpq_url(url)) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        settings = {name: conn.execute("SELECT current_setting(%s)", (name,)).fetchone()[0]
                    for name in ("shared_buffers", "work_mem", "max_connections", "synchronous_commit")}
    return {"postgresql": version, "database_bytes": size, "settings": settings}


def table_sizes(url: str, tables: list[str]) -> dict[str, tuple[int, int]]:
    """(rows, total bytes with indexes) per table."""
    out = {}
    with psycopg.connect(libpq_url(url)) as conn:
        for table in tables:
            rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - our table names
            size = conn.execute("SELECT pg_total_relation_size(%s)", (table,)).fetchone()[0]
            out[table] = (rows, size)
    return out
