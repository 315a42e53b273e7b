"""Issue 13, the team lead: withdrawing a consent and closing an enrolment ask first; a withdrawal can
be undone (within the window, while nothing was recorded since); the family page puts its summary
first; and the page, *Mine familier* and the progress report PDF agree on the next meeting."""

from __future__ import annotations

import re
from datetime import timedelta

from flask_babel import format_date
from sqlalchemy import select

from tests.reports.test_progress import pdf_text
from velferdslab.audit import undo
from velferdslab.audit.actions import AuditAction
from velferdslab.audit.models import AuditEvent
from velferdslab.cases.consent import services as consent_services
from velferdslab.cases.consent.models import Consent
from velferdslab.cases.enrolment.services import current_enrolment
from velferdslab.cases.meetings.queries import next_meeting_on
from velferdslab.cases.meetings.services import record_meeting
from velferdslab.cases.overview.queries import family_page, my_families
from velferdslab.core.models import utcnow
from velferdslab.extensions import db
from velferdslab.reports import progress


def _events(family_id: int, action: AuditAction) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.family_id == family_id,
                                                            AuditEvent.action == str(action))
                                   .order_by(AuditEvent.id)))


def _bolig_consent(world) -> Consent:
    db.session.expire_all()
    return db.session.scalars(select(Consent).where(Consent.family_id == world.family.id,
                                                    Consent.agency_id == world.bolig.id)
                              .order_by(Consent.id.desc())).first()


def _withdraw(client, world, consent, confirmed=False, **kwargs):
    data = {"withdrawn_on": world.today.isoformat(), "withdrawn_by": str(consent.given_by_member_id)}
    if confirmed:
        data["confirmed"] = "1"
    return client.post(f"/familier/{world.family.id}/samtykke/{consent.id}/trekk", data=data, **kwargs)


# --- withdrawing a consent -----------------------------------------------------------------------------

def test_withdrawing_asks_first_and_says_who_loses_what(app, world, login):
    client = login(world.lead)
    consent = _bolig_consent(world)
    response = _withdraw(client, world, consent)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    with app.test_request_context():
        today = format_date(world.today, "long")
    assert f"Anne Berg trekker tilbake samtykket til Bolig (Samarbeid i investeringsteamet) fra {today}." in html
    assert "Mona Medlem mister innsyn i vurderinger, notater, mål og tiltak" in html
    assert _bolig_consent(world).id == consent.id  # nothing recorded yet
    assert _events(world.family.id, AuditAction.CONSENT_WITHDRAW) == []
    assert not world.access(world.member).gated

    html = _withdraw(client, world, consent, confirmed=True, follow_redirects=True).get_data(as_text=True)
    assert "Samtykket for Bolig (Samarbeid i investeringsteamet) er trukket tilbake." in html
    assert ">Angre</button>" in html
    assert _bolig_consent(world).withdrawn_on == world.today
    assert world.access(world.member).gated


def test_undo_a_withdrawal_within_the_window(world, login):
    client = login(world.lead)
    consent = _bolig_consent(world)
    _withdraw(client, world, consent, confirmed=True)
    event = _events(world.family.id, AuditAction.CONSENT_WITHDRAW)[-1]
    html = client.post(f"/familier/{world.family.id}/samtykke/angre", data={"event_id": str(event.id)},
                       follow_redirects=True).get_data(as_text=True)
    assert "Tilbaketrekningen er angret: samtykket for Bolig gjelder som før." in html
    restored = _bolig_consent(world)
    assert restored.withdrawn_on is None and restored.given_on == consent.given_on
    assert restored.supersedes_id == int(event.object_id)  # a new row: rows are never edited
    assert not world.access(world.member).gated
    undone = _events(world.family.id, AuditAction.CONSENT_WITHDRAW_UNDO)
    assert len(undone) == 1 and undone[0].summary["undoes"] == event.id
    assert len(db.session.scalars(select(Consent).where(Consent.agency_id == world.bolig.id,
                                                        Consent.family_id == world.family.id)).all()) == 3


def test_undo_a_withdrawal_after_the_window_is_refused(world, login, monkeypatch):
    client = login(world.lead)
    _withdraw(client, world, _bolig_consent(world), confirmed=True)
    event = _events(world.family.id, AuditAction.CONSENT_WITHDRAW)[-1]
    monkeypatch.setattr(undo, "utcnow", lambda: utcnow() + timedelta(minutes=11))
    html = client.post(f"/familier/{world.family.id}/samtykke/angre", data={"event_id": str(event.id)},
                       follow_redirects=True).get_data(as_text=True)
    assert "det har gått mer enn 10 minutter" in html
    assert _bolig_consent(world).withdrawn_on == world.today
    assert _events(world.family.id, AuditAction.CONSENT_WITHDRAW_UNDO) == []


def test_undo_a_withdrawal_is_refused_once_something_was_recorded_since(world, login):
    client = login(world.lead)
    _withdraw(client, world, _bolig_consent(world), confirmed=True)
    event = _events(world.family.id, AuditAction.CONSENT_WITHDRAW)[-1]
    # The family gives a new consent to the same agency and purpose: it supersedes the withdrawal.
    consent_services.give_consent(world.access(world.lead), actor=world.lead, agency=world.bolig.id,
                                  purpose="team", categories=["bolig"], given_by=world.members()["Per"].id,
                                  valid_from=world.today)
    html = client.post(f"/familier/{world.family.id}/samtykke/angre", data={"event_id": str(event.id)},
                       follow_redirects=True).get_data(as_text=True)
    assert "Noe er registrert for dette samtykket etter at det ble trukket tilbake" in html
    assert _events(world.family.id, AuditAction.CONSENT_WITHDRAW_UNDO) == []


