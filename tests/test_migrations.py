"""Migrations are the schema's source of truth: up from empty, down to base, and no drift."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from tests.conftest import build_app, make_database_url


@pytest.fixture
def fresh_app(backend, tmp_root):
    url, remove = make_database_url(backend, tmp_root)
    app = build_app(url)
    yield app
    from velferdslab.extensions import db

    with app.app_context():
        db.engine.dispose()
    remove()


def _drift(app):
    from velferdslab.extensions import db

    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


@pytest.mark.real_commits
def test_upgrade_from_empty_then_downgrade_to_base_then_up_again(fresh_app):
    from velferdslab.extensions import db

    with fresh_app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"lab", "agency", "user_account", "audit_event", "family"} <= tables
        assert _drift(fresh_app) == []
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert _drift(fresh_app) == []


def test_models_and_migrations_do_not_drift(app):
    with app.app_context():
        assert _drift(app) == []


def test_history_is_linear():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from velferdslab import _project_migrations

    config = Config(str(_project_migrations() / "alembic.ini"))
    config.set_main_option("script_location", str(_project_migrations()))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}"


def test_revision_files_carry_dates():
    import re

    from velferdslab import _project_migrations

    names = [p.name for p in (_project_migrations() / "versions").glob("*.py")]
    assert names and all(re.match(r"\d{4}_\d{2}_\d{2}_", name) for name in names)
