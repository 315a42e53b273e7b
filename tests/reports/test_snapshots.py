"""A published report, computed once (``reports.snapshots``; issues 14 and 19): the first reading of
a published quarter keeps its statements' rows, later readings read them back and answer exactly
what a computation would; nothing live, typed as-of or not yet settled is kept."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.reports.test_releases import _read, quiet_lab  # noqa: F401 - a fixture
from velferdslab.core.models import utcnow
from velferdslab.extensions import db
from velferdslab.reports import snapshots
from velferdslab.reports.models import ReportRelease, ReportSnapshot

pytestmark = pytest.mark.cell_key


def _aggregates(counter) -> list[str]:
    """The report's aggregate statements a ``count_queries`` counter saw (they all read the
    selection CTE ``sel``, or the hold-back count's ``sel_before``)."""
    return [s for s in counter.statements if "sel AS" in s or "sel_before AS" in s]


def _kept() -> int:
    return db.session.scalar(select(func.count()).select_from(ReportSnapshot))


@pytest.fixture
def settled(app):
    app.config["REPORT_SNAPSHOT_SETTLE_SECONDS"] = 0
    yield
    app.config["REPORT_SNAPSHOT_SETTLE_SECONDS"] = 300


def test_a_published_report_is_computed_once_and_read_back_the_same(
        app, quiet_lab, login, settled, count_queries):  # noqa: F811
    lab, _ = quiet_lab
    client = login(factories.user(lab, roles=("manager",)))
    with count_queries() as counter:
        first = _read(client)
    first_run = _aggregates(counter)
    assert first_run and _kept() >= len(first_run)
    with count_queries() as counter:
        second = _read(client)
    second_run = _aggregates(counter)
    assert second_run == []  # every aggregate read back
    assert second == first
    # and what was kept is what a computation gives now
    app.config["REPORT_SNAPSHOTS"] = False
    try:
        with count_queries() as counter:
            computed = _read(client)
        computed_run = _aggregates(counter)
    finally:
        app.config["REPORT_SNAPSHOTS"] = True
    assert computed_run and computed == first


def test_the_page_reads_its_sections_and_trend_back_too(app, quiet_lab, login, settled, count_queries):  # noqa: F811
    lab, _ = quiet_lab
    client = login(factories.user(lab, roles=("manager",)))
    assert client.get("/rapporter/resultater").status_code == 200
    with count_queries() as counter:
        page = client.get("/rapporter/resultater")
    second_run = _aggregates(counter)
    assert page.status_code == 200 and second_run == []


def test_a_new_release_instant_is_not_kept_until_it_has_settled(app, quiet_lab, login):  # noqa: F811
    lab, _ = quiet_lab
    client = login(factories.user(lab, roles=("manager",)))
    _read(client)  # fixes the release instant now: younger than REPORT_SNAPSHOT_SETTLE_SECONDS
    assert _kept() == 0
    release = db.session.scalars(select(ReportRelease)).first()
    release.released_at = utcnow() - timedelta(seconds=301)
    db.session.flush()
    db.session.expire_all()
    client = login(factories.user(lab, roles=("manager",)))  # a new request: no memo of the instant
    _read(client)
    assert _kept() > 0


def test_live_and_switched_off_reports_are_never_kept(app, quiet_lab, login, settled):  # noqa: F811
    lab, _ = quiet_lab
    client = login(factories.user(lab, roles=("manager",)))
    app.config["REPORT_SNAPSHOTS"] = False
    try:
        _read(client)
    finally:
        app.config["REPORT_SNAPSHOTS"] = True
    assert _kept() == 0
    app.config["REPORT_CELL_KEY"] = False  # the live report: no release
    try:
        _read(client)
    finally:
        app.config["REPORT_CELL_KEY"] = True
    assert _kept() == 0


def test_another_selection_is_another_snapshot(app, quiet_lab, login, settled):  # noqa: F811
    lab, _ = quiet_lab
    client = login(factories.user(lab, roles=("manager",)))
    whole = _read(client)
    kept = _kept()
    themed = client.get(f"/api/v1/reports/outcome?start={whole['filters']['start']}&theme=bolig").get_json()
    assert _kept() > kept
    assert themed["filters"]["theme"] == "bolig" and themed != whole


