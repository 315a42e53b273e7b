"""Real e-mail through a real SMTP server (aiosmtpd, started here) and the real task queue.

The mail is read back from the server: addressed to the right person, in their language, with a
link and no personal data. A mail server that is down leaves the request unaffected; the queue
retries and the delivery is reported failed after the last try. An address the server refuses is
reported to the lab's administrator. Without Redis, ``velferdslab notify run`` sends the digest,
and a second run sends nothing.
"""

from __future__ import annotations

import email
import socket
import uuid
from email import policy

import pytest
from sqlalchemy import select

from tests import factories
from tests.batch.test_batch import REDIS_URL, _clean_queue, needs_redis
from tests.budget import factories as money
from tests.conftest import build_app, make_database_url, migrate_to_head

KR = 100


class Collector:
    """An aiosmtpd handler that keeps every message and refuses the addresses in ``refuse``."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield collector, controller.port
    finally:
        controller.stop()


def _smtp(port: int) -> dict:
    return {
        "backend": "smtp",
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "user": None,
        "password": None,
        "sender": "varsler@velferdslab.test",
        "timeout": 5,
        "mail_dir": "",
    }


@pytest.fixture
def mail_app(backend, tmp_path, request):
    """An app on a database of its own; ``request.param`` says whether it uses the real Redis queue."""
    import redis

    from velferdslab.extensions import db

    with_redis = getattr(request, "param", True)
    database_url, remove = make_database_url(backend, tmp_path)
    queue = f"vl-test-notify-{uuid.uuid4().hex[:8]}"
    overrides = {"BATCH_QUEUE": queue, "NOTIFY_RETRY_INTERVALS": [0, 0], "PUBLIC_URL": "https://vl.example"}
    if with_redis:
        overrides["REDIS_URL"] = REDIS_URL
    app = build_app(database_url, **overrides)
    migrate_to_head(app)
    try:
        yield app
    finally:
        if with_redis:
            _clean_queue(redis.Redis.from_url(REDIS_URL), queue)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        remove()


def _work(app) -> None:
    from rq import Queue
    from rq.worker import SimpleWorker

    from velferdslab.batch import services

    with app.app_context():
        connection = services.redis_connection()
        SimpleWorker([Queue(services.queue_name(), connection=connection)], connection=connection).work(burst=True)


def _setup(app, *, lead_locale: str | None = "en"):
    from velferdslab.extensions import db

    with app.app_context():
        setup = money.funded_family()
        setup.lead.locale = lead_locale
        admin = factories.user(setup.lab, ("admin",))
        db.session.commit()
        return setup, admin


def _submit(app, setup) -> int:
    client = factories.signed_in_client(app, setup.member)
    data = money.spend_data(setup, 2_500 * KR)
    data["wanted_on"] = data["wanted_on"].isoformat()
    response = client.post(f"/api/v1/families/{setup.family.id}/spend-requests", json={**data, "submit": True})
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    return response.get_json()["id"]


def _deliveries(app):
    from velferdslab.extensions import db
    from velferdslab.notify.models import NotificationDelivery

    with app.app_context():
        return list(db.session.scalars(select(NotificationDelivery).order_by(NotificationDelivery.id)))


@pytest.mark.real_commits
@needs_redis
def test_a_decision_waiting_is_mailed_through_a_real_smtp_server(mail_app, smtp_server, monkeypatch):
    from velferdslab.audit.models import AuditEvent
    from velferdslab.extensions import db

    collector, port = smtp_server
    monkeypatch.setitem(mail_app.config, "SMTP", _smtp(port))
    setup, _admin = _setup(mail_app)
    spend_id = _submit(mail_app, setup)
    assert collector.messages == []  # the request only queued it
    _work(mail_app)

    assert len(collector.messages) == 1
    message = collector.messages[0]
    assert message["To"] == setup.lead.email and message["From"] == "varsler@velferdslab.test"
    body = message.get_content()
    assert f"https://vl.example/budsjett/utgifter/{spend_id}" in body
    for secret in (setup.family.household_name, "2 500", "2500", "Utleier", "Depositum"):
        assert secret not in body and secret not in message["Subject"]
    [delivery] = _deliveries(mail_app)
    assert (delivery.status, delivery.attempts, delivery.mode) == ("sent", 1, "immediate")
    with mail_app.app_context():
        sent = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "notify.mail_sent"))
        assert sent is not None and sent.summary["notifications"] == 1 and "text" not in sent.summary
    _work(mail_app)
    assert len(collector.messages) == 1  # nothing twice


@pytest.mark.real_commits
@needs_redis
def test_with_the_mail_server_down_the_request_succeeds_and_the_last_try_fails(mail_app, monkeypatch):
    monkeypatch.setitem(mail_app.config, "SMTP", _smtp(_free_port()))  # nothing listens there
    setup, _admin = _setup(mail_app)
    _submit(mail_app, setup)  # answers 201: the mail server is never asked in the request
    [queued] = _deliveries(mail_app)
    assert queued.status == "queued"
    _work(mail_app)
    [failed] = _deliveries(mail_app)
    assert (failed.status, failed.error, failed.attempts) == ("failed", "smtp_error", 3)  # 1 + 2 retries


@pytest.mark.real_commits
@needs_redis
def test_a_refused_address_is_reported_to_the_administrator(mail_app, smtp_server, monkeypatch):
    from velferdslab.extensions import db
    from velferdslab.notify.models import Notification

    collector, port = smtp_server
    monkeypatch.setitem(mail_app.config, "SMTP", _smtp(port))
    setup, admin = _setup(mail_app)
    collector.refuse.add(setup.lead.email)
    _submit(mail_app, setup)
    _work(mail_app)
    first = _deliveries(mail_app)[0]
    assert (first.status, first.error, first.attempts) == ("failed", "invalid_address", 1)  # not retried
    with mail_app.app_context():
        told = db.session.scalars(select(Notification.kind).where(Notification.user_id == admin.id)).all()
    assert told == ["mail_refused"]
    page = factories.signed_in_client(mail_app, admin).get("/admin/varsler").get_data(as_text=True)
    assert "Adressen ble avvist" in page


@pytest.mark.real_commits
@pytest.mark.parametrize("mail_app", [False], indirect=True)
def test_notify_run_without_redis_sends_the_digest_once(mail_app, smtp_server, monkeypatch):
    from datetime import timedelta

    from velferdslab.cases.plan.models import Action
    from velferdslab.core.models import today_local
    from velferdslab.extensions import db

    collector, port = smtp_server
    monkeypatch.setitem(mail_app.config, "SMTP", _smtp(port))
    setup, _admin = _setup(mail_app, lead_locale=None)
    with mail_app.app_context():
        db.session.add(
            Action(
                family_id=setup.family.id,
                title="Søke bostøtte",
                owner_user_id=setup.lead.id,
                owner_is_family=False,
                due_on=today_local() - timedelta(days=1),
                status="planned",
            )
        )
        db.session.commit()
    runner = mail_app.test_cli_runner()
    first = runner.invoke(args=["notify", "run"])
    assert first.exit_code == 0, first.output
    assert len(collector.messages) == 1
    body = collector.messages[0].get_content()
    assert "Du har 1 tiltak som har passert fristen" in body and "https://vl.example/varsler" in body
    assert "bostøtte" not in body and setup.family.household_name not in body
    second = runner.invoke(args=["notify", "run"])
    assert second.exit_code == 0, second.output
    assert len(collector.messages) == 1
    assert [d.status for d in _deliveries(mail_app)] == ["sent"]
