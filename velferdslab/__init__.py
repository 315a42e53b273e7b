"""Velferdslab: the software a municipal welfare lab runs on."""

from __future__ import annotations

import logging

from flask import Flask


def create_app(config: dict | None = None) -> Flask:
    """Build the app. Reads like a table of contents; each step lives in its own module."""
    app = Flask(__name__, instance_relative_config=True)
    configure(app, config)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def configure(app: Flask, overrides: dict | None) -> None:
    from velferdslab import config

    app.config.update(config.load(app.instance_path, overrides))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")


def register_extensions(app: Flask) -> None:
    from velferdslab import notify
    from velferdslab.auth import login, oidc
    from velferdslab.core import (
        database,
        i18n,
        idempotency,
        input_guard,
        navigation,
        policy,
        routing,
        security,
        throttle,
        transaction,
    )
    from velferdslab.core.api import api
    from velferdslab.extensions import db, limiter, migrate

    routing.init_app(app)  # converters before any blueprint: rules compile with them
    input_guard.init_app(app)  # the first before_request: hostile input never reaches a view
    db.init_app(app)
    database.init_app(app)
    migrate.init_app(app, db, directory=str(_project_migrations()), render_as_batch=True)
    login.init_app(app)
    oidc.init_app(app)
    i18n.init_app(app)
    navigation.init_app(app)
    policy.init_app(app)
    security.init_app(app)
    transaction.init_app(app)
    idempotency.init_app(app)  # after transaction: its answer is stored before the commit
    limiter.init_app(app)
    throttle.init_app(app)  # after the limiter: it counts in the limiter's store
    api.init_app(app)
    _import_models()
    notify.init_app(app)


def _import_models() -> None:
    """Every model module, so the metadata (and Alembic) sees every table."""
    import velferdslab.audit.models  # noqa: F401
    import velferdslab.auth.models  # noqa: F401
    import velferdslab.batch.models  # noqa: F401
    import velferdslab.budget.models  # noqa: F401
    import velferdslab.cases.consent.models  # noqa: F401
    import velferdslab.cases.enrolment.models  # noqa: F401
    import velferdslab.cases.household.models  # noqa: F401
    import velferdslab.cases.journey.models  # noqa: F401
    import velferdslab.cases.meetings.models  # noqa: F401
    import velferdslab.cases.minside.models  # noqa: F401
    import velferdslab.cases.plan.models  # noqa: F401
    import velferdslab.notify.models  # noqa: F401
    import velferdslab.reports.models  # noqa: F401
    import velferdslab.teams.models  # noqa: F401


def _project_migrations():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def register_blueprints(app: Flask) -> None:
    from velferdslab.audit import views as audit_views
    from velferdslab.auth import api as auth_api
    from velferdslab.auth import views as auth_views
    from velferdslab.batch import api as batch_api
    from velferdslab.batch import views as batch_views
    from velferdslab.budget import api as budget_api
    from velferdslab.budget import views as budget_views
    from velferdslab.cases import api as cases_api
    from velferdslab.cases import views as cases_views
    from velferdslab.cases.emergency import views as emergency_views
    from velferdslab.cases.team import api as teams_api
    from velferdslab.cases.team import views as teams_views
    from velferdslab.core import views as core_views
    from velferdslab.core.api import api
    from velferdslab.dashboard import views as dashboard_views
    from velferdslab.notify import views as notify_views
    from velferdslab.privacy import api as privacy_api
    from velferdslab.privacy import views as privacy_views
    from velferdslab.reports import api as reports_api
    from velferdslab.reports import views as reports_views

    app.register_blueprint(core_views.blueprint)
    app.register_blueprint(auth_views.blueprint)
    app.register_blueprint(batch_views.blueprint)
    app.register_blueprint(audit_views.blueprint)
    app.register_blueprint(emergency_views.blueprint)
    app.register_blueprint(privacy_views.blueprint)
    app.register_blueprint(dashboard_views.blueprint)
    app.register_blueprint(cases_views.blueprint)
    app.register_blueprint(budget_views.blueprint)
    app.register_blueprint(teams_views.blueprint)
    app.register_blueprint(reports_views.blueprint)
    app.register_blueprint(notify_views.blueprint)
    api.register_blueprint(auth_api.blueprint)
    api.register_blueprint(batch_api.blueprint)
    api.register_blueprint(budget_api.blueprint)
    api.register_blueprint(cases_api.blueprint)
    api.register_blueprint(teams_api.blueprint)
    api.register_blueprint(privacy_api.blueprint)
    api.register_blueprint(reports_api.blueprint)


def register_errorhandlers(app: Flask) -> None:
    from velferdslab.core import errors

    errors.init_app(app)


def register_commands(app: Flask) -> None:
    from velferdslab import cli

    cli.init_app(app)