def test_rows_keep_their_names_and_types(app):
    with app.app_context():
        rows = db.session.execute(select(func.count().label("families"))).all()
    body = snapshots.dumps(rows)
    back = snapshots.loads(body)
    assert back[0].families == rows[0].families and tuple(back[0]) == tuple(rows[0])

    class Row(tuple):
        _fields = ("amount", "day", "share", "name", "nothing")

    values = Row((Decimal("12345678901234567890"), date(2026, 9, 30), 0.25, "bolig", None))
    back = snapshots.loads(snapshots.dumps([values]))[0]
    assert (back.amount, back.day, back.share, back.name, back.nothing) == tuple(values)
    assert isinstance(back.amount, Decimal) and isinstance(back.day, date)
    with pytest.raises(TypeError):
        snapshots.dumps([Row((object(), None, None, None, None))])


def test_a_second_first_reading_of_the_same_rows_is_no_conflict(app, db_session):
    with app.test_request_context():
        statement = select(func.count().label("n"))
        connection = db.session.connection()
        first = snapshots.execute_all(connection, {"n": statement})
        snapshots._keep({snapshots.key(statement, connection.dialect): snapshots.dumps(first["n"])})
        assert db.session.scalar(select(func.count()).select_from(ReportSnapshot)) == 1
        assert snapshots.execute_all(connection, {"n": statement})["n"][0].n == first["n"][0].n


def test_report_publish_computes_the_default_report_ahead(app, quiet_lab, login, settled, count_queries):  # noqa: F811
    lab, _ = quiet_lab
    client = login(factories.user(lab, roles=("manager",)))
    _read(client)  # fixes the release instant (settled at once here)
    db.session.execute(ReportSnapshot.__table__.delete())
    result = app.test_cli_runner().invoke(args=["report-publish", "--lab", lab.slug])
    assert result.exit_code == 0, result.output
    assert "1 of 1 lab(s) have their published outcome report computed." in result.output
    with count_queries() as counter:
        page = client.get("/rapporter/resultater")
        start = client.get("/")
    first_reading = _aggregates(counter)
    assert page.status_code == 200 and start.status_code == 200
    assert first_reading == []  # the page and the start page read everything back


def test_report_publish_says_when_nothing_has_settled(app, quiet_lab):  # noqa: F811
    lab, _ = quiet_lab
    result = app.test_cli_runner().invoke(args=["report-publish", "--lab", lab.slug])
    assert result.exit_code == 0, result.output
    assert "0 of 1 lab(s)" in result.output and "run it again later" in result.output
    assert _kept() == 0


def test_rows_a_snapshot_cannot_hold_are_answered_not_kept(app, db_session, monkeypatch):
    def refuse(rows):
        raise TypeError("no")

    monkeypatch.setattr(snapshots, "dumps", refuse)
    with app.test_request_context():
        statement = select(func.count().label("n"))
        rows = snapshots.execute_all(db.session.connection(), {"n": statement})
        assert rows["n"][0].n == 1
        assert db.session.scalar(select(func.count()).select_from(ReportSnapshot)) == 0


@pytest.mark.postgres
@pytest.mark.real_commits
def test_a_reading_cut_short_keeps_what_it_had_computed(backend, tmp_path):
    """On PostgreSQL the kept rows are committed in a transaction of their own: a first reading that
    fails after computing some statements (its deadline, a lost client) leaves those kept, and the
    next reading reads them back instead of computing them again (issue 19)."""
    from tests.conftest import build_app, make_database_url, migrate_to_head

    url, remove = make_database_url(backend, tmp_path)
    app = build_app(url)
    try:
        migrate_to_head(app)
        statements = {"n": select(func.count().label("n")), "m": select(func.count().label("m"))}
        with app.test_request_context():
            connection = db.session.connection()
            first = snapshots.execute_all(connection, {"n": statements["n"]})
            db.session.rollback()  # the request fails after its first statement
            assert _kept() == 1
            both = snapshots.execute_all(db.session.connection(), statements)
            assert both["n"][0].n == first["n"][0].n and _kept() == 2
            db.session.rollback()
            assert _kept() == 2
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        remove()
