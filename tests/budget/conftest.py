"""A committed database of its own, for tests that need real commits and many connections."""

from __future__ import annotations

import pytest

from tests.conftest import build_app, make_database_url, migrate_to_head


@pytest.fixture
def committed_app(backend, tmp_root):
    """A fresh, migrated database and app; dropped afterwards, so nothing leaks into the shared one.

    PostgreSQL gets a pool of 30 connections (the suite stays under 40 in all).
    """
    from velferdslab.extensions import db

    url, remove = make_database_url(backend, tmp_root)
    options = ({"pool_size": 30, "max_overflow": 0, "pool_timeout": 60, "pool_pre_ping": True,
                "hide_parameters": True} if backend == "postgresql"
               else {"connect_args": {"timeout": 60}, "hide_parameters": True})
    app = build_app(url, SQLALCHEMY_ENGINE_OPTIONS=options)
    migrate_to_head(app)
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        remove()
