"""Report queries go to the report database (a replica) when VELFERDSLAB_REPORT_DATABASE_URL is set.

Two real databases, both migrated: the primary and a stand-in for the replica. Each holds a lab the
other does not, so whichever database answered a query shows in what it returns.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import build_app, make_database_url, migrate_to_head


@pytest.fixture
def two_databases(backend, tmp_path):
    primary_url, drop_primary = make_database_url(backend, tmp_path)
    replica_url, drop_replica = make_database_url(backend, tmp_path)
    try:
        yield primary_url, replica_url
    finally:
        drop_replica()
        drop_primary()


def _seed(app, slug: str) -> None:
    from velferdslab.auth import services
    from velferdslab.extensions import db

    with app.app_context():
        services.create_lab(slug=slug, name=slug, municipality=slug)
        db.session.commit()
        db.engine.dispose()


@pytest.mark.real_commits
def test_report_session_reads_the_replica_and_writes_stay_on_the_primary(two_databases):
    from velferdslab.auth.models import Lab
    from velferdslab.core.replica import replica_configured, report_session
    from velferdslab.extensions import db

    primary_url, replica_url = two_databases
    replica_app = build_app(replica_url)
    migrate_to_head(replica_app)
    _seed(replica_app, "bare-i-replika")

    app = build_app(primary_url, SQLALCHEMY_BINDS={"reports": replica_url})
    migrate_to_head(app)
    _seed(app, "bare-i-primaer")
    try:
        with app.app_context():
            assert replica_configured()
            assert report_session() is not db.session
            assert report_session() is report_session()  # one session per app context
            assert report_session().scalars(select(Lab.slug)).all() == ["bare-i-replika"]
            assert db.session.scalars(select(Lab.slug)).all() == ["bare-i-primaer"]
        with app.app_context():  # the context's teardown closed the session; a new one is opened
            assert report_session().scalars(select(Lab.slug)).all() == ["bare-i-replika"]
    finally:
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()


def test_without_a_report_database_reports_use_the_request_session(app, ctx):
    from velferdslab.core.replica import replica_configured, report_session
    from velferdslab.extensions import db

    assert not replica_configured()
    assert report_session() is db.session


@pytest.mark.real_commits
def test_the_outcome_report_runs_its_sql_on_the_replica(two_databases):
    outcome = pytest.importorskip("velferdslab.reports.outcome")
    from datetime import date, timedelta

    from tests import factories
    from velferdslab.extensions import db

    primary_url, replica_url = two_databases
    replica_app = build_app(replica_url)
    migrate_to_head(replica_app)
    with replica_app.app_context():  # only the replica has families
        lab = factories.lab()
        for _ in range(3):
            factories.family(lab)
        lab_id = lab.id
        db.session.commit()
        db.engine.dispose()
    app = build_app(primary_url, SQLALCHEMY_BINDS={"reports": replica_url})
    migrate_to_head(app)
    _seed(app, "bare-i-primaer")
    try:
        with app.app_context():
            data = outcome.run(outcome.OutcomeFilter(lab_id=lab_id, start=date.today() - timedelta(days=800),
                                                     end=date.today()))
            assert data.families == 3
    finally:
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()
