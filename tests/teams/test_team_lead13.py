"""Issue 13, the team lead: warnings while building the team, confirmation before a membership ends
or the lead passes on, and undo — within the window, refused after it and refused once something
depends on the change — each an audited change of its own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import format_date
from sqlalchemy import select

from tests import factories
from velferdslab.audit import undo
from velferdslab.audit.actions import AuditAction
from velferdslab.audit.models import AuditEvent
from velferdslab.cases import gate as policy
from velferdslab.cases.consent import services as consent_services
from velferdslab.cases.team import checks
from velferdslab.core.models import utcnow
from velferdslab.extensions import db
from velferdslab.teams import services
from velferdslab.teams.models import TeamMembership


def _events(family_id: int, action: AuditAction) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.family_id == family_id,
                                                            AuditEvent.action == str(action))
                                   .order_by(AuditEvent.id)))


def _row(world, user) -> TeamMembership:
    db.session.expire_all()
    return db.session.scalars(select(TeamMembership).where(TeamMembership.family_id == world.family.id,
                                                           TeamMembership.user_id == user.id)
                              .order_by(TeamMembership.id.desc())).first()


def _later(monkeypatch, minutes: int) -> None:
    """The clock the undo window is read by, ``minutes`` ahead."""
    monkeypatch.setattr(undo, "utcnow", lambda: utcnow() + timedelta(minutes=minutes))


# --- warnings ---------------------------------------------------------------------------------------

def _warnings(world):
    team = services.current_team(world.family.id)
    return checks.team_warnings(checks.facts(world.family, services.memberships(team.id)))


def test_the_team_page_warns_about_members_the_consent_does_not_cover(world, login):
    codes = {(w.code, w.user_id) for w in _warnings(world)}
    assert ("no_consent", world.gated.id) in codes and ("no_agency", world.no_agency.id) in codes
    assert not any(uid in (world.lead.id, world.member.id) for _c, uid in codes)
    html = login(world.lead).get(f"/familier/{world.family.id}/team").get_data(as_text=True)
    assert "Merk: samtykket dekker ikke hele teamet" in html
    assert "Familien har ikke gitt gyldig samtykke til Barnevern: Gro Uten-Samtykke ser bare" in html
    assert "Nils Uten-Etat representerer ingen etat" in html
    assert html.count("uten samtykke</span>") == 2  # Gro's and Nils's rows in the list


def test_the_warning_and_the_gate_follow_one_rule(world):
    assert world.access(world.gated).gated
    factories.consent(world.family, world.barnevern, given_on=world.today - timedelta(days=3))
    db.session.flush()
    assert not world.access(world.gated).gated
    assert not any(w.user_id == world.gated.id for w in _warnings(world))
    # An expired consent is no consent, for the warning as for the gate.
    other = factories.user(world.lab, ("caseworker",), factories.agency(world.lab, "Skole", "skole"),
                           name="Siri Skole")
    school = other.agency
    factories.consent(world.family, school, given_on=world.today - timedelta(days=30),
                      expires_on=world.today - timedelta(days=1))
    factories.team_member(world.family, other)
    db.session.flush()
    assert world.access(other).gated
    assert any(w.code == "no_consent" and w.user_id == other.id for w in _warnings(world))


def test_a_young_person_of_consent_age_without_their_own_consent_is_named(world):
    young = [w for w in _warnings(world) if w.code == "young_person"]
    assert len(young) == 1 and "Jonas Berg har nådd samtykkealderen (15 år)" in young[0].message
    assert "per person" in young[0].message and "til Barnevern, Bolig, NAV:" in young[0].message
    # Lise (10) is below it; so is Jonas when the lab's consent age is 17.
    world.lab.consent_age = 17
    db.session.flush()
    assert not [w for w in _warnings(world) if w.code == "young_person"]
    world.lab.consent_age = 15
    # Jonas gives his own consent (about himself) to Bolig: Bolig is no longer named.
    jonas = world.members()["Jonas"]
    consent_services.give_consent(world.access(world.lead), actor=world.lead, agency=world.bolig.id,
                                  purpose="team", categories=["skole"], subject=jonas.id, given_by=jonas.id,
                                  valid_from=world.today)
    young = [w for w in _warnings(world) if w.code == "young_person"]
    assert "til Barnevern, NAV:" in young[0].message and "Bolig" not in young[0].message
    # Below the age nobody is named: a guardian decides for a younger child.
    world.lab.consent_age = 17
    db.session.flush()
    assert not [w for w in _warnings(world) if w.code == "young_person"]


def test_an_agency_with_only_a_persons_consent_is_warned_about(world):
    """Issue 15: an agency whose consents are about one person sees none of the household's matters."""
    from velferdslab.cases.consent.models import Consent

    jonas = world.members()["Jonas"]
    assert not [w for w in _warnings(world) if w.code == "persons_only"]
    consent_services.give_consent(world.access(world.lead), actor=world.lead, agency=world.barnevern.id,
                                  purpose="team", categories=["skole", "arbeid"], subject=jonas.id,
                                  given_by=jonas.id, valid_from=world.today)
    db.session.flush()
    assert db.session.query(Consent).filter_by(agency_id=world.barnevern.id).count() == 1
    warning = next(w for w in _warnings(world) if w.code == "persons_only")
    assert warning.agency_id == world.barnevern.id
    assert "Jonas Berg (Arbeid, Skole)" in warning.message and "Husstandens felles forhold" in warning.message


