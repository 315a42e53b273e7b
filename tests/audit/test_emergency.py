"""Emergency access: allowed roles only, a stated reason, a time limit, one family; it counts for
the access policy, shows on the family page and is flagged for review."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests import factories
from tests.audit.factories import admin, close, grant, manager, team
from velferdslab.audit import emergency
from velferdslab.audit.models import AuditEvent, EmergencyAccess
from velferdslab.cases import gate as policy
from velferdslab.core.errors import ForbiddenError, ServiceError
from velferdslab.core.models import utcnow
from velferdslab.extensions import db


def test_a_manager_breaks_the_glass_for_one_family(ctx, lab):
    fam, _lead, _worker = team(lab)
    other, _l2, _w2 = team(lab)
    boss = manager(lab)
    assert not policy.can_view_family(boss, fam.id)
    row = grant(boss, fam, hours=3)
    assert timedelta(hours=3) - timedelta(seconds=5) < row.expires_at - row.granted_at <= timedelta(hours=3)
    assert policy.can_view_family(boss, fam.id)
    assert not policy.can_view_family(boss, other.id)
    visible = set(db.session.scalars(select(policy.visible_family_ids(boss).subquery().c[0])))
    assert visible == {fam.id}
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "emergency.grant"))
    assert (event.family_id, event.purpose, event.summary["hours"]) == (fam.id, "emergency", 3)
    assert "reason" not in event.summary  # the reason stays in the grant, never in the trail


@pytest.mark.parametrize("roles", [("caseworker",), ("team_lead",)])
def test_other_roles_may_not(ctx, lab, roles):
    fam, _lead, _worker = team(lab)
    with pytest.raises(ForbiddenError):
        grant(factories.user(lab, roles=roles), fam)


@pytest.mark.parametrize("reason, hours, field", [
    ("for kort", 2, "reason"), ("   " + "x" * 10 + "   ", 2, "reason"), ("x" * 1001, 2, "reason"),
    ("En god og lang nok begrunnelse her", 0, "hours"), ("En god og lang nok begrunnelse her", 9, "hours"),
    ("En god og lang nok begrunnelse her", True, "hours"),
])
def test_a_reason_and_a_time_limit_are_required(ctx, lab, reason, hours, field):
    fam, _lead, _worker = team(lab)
    with pytest.raises(ServiceError) as caught:
        grant(manager(lab), fam, reason=reason, hours=hours)
    assert caught.value.field == field
    assert db.session.scalar(select(EmergencyAccess)) is None


def test_only_families_of_ones_own_lab(ctx, lab):
    other_lab = factories.lab()
    fam, _lead, _worker = team(other_lab)
    with pytest.raises(ServiceError) as caught:
        grant(manager(lab), fam)
    assert caught.value.field == "family_id"


def test_a_grant_ends_when_its_time_is_up_or_when_ended(ctx, lab):
    fam, _lead, _worker = team(lab)
    boss = manager(lab)
    row = grant(boss, fam, hours=1)
    assert emergency.active_grant(boss, fam.id, now=utcnow() + timedelta(minutes=59)) is not None
    assert emergency.active_grant(boss, fam.id, now=utcnow() + timedelta(minutes=61)) is None
    emergency.end(boss, row.id)
    assert not policy.can_view_family(boss, fam.id)
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "emergency.end"))


def test_losing_the_role_ends_the_access(ctx, lab):
    fam, _lead, _worker = team(lab)
    boss = manager(lab)
    grant(boss, fam)
    boss.set_roles({"caseworker"})
    db.session.flush()
    assert not policy.can_view_family(boss, fam.id)


def test_the_family_page_opens_under_emergency_access_and_shows_the_banner(ctx, lab, login):
    fam, _lead, worker = team(lab)
    boss = manager(lab)
    client = login(boss)
    assert client.get(f"/familier/{fam.id}").status_code == 404
    response = client.post("/nodtilgang", data={"family_id": fam.id, "hours": 2,
                                                 "reason": "Barnevernet ringte om akutt bekymring i kveld"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/familier/{fam.id}")
    page = client.get(f"/familier/{fam.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Nødtilgang til denne familien" in html and "akutt bekymring i kveld" in html
    # The team sees it too.
    team_page = login(worker).get(f"/familier/{fam.id}").get_data(as_text=True)
    assert "Nødtilgang til denne familien" in team_page and "Til gjennomgang" in team_page
    reads = db.session.scalars(select(AuditEvent).where(AuditEvent.actor_id == boss.id,
                                                        AuditEvent.action == "family.view")).all()
    assert len(reads) == 1 and reads[0].family_id == fam.id


def test_the_emergency_form_rejects_a_missing_reason_with_422(ctx, lab, login):
    fam, _lead, _worker = team(lab)
    client = login(manager(lab))
    response = client.post("/nodtilgang", data={"family_id": fam.id, "hours": 2, "reason": "kort"})
    assert response.status_code == 422
    assert db.session.scalar(select(EmergencyAccess)) is None


def test_caseworkers_cannot_open_the_emergency_page(ctx, lab, login):
    assert login(factories.user(lab)).get("/nodtilgang").status_code == 403


def test_an_administrator_marks_a_grant_reviewed_but_not_their_own(ctx, lab, login):
    fam, _lead, _worker = team(lab)
    boss, reviewer = manager(lab), admin(lab)
    row = grant(boss, fam)
    own = grant(reviewer, fam)
    db.session.commit()
    client = login(reviewer)
    assert client.post(f"/admin/revisjon/nodtilgang/{row.id}/gjennomgatt").status_code == 302
    db.session.refresh(row)
    assert row.reviewed_by_id == reviewer.id
    client.post(f"/admin/revisjon/nodtilgang/{own.id}/gjennomgatt")
    db.session.refresh(own)
    assert own.reviewed_at is None


def test_a_restricted_family_is_reachable_only_by_emergency_access(ctx, lab, login):
    fam, lead, worker = team(lab)
    close(fam)
    fam.restricted_at = utcnow()
    db.session.flush()
    for member in (lead, worker):
        assert not policy.can_view_family(member, fam.id)
        assert login(member).get(f"/familier/{fam.id}").status_code == 404
    boss = manager(lab)
    grant(boss, fam)
    assert login(boss).get(f"/familier/{fam.id}").status_code == 200


def test_an_erased_family_cannot_be_opened_even_by_emergency_access(ctx, lab):
    fam, _lead, _worker = team(lab)
    fam.erased_at = utcnow()
    db.session.flush()
    with pytest.raises(ServiceError):
        grant(manager(lab), fam)


def test_the_administrators_start_page_counts_unreviewed_grants(ctx, lab, login):
    fam, _lead, _worker = team(lab)
    reviewer = admin(lab)
    client = login(reviewer)
    assert "Ingen nødtilganger venter på gjennomgang." in client.get("/").get_data(as_text=True)
    grant(manager(lab), fam)
    db.session.commit()
    html = client.get("/").get_data(as_text=True)
    assert "1 nødtilgang venter på gjennomgang" in html
    assert "nødtilgang venter" not in login(manager(lab)).get("/").get_data(as_text=True)


def test_emergency_access_is_for_looking_not_changing(ctx, lab, login):
    fam, _lead, _worker = team(lab)
    boss = manager(lab)
    grant(boss, fam)
    db.session.commit()
    client = login(boss)
    assert client.get(f"/api/v1/families/{fam.id}").status_code == 200
    response = client.post(f"/api/v1/families/{fam.id}/goals", json={"theme": "bolig", "horizon": "short",
                                                                      "text": "Skrevet under nødtilgang"})
    assert response.status_code == 403
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "family.emergency_write_denied"))
