"""Quarterly progress reports on the task queue (RQ on Redis).

The end-to-end tests use the real Redis named by ``VELFERDSLAB_TEST_REDIS_URL`` (CI:
``redis://127.0.0.1:6379/15``), a queue name of their own that they empty afterwards, a database of
their own, and a real RQ worker (``SimpleWorker``, in this process, inside the app context — as
``velferdslab worker`` runs it).
"""

from __future__ import annotations

import io
import os
import uuid
import zipfile
from datetime import date

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.conftest import build_app, make_database_url, migrate_to_head

REDIS_URL = os.environ.get("VELFERDSLAB_TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="VELFERDSLAB_TEST_REDIS_URL is not set (CI sets it to "
                                                       "redis://127.0.0.1:6379/15)")


def _team(lab, n_families: int = 3):
    """A lead with ``n_families`` families (consent for the lead's agency), and a stranger."""
    agency = factories.agency(lab)
    lead = factories.user(lab, roles=("team_lead",), agency=agency)
    families = []
    for _ in range(n_families):
        fam = factories.family(lab)
        factories.team_member(fam, lead, role="lead")
        factories.consent(fam, agency)
        factories.assessment(fam, {"bolig": 1, "arbeid": 2, "okonomi": 2})
        families.append(fam)
    stranger = factories.user(lab, roles=("team_lead",), agency=agency)
    return lead, families, stranger


def _last_full_quarter() -> str:
    from velferdslab.batch.services import recent_quarters

    return recent_quarters()[1][0]


# --- without a queue, and bad input (rolled-back tests, both backends) ------------------------------

def test_quarters_are_calendar_quarters():
    from velferdslab.batch.services import parse_quarter, recent_quarters

    assert parse_quarter("2025-K1") == (date(2025, 1, 1), date(2025, 3, 31))
    assert parse_quarter("2024-K4") == (date(2024, 10, 1), date(2024, 12, 31))
    codes = [code for code, _s, _e in recent_quarters(date(2026, 2, 10), count=3)]
    assert codes == ["2026-K1", "2025-K4", "2025-K3"]


@pytest.mark.parametrize("quarter", ["2025-Q1", "2025-K5", "", "2999-K1", "1999-K4"])
def test_a_bad_quarter_is_refused_and_creates_nothing(app, lab, login, quarter):
    from velferdslab.batch.models import ReportBatch
    from velferdslab.extensions import db

    lead, _families, _ = _team(lab, 1)
    response = login(lead).post("/api/v1/report-batches", json={"quarter": quarter})
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(ReportBatch)) == 0


def test_without_redis_the_api_answers_503_and_creates_nothing(app, lab, login, monkeypatch):
    from velferdslab.batch.models import ReportBatch
    from velferdslab.extensions import db

    monkeypatch.setitem(app.config, "REDIS_URL", None)
    lead, _families, _ = _team(lab, 1)
    response = login(lead).post("/api/v1/report-batches", json={"quarter": _last_full_quarter()})
    assert response.status_code == 503
    assert "VELFERDSLAB_REDIS_URL" in response.get_json()["message"]
    assert db.session.scalar(select(func.count()).select_from(ReportBatch)) == 0


def test_with_redis_down_the_page_says_so_and_creates_nothing(app, lab, login, monkeypatch):
    from velferdslab.batch.models import ReportBatch
    from velferdslab.extensions import db

    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    lead, _families, _ = _team(lab, 1)
    client = login(lead)
    page = client.get("/rapporter/kvartal")
    response = client.post("/rapporter/kvartal", data={"quarter": _last_full_quarter(), "language": "nb",
                                                       "csrf_token": factories.csrf_from(page.get_data(as_text=True))})
    assert response.status_code == 422
    assert "Køen for bakgrunnsjobber svarer ikke" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ReportBatch)) == 0


