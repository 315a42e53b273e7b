"""Restriction (sperring): a closed family is hidden from everyone, its team included, and only
emergency access reaches it; the lift goes through emergency access too."""

from __future__ import annotations

from sqlalchemy import select

from tests.audit.factories import close, grant, manager, team
from velferdslab.audit.models import AuditEvent
from velferdslab.cases import gate as policy
from velferdslab.cases.household.models import Family
from velferdslab.extensions import db


def test_the_lead_restricts_a_closed_family_and_the_team_loses_it(ctx, lab, login):
    fam, lead, worker = team(lab)
    close(fam)
    client = login(lead)
    assert client.get(f"/familier/{fam.id}/personvern").status_code == 200
    response = client.post(f"/familier/{fam.id}/sperr")
    assert response.status_code == 302
    db.session.refresh(fam)
    assert fam.restricted_at is not None
    for member in (lead, worker):
        assert login(member).get(f"/familier/{fam.id}").status_code == 404
        ids = set(db.session.scalars(select(policy.visible_family_ids(member).subquery().c[0])))
        assert fam.id not in ids
    assert db.session.scalar(select(AuditEvent.purpose).where(AuditEvent.action == "family.restrict")) == \
        "data_protection"


def test_an_open_family_cannot_be_restricted(ctx, lab, login):
    fam, lead, _worker = team(lab)
    login(lead).post(f"/familier/{fam.id}/sperr")
    db.session.expire_all()
    assert db.session.get(Family, fam.id).restricted_at is None


def test_only_the_lead_restricts(ctx, lab, login):
    fam, _lead, worker = team(lab)
    close(fam)
    assert login(worker).post(f"/familier/{fam.id}/sperr").status_code == 403
    db.session.expire_all()
    assert db.session.get(Family, fam.id).restricted_at is None


def test_emergency_access_reaches_a_restricted_family_and_lifts_the_restriction(ctx, lab, login):
    fam, lead, _worker = team(lab)
    close(fam)
    login(lead).post(f"/familier/{fam.id}/sperr")
    boss = manager(lab)
    client = login(boss)
    assert client.get(f"/familier/{fam.id}/personvern").status_code == 404
    grant(boss, fam)
    db.session.commit()
    page = client.get(f"/familier/{fam.id}/personvern")
    assert page.status_code == 200 and "Opphev sperringen" in page.get_data(as_text=True)
    assert client.post(f"/familier/{fam.id}/opphev-sperring").status_code == 302
    db.session.refresh(fam)
    assert fam.restricted_at is None
    assert login(lead).get(f"/familier/{fam.id}").status_code == 200