def test_only_who_withdrew_undoes_it(world, login):
    _withdraw(login(world.lead), world, _bolig_consent(world), confirmed=True)
    event = _events(world.family.id, AuditAction.CONSENT_WITHDRAW)[-1]
    html = login(world.member).post(f"/familier/{world.family.id}/samtykke/angre", data={"event_id": str(event.id)},
                                    follow_redirects=True).get_data(as_text=True)
    assert "Bare den som gjorde endringen, kan angre den." in html
    assert _events(world.family.id, AuditAction.CONSENT_WITHDRAW_UNDO) == []


# --- closing an enrolment ------------------------------------------------------------------------------

def test_closing_an_enrolment_asks_first_and_names_the_family_after(world, login):
    client = login(world.lead)
    enrolment = current_enrolment(world.family.id)
    url = f"/familier/{world.family.id}/deltakelse/{enrolment.id}/avslutt"
    data = {"closed_on": world.today.isoformat(), "reason": "goals_reached"}
    html = client.post(url, data=data).get_data(as_text=True)
    assert "Avslutte deltakelsen for Familien Berg?" in html and "Oppfølgingsvurderingene forfaller" in html
    db.session.expire_all()
    assert current_enrolment(world.family.id).status == "active"
    assert _events(world.family.id, AuditAction.ENROLMENT_CLOSE) == []
    html = client.post(url, data={**data, "confirmed": "1"}, follow_redirects=True).get_data(as_text=True)
    assert "Deltakelsen for Familien Berg er avsluttet." in html
    db.session.expire_all()
    assert current_enrolment(world.family.id).status == "closed"
    assert len(_events(world.family.id, AuditAction.ENROLMENT_CLOSE)) == 1


def test_a_bad_close_is_refused_by_its_field_without_a_confirmation(world, login):
    enrolment = current_enrolment(world.family.id)
    response = login(world.lead).post(f"/familier/{world.family.id}/deltakelse/{enrolment.id}/avslutt",
                                      data={"closed_on": (world.today + timedelta(days=3)).isoformat(),
                                            "reason": "moved"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Avslutningsdatoen kan ikke være fram i tid." in html and 'name="confirmed"' not in html


# --- the family page -----------------------------------------------------------------------------------

def test_the_family_page_puts_the_summary_and_the_journey_first(world, login):
    html = login(world.lead).get(f"/familier/{world.family.id}").get_data(as_text=True)
    marks = ['id="family-summary"', "Samlet nivå", "Neste møte", "Forfalte tiltak", "Registrer møte og vurdering",
             'id="family-journey"', 'id="budget-h"', "privacy-link", 'id="progress-report-heading"',
             'id="duken-h"', 'id="actions-h"', 'id="meetings-h"', 'id="members-h"', 'id="team-h"',
             'id="consent-h"']
    positions = [html.find(mark) for mark in marks]
    assert all(p >= 0 for p in positions), [m for m, p in zip(marks, positions, strict=True) if p < 0]
    assert positions == sorted(positions)


# --- one next meeting ----------------------------------------------------------------------------------

def _agree(app, world, login, expected):
    fresh = world.access(world.lead)
    assert next_meeting_on(world.family.id, world.today) == expected
    assert family_page(fresh).next_meeting_on == expected
    assert next(s for s in my_families(world.lead) if s.family.id == world.family.id).next_meeting_on == expected
    assert progress.build(fresh).next_meeting_on == expected
    client = login(world.lead)
    with app.test_request_context():
        shown = app.jinja_env.filters["d"](expected)
    page = client.get(f"/familier/{world.family.id}").get_data(as_text=True)
    assert re.search(rf"<dt>Neste møte</dt><dd>{re.escape(shown)}</dd>", page)
    pdf = pdf_text(client.get(f"/familier/{world.family.id}/fremdriftsrapport.pdf").data)
    assert f"Neste møte: {shown}" in pdf


def test_page_and_pdf_agree_when_the_latest_meetings_next_is_past(app, world, login):
    access = world.access(world.lead)
    planned = world.today + timedelta(days=21)
    record_meeting(access, actor=world.lead, held_on=world.today - timedelta(days=30), notes="Tidlig",
                   next_meeting_on=planned)
    record_meeting(access, actor=world.lead, held_on=world.today - timedelta(days=3), notes="Sist",
                   next_meeting_on=world.today - timedelta(days=1))
    _agree(app, world, login, planned)


def test_page_and_pdf_agree_when_an_earlier_meetings_next_is_past(app, world, login):
    access = world.access(world.lead)
    planned = world.today + timedelta(days=9)
    record_meeting(access, actor=world.lead, held_on=world.today - timedelta(days=40), notes="Tidlig",
                   next_meeting_on=world.today - timedelta(days=10))
    record_meeting(access, actor=world.lead, held_on=world.today - timedelta(days=2), notes="Sist",
                   next_meeting_on=planned)
    _agree(app, world, login, planned)


def test_the_earliest_planned_date_is_the_next_meeting(app, world, login):
    access = world.access(world.lead)
    near, far = world.today, world.today + timedelta(days=50)
    record_meeting(access, actor=world.lead, held_on=world.today - timedelta(days=20), notes="a", next_meeting_on=far)
    record_meeting(access, actor=world.lead, held_on=world.today - timedelta(days=5), notes="b", next_meeting_on=near)
    _agree(app, world, login, near)  # today counts: the meeting is today