def test_a_batch_is_only_visible_to_whoever_asked_for_it(app, lab, login, ctx):
    from velferdslab.batch.models import ReportBatch, ReportBatchItem
    from velferdslab.extensions import db

    lead, families, stranger = _team(lab, 2)
    batch = ReportBatch(lab_id=lab.id, requested_by_id=lead.id, period_start=date(2025, 1, 1),
                        period_end=date(2025, 3, 31), total=2)
    db.session.add(batch)
    db.session.flush()
    db.session.add_all(ReportBatchItem(batch_id=batch.id, family_id=f.id) for f in families)
    db.session.flush()
    own = login(lead)
    assert own.get(f"/rapporter/kvartal/{batch.id}").status_code == 200
    assert own.get(f"/api/v1/report-batches/{batch.id}").get_json()["queued"] == 2
    other = login(stranger)
    for path in (f"/rapporter/kvartal/{batch.id}", f"/api/v1/report-batches/{batch.id}",
                 f"/rapporter/kvartal/{batch.id}/rapporter.zip"):
        assert other.get(path).status_code == 404
    page = own.get("/rapporter/kvartal")
    assert page.status_code == 200 and "Kvartalsrapporter" in page.get_data(as_text=True)


# --- end to end with a real Redis and a real worker ----------------------------------------------------

@pytest.fixture
def queued_app(backend, tmp_path):
    """An app on a database of its own, with the real Redis and a queue name nobody else uses."""
    import redis

    from velferdslab.extensions import db

    database_url, remove = make_database_url(backend, tmp_path)
    queue = f"vl-test-batch-{uuid.uuid4().hex[:8]}"
    app = build_app(database_url, REDIS_URL=REDIS_URL, BATCH_QUEUE=queue, BATCH_RETRY_INTERVALS=[0, 0])
    migrate_to_head(app)
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        yield app
    finally:
        _clean_queue(connection, queue)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        remove()


def _clean_queue(connection, name: str) -> None:
    """Delete this test's queue, its registries and every job it ran (job keys do not name the queue)."""
    from rq import Queue
    from rq.registry import (
        CanceledJobRegistry,
        DeferredJobRegistry,
        FailedJobRegistry,
        FinishedJobRegistry,
        ScheduledJobRegistry,
        StartedJobRegistry,
    )

    queue = Queue(name, connection=connection)
    job_ids = set(queue.get_job_ids())
    for registry in (FinishedJobRegistry, FailedJobRegistry, StartedJobRegistry, ScheduledJobRegistry,
                     DeferredJobRegistry, CanceledJobRegistry):
        job_ids |= set(registry(queue=queue).get_job_ids())
    for job_id in job_ids:
        connection.delete(f"rq:job:{job_id}", f"rq:results:{job_id}", f"rq:job:{job_id}:dependents")
    for key in connection.scan_iter(f"*{name}*"):
        connection.delete(key)
    connection.srem("rq:queues", f"rq:queue:{name}")  # worker keys expire on their own


def _work(app) -> None:
    """A real RQ worker, in burst mode: runs what is queued (and immediate retries), then stops."""
    from rq import Queue
    from rq.worker import SimpleWorker

    from velferdslab.batch import services

    with app.app_context():
        connection = services.redis_connection()
        queue = Queue(services.queue_name(), connection=connection)
        SimpleWorker([queue], connection=connection).work(burst=True)


def _setup(app, n_families: int):
    from velferdslab.extensions import db

    with app.app_context():
        lab = factories.lab()
        lead, families, _stranger = _team(lab, n_families)
        db.session.commit()
        return lead, [f.id for f in families]


@pytest.mark.real_commits
@needs_redis
def test_a_quarterly_batch_runs_end_to_end_on_a_real_worker(queued_app):
    from velferdslab.audit.models import AuditEvent
    from velferdslab.batch.models import ReportBatchItem
    from velferdslab.extensions import db

    app = queued_app
    lead, family_ids = _setup(app, 3)
    client = factories.signed_in_client(app, lead)
    page = client.get("/rapporter/kvartal")
    started = client.post("/rapporter/kvartal", data={"quarter": _last_full_quarter(), "language": "nb",
                                                      "csrf_token": factories.csrf_from(page.get_data(as_text=True))})
    assert started.status_code == 302, started.get_data(as_text=True)[:300]
    batch_id = int(started.headers["Location"].rstrip("/").split("/")[-1])
    before = client.get(f"/api/v1/report-batches/{batch_id}").get_json()
    assert (before["total"], before["done"], before["queued"], before["finished"]) == (3, 0, 3, False)

    _work(app)

    after = client.get(f"/api/v1/report-batches/{batch_id}").get_json()
    assert (after["done"], after["failed"], after["queued"], after["finished"]) == (3, 0, 0, True)
    progress_page = client.get(f"/rapporter/kvartal/{batch_id}").get_data(as_text=True)
    assert "3 av 3" in progress_page
    download = client.get(after["download_url"])
    assert download.status_code == 200 and download.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.data))
    names = archive.namelist()
    assert len(names) == 3 and all(any(f"-{fid}-" in n for n in names) for fid in family_ids)
    assert all(archive.read(name).startswith(b"%PDF") for name in names)
    from pypdf import PdfReader  # the reports module's progress report, with the family's name in it

    with app.app_context():
        from velferdslab.cases.household.models import Family

        households = {fid: db.session.get(Family, fid).household_name for fid in family_ids}
    for name in names:
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(archive.read(name))).pages)
        family_id = next(fid for fid in family_ids if f"-{fid}-" in name)
        assert "Fremdriftsrapport" in text and households[family_id] in text
    with app.app_context():
        rendered = db.session.scalars(select(AuditEvent.family_id).where(AuditEvent.action == "report.batch_render",
                                                                         AuditEvent.actor_id == lead.id)).all()
        downloaded = db.session.scalars(select(AuditEvent.family_id)
                                        .where(AuditEvent.action == "report.batch_download")).all()
        assert sorted(rendered) == sorted(downloaded) == sorted(family_ids)
        assert {i.attempts for i in db.session.scalars(select(ReportBatchItem))} == {1}


