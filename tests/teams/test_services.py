"""Building and changing investment teams."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests import factories
from velferdslab.audit.models import AuditEvent
from velferdslab.cases import gate as policy
from velferdslab.core.errors import ForbiddenError, ServiceError
from velferdslab.extensions import db
from velferdslab.teams import services
from velferdslab.teams.models import TeamMembership


@pytest.fixture
def team(world):
    return services.current_team(world.family.id)


def test_add_a_member_for_a_period(world, team):
    row = services.add_member(team, world.outsider, start_date=world.today, actor=world.lead)
    assert (row.role, row.agency_id, row.family_id) == ("member", world.bolig.id, world.family.id)
    assert policy.can_view_family(world.outsider, world.family.id)
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.object_id == str(row.id))) == \
        "team.member_add"


def test_nobody_twice_in_the_same_period(world, team):
    with pytest.raises(ServiceError) as error:
        services.add_member(team, world.member, start_date=world.today + timedelta(days=30), actor=world.lead)
    assert error.value.field == "user_id"
    # After the first membership ends, a later one is fine (history of comings and goings).
    services.add_member(team, world.outsider, start_date=world.today - timedelta(days=20),
                        end_date=world.today - timedelta(days=10), actor=world.lead)
    with pytest.raises(ServiceError):
        services.add_member(team, world.outsider, start_date=world.today - timedelta(days=15), actor=world.lead)
    services.add_member(team, world.outsider, start_date=world.today - timedelta(days=5), actor=world.lead)


def test_one_lead_at_a_time(world, team):
    with pytest.raises(ServiceError) as error:
        services.add_member(team, world.other_lead, role="lead", start_date=world.today, actor=world.lead)
    assert error.value.field == "role"
    with pytest.raises(ServiceError):  # only an investment lead can lead
        services.add_member(team, world.outsider, role="lead", start_date=world.today, actor=world.lead)


def test_ending_a_membership(world, team):
    row = db.session.scalar(select(TeamMembership).where(TeamMembership.user_id == world.member.id,
                                                         TeamMembership.team_id == team.id))
    with pytest.raises(ServiceError) as error:
        services.end_membership(row, row.start_date - timedelta(days=1), actor=world.lead)
    assert error.value.field == "end_date" and "før det begynte" in error.value.message
    services.end_membership(row, world.today - timedelta(days=1), actor=world.lead)
    assert not policy.can_view_family(world.member, world.family.id)
    lead_row = db.session.scalar(select(TeamMembership).where(TeamMembership.user_id == world.lead.id,
                                                              TeamMembership.team_id == team.id))
    with pytest.raises(ServiceError):  # the team is never left without a lead
        services.end_membership(lead_row, world.today, actor=world.lead)


def test_handing_the_lead_over(world, team):
    services.transfer_lead(team, world.other_lead, on=world.today, actor=world.lead)
    assert policy.is_team_lead(world.other_lead, world.family.id)
    assert not policy.is_team_lead(world.lead, world.family.id)
    assert policy.can_view_family(world.lead, world.family.id)  # stays on as a member
    with pytest.raises(ForbiddenError):
        services.require_lead(world.lead, team)
    services.require_lead(world.other_lead, team)


def test_handing_over_to_a_current_member_ends_their_member_row(world, team):
    promoted = factories.user(world.lab, ("team_lead",), world.bolig)
    services.add_member(team, promoted, start_date=world.today - timedelta(days=10), actor=world.lead)
    services.transfer_lead(team, promoted, on=world.today, keep_old_as_member=False, actor=world.lead)
    rows = db.session.scalars(select(TeamMembership).where(TeamMembership.user_id == promoted.id)
                              .order_by(TeamMembership.start_date)).all()
    assert [(r.role, r.end_date) for r in rows] == [("member", world.today - timedelta(days=1)), ("lead", None)]
    assert not policy.can_view_family(world.lead, world.family.id)


def test_only_the_lead_changes_the_team(world, team, login):
    with pytest.raises(ForbiddenError):
        services.require_lead(world.member, team)
    with pytest.raises(ForbiddenError):
        services.require_lead(world.other_lead, team)
    page = login(world.member).get(f"/familier/{world.family.id}/team").get_data(as_text=True)
    assert "Legg til i teamet" not in page and world.lead.name in page


def test_the_lead_builds_the_team_in_the_browser_forms(world, login):
    client = login(world.lead)
    page = client.get(f"/familier/{world.family.id}/team")
    token = factories.csrf_from(page.get_data(as_text=True))
    response = client.post(f"/familier/{world.family.id}/team/medlemmer",
                           data={"csrf_token": token, "user_id": str(world.outsider.id), "role": "member",
                                 "start_date": world.today.isoformat()})
    assert response.status_code == 302
    assert policy.can_view_family(world.outsider, world.family.id)
    handover = {"lead-csrf_token": token, "lead-user_id": str(world.other_lead.id),
                "lead-on": world.today.isoformat(), "lead-keep_old_as_member": "y"}
    # First the confirmation page (issue 13): nothing changes until it is confirmed.
    response = client.post(f"/familier/{world.family.id}/team/leder", data=handover)
    assert response.status_code == 200 and "Du blir vanlig medlem" in response.get_data(as_text=True)
    db.session.expire_all()
    assert not policy.is_team_lead(world.other_lead, world.family.id)
    response = client.post(f"/familier/{world.family.id}/team/leder", data={**handover, "confirmed": "1"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    db.session.expire_all()
    assert policy.is_team_lead(world.other_lead, world.family.id)
