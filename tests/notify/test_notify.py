"""Notifications (issue 18) inside one rolled-back transaction: what is notified and to whom, the
daily check and digest are idempotent, leaving a team hides a family's notifications at once, no
template's output names a family or an amount, the calendar feed parses and dies when revoked."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from tests import factories
from tests.budget import factories as money
from velferdslab.audit.models import AuditEvent
from velferdslab.budget import services as budget
from velferdslab.cases.meetings.models import Meeting
from velferdslab.cases.plan.models import Action
from velferdslab.core.models import today_local
from velferdslab.extensions import db
from velferdslab.notify import mail, services
from velferdslab.notify.models import Channel, Kind, Notification, NotificationDelivery
from velferdslab.teams.models import TeamMembership

KR = 100


def _kinds(user) -> list[str]:
    return sorted(db.session.scalars(select(Notification.kind).where(Notification.user_id == user.id)))


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- events that notify at once -----------------------------------------------------------------------


def test_a_sent_request_waits_on_the_lead_and_the_decision_reaches_the_requester(ctx):
    setup = money.funded_family()
    spend = money.spend(setup, 1_000 * KR)  # within the lead's authority: the lead decides
    assert _kinds(setup.lead) == ["spend_waiting"]
    assert _kinds(setup.manager) == [] and _kinds(setup.member) == []
    waiting = db.session.scalar(select(Notification).where(Notification.user_id == setup.lead.id))
    assert waiting.link == f"/budsjett/utgifter/{spend.id}" and waiting.family_id == setup.family.id
    # Decisions waiting on me are mailed at once by default.
    assert db.session.get(NotificationDelivery, waiting.delivery_id).mode == "immediate"

    budget.approve_spend(spend.id, setup.lead)
    assert _kinds(setup.member) == ["spend_approved"]
    budget.pay_spend(spend.id, setup.lead, paid_on=today_local(), reference="F-1")
    assert _kinds(setup.member) == ["spend_approved", "spend_paid"]

    other = money.spend(setup, 500 * KR)
    budget.reject_spend(other.id, setup.lead, reason="Ikke nødvendig")
    assert _kinds(setup.member) == ["spend_approved", "spend_paid", "spend_rejected"]
    assert _kinds(setup.lead) == ["spend_waiting", "spend_waiting"]


def test_a_request_above_the_leads_authority_waits_on_management_each_approver_in_turn(ctx):
    setup = money.funded_family(allocated=400_000 * KR)
    spend = money.spend(setup, 300_000 * KR)  # above 250 000 kr: two managers must approve
    assert _kinds(setup.lead) == []
    assert _kinds(setup.manager) == ["spend_waiting"] and _kinds(setup.manager2) == ["spend_waiting"]
    manager_note = db.session.scalar(select(Notification).where(Notification.user_id == setup.manager.id))
    assert manager_note.family_id is None  # management is not on the team: its right is the spend's own rule
    budget.approve_spend(spend.id, setup.manager)
    # The first approval leaves it waiting on the other manager only (a new occasion for them).
    assert _kinds(setup.manager2) == ["spend_waiting", "spend_waiting"]
    assert _kinds(setup.manager) == ["spend_waiting"]


def test_emergency_access_is_told_to_the_familys_lead(ctx):
    from velferdslab.audit import emergency

    setup = money.funded_family()
    emergency.open_grant(setup.manager, setup.family.id, reason="Akutt behov for oversikt over familien", hours=2)
    assert _kinds(setup.lead) == ["emergency_access"]
    assert _kinds(setup.manager) == []


# --- the daily check -----------------------------------------------------------------------------------


@pytest.fixture
def due_world(ctx):
    """A family whose lead owns an overdue action and one due soon, meets tomorrow, has a consent
    expiring in 20 days and a regular assessment due."""
    today = today_local()
    lab = factories.lab()
    nav = factories.agency(lab)
    family = factories.family(lab, name="Familien Hemmeligsen", agency=nav, started_on=today - timedelta(days=200))
    lead = factories.user(lab, ("team_lead",), nav)
    factories.team_member(family, lead, "lead")
    factories.consent(family, nav, expires_on=today + timedelta(days=20))
    enrolment = factories.current_enrolment(family)
    overdue = Action(
        family_id=family.id,
        title="Søke bostøtte",
        owner_user_id=lead.id,
        owner_is_family=False,
        due_on=today - timedelta(days=2),
        status="planned",
    )
    soon = Action(
        family_id=family.id,
        title="Ringe skolen",
        owner_user_id=lead.id,
        owner_is_family=False,
        due_on=today + timedelta(days=2),
        status="planned",
    )
    later = Action(
        family_id=family.id,
        title="Senere",
        owner_user_id=lead.id,
        owner_is_family=False,
        due_on=today + timedelta(days=30),
        status="planned",
    )
    db.session.add_all(
        [
            overdue,
            soon,
            later,
            Meeting(
                family_id=family.id,
                enrolment_id=enrolment.id,
                held_on=today - timedelta(days=20),
                notes="Hemmelig notat",
                next_meeting_on=today + timedelta(days=1),
            ),
        ]
    )
    db.session.flush()
    return lab, family, lead


def test_the_daily_check_notifies_what_is_due_once_however_often_it_runs(due_world):
    _lab, _family, lead = due_world
    made = services.check_due()
    assert _kinds(lead) == ["action_due", "action_overdue", "assessment_due", "consent_expiring", "meeting_tomorrow"]
    assert made == 5
    assert services.check_due() == 0
    assert len(_kinds(lead)) == 5


def test_the_digest_is_made_once_a_day(due_world):
    _lab, _family, lead = due_world
    services.check_due()
    first = services.make_digests()
    assert len(first) == 1
    digest = db.session.get(NotificationDelivery, first[0])
    assert digest.mode == "digest" and digest.user_id == lead.id
    assert (
        db.session.scalar(select(func.count()).select_from(Notification).where(Notification.delivery_id == digest.id))
        == 5
    )
    services.check_due()
    assert services.make_digests() == []
    assert _count(NotificationDelivery) == 1


def test_preferences_choose_the_channel_and_off_mails_nothing(due_world, login):
    _lab, _family, lead = due_world
    client = login(lead)
    bad = client.post("/varsler/innstillinger", data={"action_overdue": "hourly"})
    assert bad.status_code == 422
    saved = client.post("/varsler/innstillinger", data={"action_overdue": "immediate", "meeting_tomorrow": "off"})
    assert saved.status_code == 302
    assert services.preferences(lead)["action_overdue"] == Channel.IMMEDIATE
    services.check_due()
    overdue = db.session.scalar(select(Notification).where(Notification.kind == "action_overdue"))
    assert db.session.get(NotificationDelivery, overdue.delivery_id).mode == "immediate"
    services.make_digests()
    meeting = db.session.scalar(select(Notification).where(Notification.kind == "meeting_tomorrow"))
    assert meeting.delivery_id is None  # off: in the list, never mailed
    assert "meeting_tomorrow" in _kinds(lead)


def test_leaving_the_team_stops_the_familys_notifications_at_once(due_world, login):
    _lab, family, lead = due_world
    services.check_due()
    digest_id = services.make_digests()[0]
    assert services.unread_count(lead) == 5
    membership = db.session.scalar(select(TeamMembership).where(TeamMembership.user_id == lead.id))
    membership.end_date = today_local() - timedelta(days=1)
    db.session.flush()
    assert services.unread_count(lead) == 0 and services.list_for(lead) == []
    assert mail.deliver(digest_id, final=True) == "skipped"  # checked when it is sent
    page = login(lead).get("/varsler").get_data(as_text=True)
    assert "tiltak" not in page.lower().split("<main", 1)[1]


# --- the app: list, bell, read/unread, Mine oppgaver ----------------------------------------------------


def test_the_list_the_bell_and_reading(due_world, login):
    _lab, family, lead = due_world
    services.check_due()
    client = login(lead)
    page = client.get("/varsler").get_data(as_text=True)
    assert 'data-unread="5"' in page
    assert str(Kind.ACTION_OVERDUE.label) in page
    note = db.session.scalar(select(Notification).where(Notification.kind == "action_overdue"))
    opened = client.get(f"/varsler/{note.id}")
    assert opened.status_code == 302 and opened.headers["Location"].endswith(note.link)
    assert 'data-unread="4"' in client.get("/").get_data(as_text=True)
    client.post(f"/varsler/{note.id}/lest", data={"read": "0"})
    assert services.unread_count(lead) == 5
    assert client.post("/varsler/alle-lest").status_code == 302
    assert services.unread_count(lead) == 0
    tasks = client.get("/oppgaver")
    assert tasks.status_code == 200


def test_mine_oppgaver_shows_the_unread_notifications(due_world, login):
    _lab, _family, lead = due_world
    services.check_due()
    page = login(lead).get("/oppgaver").get_data(as_text=True)
    assert "Nye varsler" in page and str(Kind.MEETING_TOMORROW.label) in page


def test_someone_elses_notification_is_404(due_world, login):
    lab, _family, lead = due_world
    services.check_due()
    note = db.session.scalar(select(Notification).where(Notification.user_id == lead.id).limit(1))
    stranger = factories.user(lab, ("team_lead",))
    client = login(stranger)
    assert client.get(f"/varsler/{note.id}").status_code == 404
    assert client.post(f"/varsler/{note.id}/lest").status_code == 404


# --- no personal data in any template --------------------------------------------------------------------


def test_no_template_output_names_a_family_or_an_amount(app, login):
    """Every kind, in the list, on Mine oppgaver, as an immediate mail and in a digest, in both languages."""
    setup = money.funded_family()
    spend = money.spend(setup, 12_345 * KR)
    family = setup.family
    names = {family.household_name} | {m.first_name for m in family.members} | {m.last_name for m in family.members}
    amounts = {"12 345", "12345", "12.345", "12,345", "123450", str(spend.amount)}
    for kind in Kind:
        services.notify(
            setup.lead, kind, link=f"/budsjett/utgifter/{spend.id}", dedupe_key=f"scan:{kind}", family_id=family.id
        )
    rows = services.list_for(setup.lead)
    assert len(rows) == len(Kind) + 1
    outputs = []
    for language in ("nb", "en"):
        setup.lead.locale = language
        for row in rows:
            outputs.extend(mail.render(setup.lead, "immediate", [row]))
        outputs.extend(mail.render(setup.lead, "digest", rows))
    client = login(setup.lead)
    outputs.append(client.get("/varsler").get_data(as_text=True).split("<main", 1)[1])
    outputs.append(client.get("/varsler/innstillinger").get_data(as_text=True).split("<main", 1)[1])
    task_page = client.get("/oppgaver").get_data(as_text=True)
    outputs.append(task_page.split('id="notifications-h"', 1)[1].split("</section>", 1)[0])
    assert len(outputs) == 2 * (len(rows) + 1) * 2 + 3
    for text in outputs:
        for secret in names | amounts:
            assert not re.search(rf"\b{re.escape(secret)}\b", text), (secret, text[:400])
    assert mail.language_of(setup.lead) == "en"  # the mail is rendered in the user's own language
    setup.lead.locale = None
    assert mail.language_of(setup.lead) == "nb"


# --- the calendar ------------------------------------------------------------------------------------------


def test_the_calendar_feed_parses_hides_names_and_dies_when_revoked(due_world, app, login):
    _lab, family, lead = due_world
    client = login(lead)
    made = client.post("/kalender", data={"action": "new"})
    assert made.status_code == 200
    url = re.search(r'<code class="token">([^<]+)</code>', made.get_data(as_text=True)).group(1)
    path = url.split("localhost", 1)[1]
    anonymous = app.test_client()
    feed = anonymous.get(path)
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    cal = Calendar.from_ical(feed.data)
    events = [c for c in cal.walk("VEVENT")]
    assert {str(e["summary"]) for e in events} == {"Møte i investeringsteamet", "Planlagt møte i investeringsteamet"}
    assert {e.decoded("dtstart") for e in events} == {
        today_local() - timedelta(days=20),
        today_local() + timedelta(days=1),
    }
    assert family.household_name.encode() not in feed.data and b"Hemmelig" not in feed.data
    token = path.rsplit("/", 1)[1].removesuffix(".ics")
    assert token not in " ".join(str(s) for s in db.session.scalars(select(AuditEvent.summary)))

    client.post("/kalender", data={"action": "revoke"})
    assert anonymous.get(path).status_code == 404
    named = client.post("/kalender", data={"action": "new", "show_names": "1"})
    new_path = re.search(r'<code class="token">([^<]+)</code>', named.get_data(as_text=True)).group(1)
    new_path = new_path.split("localhost", 1)[1]
    assert new_path != path and anonymous.get(path).status_code == 404
    assert family.household_name in anonymous.get(new_path).get_data(as_text=True)


def test_a_single_meeting_downloads_as_ics_behind_the_family_gate(due_world, login):
    lab, family, lead = due_world
    meeting = db.session.scalar(select(Meeting).where(Meeting.family_id == family.id))
    url = f"/familier/{family.id}/moter/{meeting.id}/kalender.ics"
    response = login(lead).get(url)
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    event = next(iter(Calendar.from_ical(response.data).walk("VEVENT")))
    assert event.decoded("dtstart") == today_local() + timedelta(days=1)
    assert family.household_name not in response.get_data(as_text=True)
    assert login(factories.user(lab, ("team_lead",))).get(url).status_code == 404


# --- administrators ---------------------------------------------------------------------------------------


def test_the_administrator_sees_delivery_status_and_resends_a_failed_one(due_world, login):
    lab, _family, lead = due_world
    services.check_due()
    digest_id = services.make_digests()[0]
    db.session.get(NotificationDelivery, digest_id).status = "failed"
    db.session.get(NotificationDelivery, digest_id).error = "smtp_error"
    db.session.flush()
    admin = factories.user(lab, ("admin",))
    assert login(lead).get("/admin/varsler").status_code == 403
    client = login(admin)
    page = client.get("/admin/varsler").get_data(as_text=True)
    assert "Send på nytt" in page and lead.name in page
    assert client.post(f"/admin/varsler/{digest_id}/send-igjen").status_code == 302
    assert db.session.get(NotificationDelivery, digest_id).status == "queued"
    assert client.post(f"/admin/varsler/{digest_id}/send-igjen").status_code == 409
    assert (
        db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "notify.resend")) == 1
    )


def test_development_mail_goes_to_the_mail_folder_and_is_audited_without_its_text(
    due_world, app, tmp_path, monkeypatch
):
    _lab, _family, lead = due_world
    monkeypatch.setitem(app.config, "SMTP", {"backend": "console", "mail_dir": str(tmp_path), "sender": "vl@test"})
    services.check_due()
    digest_id = services.make_digests()[0]
    assert mail.deliver(digest_id, final=True) == "sent"
    files = list(tmp_path.glob("*.eml"))
    assert len(files) == 1
    text = files[0].read_text()
    assert lead.email in text and "passert fristen" in text and "Hemmeligsen" not in text
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "notify.mail_sent"))
    assert event.object_id == str(digest_id) or event.object_id == digest_id
    assert "fristen" not in str(event.summary)
    assert mail.deliver(digest_id, final=True) == "skipped"  # sent already: never twice


def test_production_without_a_mail_server_reports_the_delivery_failed(due_world, app, monkeypatch):
    _lab, _family, _lead = due_world
    monkeypatch.setitem(app.config, "SMTP", {"backend": "disabled", "mail_dir": "", "sender": "vl@test"})
    services.check_due()
    digest_id = services.make_digests()[0]
    assert mail.deliver(digest_id, final=False) == "failed"
    assert db.session.get(NotificationDelivery, digest_id).error == "not_configured"


def test_the_bell_counts_what_the_list_shows_through_every_door(ctx):
    """unread_count's statement is built once per shape (team work, emergency permission): it counts
    what list_for shows, for a team lead, for a manager through an emergency grant and after it ends,
    and a manager's notification about no family."""
    from velferdslab.audit import emergency

    setup = money.funded_family()
    other = factories.family(setup.lab, name="Familien Annen", agency=setup.agency)

    def note(user, family_id):
        n = len(notes)
        notes.append(Notification(user_id=user.id, lab_id=setup.lab.id, family_id=family_id, link="/",
                                  kind=Kind.SPEND_WAITING.value, dedupe_key=f"bell-test-{n}"))
        db.session.add(notes[-1])
        db.session.flush()

    notes: list[Notification] = []

    def agrees(user) -> int:
        shown = [n for n in services.list_for(user) if n.read_at is None]
        assert services.unread_count(user) == len(shown)
        return len(shown)

    note(setup.lead, setup.family.id)
    note(setup.lead, other.id)                  # not on that team: neither listed nor counted
    note(setup.manager, None)                   # about no family: always theirs
    note(setup.manager, setup.family.id)        # about a family they are not on the team of
    assert agrees(setup.lead) == 1
    assert agrees(setup.manager) == 1
    grant = emergency.open_grant(setup.manager, setup.family.id, reason="Akutt behov for oversikt over familien",
                                 hours=2)
    assert agrees(setup.manager) == 2           # the grant opens the family's notifications too
    grant.ended_at = grant.granted_at
    db.session.flush()
    assert agrees(setup.manager) == 1


def test_an_occasion_is_notified_once_in_one_statement(ctx, count_queries):
    """notify() inserts unless the occasion's key is there (INSERT … ON CONFLICT DO NOTHING
    RETURNING): the second call changes nothing, fails nothing, and the transaction goes on."""
    setup = money.funded_family()
    with count_queries() as counter:
        first = services.notify(setup.lead, Kind.EMERGENCY_ACCESS, link="/", dedupe_key="once-only")
    assert first is not None and first.id and first.kind == "emergency_access" and first.lab_id == setup.lab.id
    # No look before the insert: the key is read by the INSERT alone.
    assert [s.split("(")[0].strip() for s in counter.statements if "dedupe_key" in s] == ["INSERT INTO notification"]
    assert services.notify(setup.lead, Kind.EMERGENCY_ACCESS, link="/annen", dedupe_key="once-only") is None
    rows = db.session.scalars(select(Notification).where(Notification.dedupe_key == "once-only")).all()
    assert [(r.id, r.link) for r in rows] == [(first.id, "/")]
    assert services.notify(setup.lead, Kind.EMERGENCY_ACCESS, link="/", dedupe_key="twice") is not None