@pytest.mark.real_commits
@needs_redis
def test_failed_jobs_are_retried_and_can_be_sent_again(queued_app, monkeypatch):
    from velferdslab.batch import render
    from velferdslab.batch.models import ReportBatchItem
    from velferdslab.extensions import db

    app = queued_app
    lead, family_ids = _setup(app, 2)
    flaky, broken = family_ids
    real = render.progress_pdf
    calls = {"flaky": 0}

    def sometimes_failing(user, access, *args, **kwargs):
        if access.family.id == flaky:
            calls["flaky"] += 1
            if calls["flaky"] == 1:
                raise RuntimeError("the first attempt fails")
        if access.family.id == broken:
            raise RuntimeError("this one always fails")
        return real(user, access, *args, **kwargs)

    monkeypatch.setattr(render, "progress_pdf", sometimes_failing)
    client = factories.signed_in_client(app, lead)
    created = client.post("/api/v1/report-batches", json={"quarter": _last_full_quarter()})
    assert created.status_code == 202
    batch_id = created.get_json()["id"]

    _work(app)

    with app.app_context():
        items = {i.family_id: i for i in db.session.scalars(select(ReportBatchItem))}
        assert (items[flaky].status, items[flaky].attempts) == ("done", 2)  # retried once, then done
        assert (items[broken].status, items[broken].error, items[broken].attempts) == ("failed", "render_error", 3)
    status = client.get(f"/api/v1/report-batches/{batch_id}").get_json()
    assert (status["done"], status["failed"], status["finished"]) == (1, 1, True)

    # Once the fault is mended, the user sends the failed report again from the progress page.
    monkeypatch.setattr(render, "progress_pdf", real)
    again = client.post(f"/rapporter/kvartal/{batch_id}/igjen")
    assert again.status_code == 302
    _work(app)
    status = client.get(f"/api/v1/report-batches/{batch_id}").get_json()
    assert (status["done"], status["failed"], status["finished"]) == (2, 0, True)


@pytest.mark.real_commits
@needs_redis
def test_a_family_the_user_may_no_longer_see_is_not_rendered(queued_app):
    from velferdslab.batch.models import ReportBatchItem
    from velferdslab.extensions import db
    from velferdslab.teams.models import TeamMembership

    app = queued_app
    lead, family_ids = _setup(app, 2)
    client = factories.signed_in_client(app, lead)
    batch_id = client.post("/api/v1/report-batches", json={"quarter": _last_full_quarter()}).get_json()["id"]
    with app.app_context():  # the lead leaves one team before the worker gets to it
        row = db.session.scalar(select(TeamMembership).where(TeamMembership.family_id == family_ids[0]))
        db.session.delete(row)
        db.session.commit()
    _work(app)
    with app.app_context():
        item = db.session.scalar(select(ReportBatchItem).where(ReportBatchItem.family_id == family_ids[0]))
        assert (item.status, item.error, item.pdf) == ("failed", "no_access", None)
    status = client.get(f"/api/v1/report-batches/{batch_id}").get_json()
    assert (status["done"], status["failed"]) == (1, 1)