def test_adding_a_member_warns_when_their_agency_has_no_consent(world, login):
    newcomer = factories.user(world.lab, ("caseworker",), world.barnevern, name="Berit Barnevern")
    client = login(world.lead)
    form = client.get(f"/familier/{world.family.id}/team").get_data(as_text=True)
    assert "Berit Barnevern (Barnevern – uten samtykke fra familien)" in form
    assert "Ute Utenfor (Bolig)</option>" in form
    response = client.post(f"/familier/{world.family.id}/team/medlemmer", follow_redirects=True,
                           data={"user_id": str(newcomer.id), "role": "member",
                                 "start_date": world.today.isoformat()})
    html = response.get_data(as_text=True)
    assert "Berit Barnevern er lagt til i teamet." in html
    assert 'class="flash flash-warning">Familien har ikke gitt gyldig samtykke til Barnevern: Berit Barnevern' in html
    assert "Jonas Berg har nådd samtykkealderen" in html
    assert policy.can_view_family(newcomer, world.family.id)  # a warning, not a refusal
    # One with consent: no consent warning for them.
    html = client.post(f"/familier/{world.family.id}/team/medlemmer", follow_redirects=True,
                       data={"user_id": str(world.outsider.id), "role": "member",
                             "start_date": world.today.isoformat()}).get_data(as_text=True)
    assert "Ute Utenfor er lagt til i teamet." in html and "samtykke til Bolig" not in html


# --- ending a membership -------------------------------------------------------------------------------

def _end(client, world, membership, confirmed=False, end_date=None, **kwargs):
    data = {"end_date": (end_date or world.today).isoformat()}
    if confirmed:
        data["confirmed"] = "1"
    return client.post(f"/familier/{world.family.id}/team/medlemmer/{membership.id}/avslutt", data=data, **kwargs)


