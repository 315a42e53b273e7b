"""Fixtures for the fault tests: an app of its own with database limits set through the environment."""

from __future__ import annotations

import pytest

from tests.conftest import build_app, make_database_url, migrate_to_head
from velferdslab import config
from velferdslab.extensions import db, limiter


@pytest.fixture
def timed_app(backend, tmp_root, monkeypatch, app):
    """``timed_app(**env)``: a fresh migrated app whose database limits come from ``VELFERDSLAB_<env>``."""
    made = []

    def make(url: str | None = None, **env):
        for name, value in env.items():
            monkeypatch.setenv(config.PREFIX + name, str(value))
        database_url, remove = make_database_url(backend, tmp_root)
        migrated = build_app(database_url)
        migrate_to_head(migrated)
        with migrated.app_context():
            db.engine.dispose()
        # Unexpected errors are answered as in production (a 500 page), not raised into the test.
        served = build_app(url(database_url) if url else database_url, PROPAGATE_EXCEPTIONS=False)
        made.append((migrated, served, remove))
        return served

    yield make
    for migrated, served, remove in made:
        for each in (served, migrated):
            with each.app_context():
                db.session.remove()
                db.engine.dispose()
        remove()
    limiter.init_app(app)  # the limiter is one object: give it back to the suite's app