def test_ending_a_membership_asks_first_and_says_from_when_access_ends(app, world, login):
    client = login(world.lead)
    row = _row(world, world.member)
    response = _end(client, world, row)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    with app.test_request_context():
        tomorrow = format_date(world.today + timedelta(days=1), "long")
    assert f"Mona Medlem mister tilgang til familien fra {tomorrow}." in html
    assert 'name="confirmed" value="1"' in html and 'name="end_date"' in html
    assert _row(world, world.member).end_date is None  # nothing changed yet
    assert _events(world.family.id, AuditAction.TEAM_MEMBER_END) == []

    response = _end(client, world, row, confirmed=True, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Medlemskapet til Mona Medlem er avsluttet." in html
    event = _events(world.family.id, AuditAction.TEAM_MEMBER_END)[-1]
    assert f'name="event_id" value="{event.id}"' in html and ">Angre</button>" in html
    assert _row(world, world.member).end_date == world.today
    assert event.summary["end_date"] == world.today.isoformat() and event.summary["previous_end_date"] is None


def test_a_bad_end_date_is_refused_by_its_field_without_a_confirmation(world, login):
    row = _row(world, world.member)
    response = _end(login(world.lead), world, row, end_date=row.start_date - timedelta(days=1))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Medlemskapet kan ikke slutte før det begynte." in html and 'name="confirmed"' not in html


def test_undo_within_the_window_restores_the_membership_as_a_change_of_its_own(world, login):
    client = login(world.lead)
    _end(client, world, _row(world, world.member), confirmed=True)
    event = _events(world.family.id, AuditAction.TEAM_MEMBER_END)[-1]
    html = client.post(f"/familier/{world.family.id}/team/medlemmer/angre", data={"event_id": str(event.id)},
                       follow_redirects=True).get_data(as_text=True)
    assert "Avslutningen er angret: Mona Medlem er med i teamet igjen." in html
    assert _row(world, world.member).end_date is None
    undone = _events(world.family.id, AuditAction.TEAM_MEMBER_END_UNDO)
    assert len(undone) == 1 and undone[0].summary["undoes"] == event.id and undone[0].actor_id == world.lead.id
    assert len(_events(world.family.id, AuditAction.TEAM_MEMBER_END)) == 1  # the trail keeps both
    # Once undone, the same undo is refused.
    html = client.post(f"/familier/{world.family.id}/team/medlemmer/angre", data={"event_id": str(event.id)},
                       follow_redirects=True).get_data(as_text=True)
    assert "kan ikke angres" in html
    assert len(_events(world.family.id, AuditAction.TEAM_MEMBER_END_UNDO)) == 1


def test_undo_after_the_window_is_refused(world, login, monkeypatch):
    client = login(world.lead)
    _end(client, world, _row(world, world.member), confirmed=True)
    event = _events(world.family.id, AuditAction.TEAM_MEMBER_END)[-1]
    _later(monkeypatch, 11)
    html = client.post(f"/familier/{world.family.id}/team/medlemmer/angre", data={"event_id": str(event.id)},
                       follow_redirects=True).get_data(as_text=True)
    assert "Endringen kan ikke lenger angres: det har gått mer enn 10 minutter." in html
    assert _row(world, world.member).end_date == world.today
    assert _events(world.family.id, AuditAction.TEAM_MEMBER_END_UNDO) == []


def test_the_window_is_configurable(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "UNDO_MINUTES", 30)
    row = services.end_membership(_row(world, world.member), world.today, actor=world.lead)
    event = undo.latest(AuditAction.TEAM_MEMBER_END, "team_membership", row.id)
    _later(monkeypatch, 20)
    team = services.current_team(world.family.id)
    assert services.undo_end_membership(team, event.id, actor=world.lead).end_date is None


def test_undo_is_refused_once_the_member_is_added_again(world):
    team = services.current_team(world.family.id)
    row = services.end_membership(_row(world, world.member), world.today, actor=world.lead)
    event = undo.latest(AuditAction.TEAM_MEMBER_END, "team_membership", row.id)
    services.add_member(team, world.member, start_date=world.today + timedelta(days=1), actor=world.lead)
    with pytest.raises(services.ServiceError) as error:
        services.undo_end_membership(team, event.id, actor=world.lead)
    assert "Mona Medlem er lagt til i teamet på nytt" in error.value.message
    assert row.end_date == world.today
    assert _events(world.family.id, AuditAction.TEAM_MEMBER_END_UNDO) == []


def test_only_the_one_who_ended_it_undoes_it(world):
    team = services.current_team(world.family.id)
    row = services.end_membership(_row(world, world.member), world.today, actor=world.lead)
    event = undo.latest(AuditAction.TEAM_MEMBER_END, "team_membership", row.id)
    with pytest.raises(services.ServiceError):  # not the team's lead
        services.undo_end_membership(team, event.id, actor=world.gated)
    with pytest.raises(services.ServiceError) as error:  # an event of another kind is no handle
        services.undo_end_membership(team, event.id + 1000, actor=world.lead)
    assert error.value.status == 404


# --- handing over the lead -----------------------------------------------------------------------------

def _handover(client, world, confirmed=False, keep=True, **kwargs):
    data = {"lead-user_id": str(world.other_lead.id), "lead-on": world.today.isoformat()}
    if keep:
        data["lead-keep_old_as_member"] = "y"
    if confirmed:
        data["confirmed"] = "1"
    return client.post(f"/familier/{world.family.id}/team/leder", data=data, **kwargs)


def test_handing_over_asks_first_and_says_who_becomes_what(world, login):
    client = login(world.lead)
    html = _handover(client, world).get_data(as_text=True)
    assert "Du blir vanlig medlem; Olga Annenleder blir investeringsleder fra" in html
    assert 'name="lead-keep_old_as_member" value="y"' in html
    db.session.expire_all()
    assert policy.is_team_lead(world.lead, world.family.id)
    assert _events(world.family.id, AuditAction.TEAM_LEAD_TRANSFER) == []
    html = _handover(client, world, keep=False).get_data(as_text=True)
    assert "Du går ut av teamet og mister tilgang til familien fra" in html

    html = _handover(client, world, confirmed=True, follow_redirects=True).get_data(as_text=True)
    assert "Ledelsen av teamet er overlatt til Olga Annenleder." in html and ">Angre</button>" in html
    db.session.expire_all()
    assert policy.is_team_lead(world.other_lead, world.family.id)


def test_undo_a_handover_while_the_new_lead_has_done_nothing(world, login):
    client = login(world.lead)
    _handover(client, world, confirmed=True)
    event = _events(world.family.id, AuditAction.TEAM_LEAD_TRANSFER)[-1]
    html = client.post(f"/familier/{world.family.id}/team/leder/angre", data={"event_id": str(event.id)},
                       follow_redirects=True).get_data(as_text=True)
    assert "Lederskiftet er angret: Ivar Leder er investeringsleder igjen." in html
    db.session.expire_all()
    assert policy.is_team_lead(world.lead, world.family.id)
    assert not policy.can_view_family(world.other_lead, world.family.id)
    lead_rows = db.session.scalars(select(TeamMembership).where(TeamMembership.family_id == world.family.id,
                                                                TeamMembership.user_id == world.lead.id)).all()
    assert len(lead_rows) == 1 and lead_rows[0].role == "lead" and lead_rows[0].end_date is None
    undone = _events(world.family.id, AuditAction.TEAM_LEAD_TRANSFER_UNDO)
    assert len(undone) == 1 and undone[0].summary["undoes"] == event.id
    assert len(_events(world.family.id, AuditAction.TEAM_LEAD_TRANSFER)) == 1


def test_undo_a_handover_is_refused_once_the_new_lead_has_acted(world, login):
    client = login(world.lead)
    _handover(client, world, confirmed=True)
    event = _events(world.family.id, AuditAction.TEAM_LEAD_TRANSFER)[-1]
    assert login(world.other_lead).get(f"/familier/{world.family.id}").status_code == 200
    html = client.post(f"/familier/{world.family.id}/team/leder/angre", data={"event_id": str(event.id)},
                       follow_redirects=True).get_data(as_text=True)
    assert "Olga Annenleder har allerede arbeidet med familien som investeringsleder" in html
    db.session.expire_all()
    assert policy.is_team_lead(world.other_lead, world.family.id)
    assert _events(world.family.id, AuditAction.TEAM_LEAD_TRANSFER_UNDO) == []


def test_undo_a_handover_after_the_window_is_refused(world, login, monkeypatch):
    client = login(world.lead)
    _handover(client, world, confirmed=True)
    event = _events(world.family.id, AuditAction.TEAM_LEAD_TRANSFER)[-1]
    _later(monkeypatch, 11)
    html = client.post(f"/familier/{world.family.id}/team/leder/angre", data={"event_id": str(event.id)},
                       follow_redirects=True).get_data(as_text=True)
    assert "det har gått mer enn 10 minutter" in html
    db.session.expire_all()
    assert policy.is_team_lead(world.other_lead, world.family.id)
    assert _events(world.family.id, AuditAction.TEAM_LEAD_TRANSFER_UNDO) == []


def test_the_api_changes_at_once_and_the_service_refuses_the_same_as_the_form(world, login):
    """API clients confirm on their side; the service's rules are the same."""
    response = login(world.lead).post(f"/api/v1/families/{world.family.id}/team/memberships/"
                                      f"{_row(world, world.member).id}/end", json={"end_date": world.today.isoformat()})
    assert response.status_code == 200
    assert _row(world, world.member).end_date == world.today
