"""The full export: everything stored about the family (JSON and PDF), for the lead only."""

from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import select

from tests import factories
from tests.audit.factories import team
from velferdslab.audit.models import AuditEvent
from velferdslab.cases.household.models import FamilyMember
from velferdslab.extensions import db
from velferdslab.privacy.inventory import ENTRIES


def test_the_json_export_holds_every_row_about_the_family(ctx, lab, login):
    fam, lead, _worker = team(lab)
    factories.goal(fam, text="Flytte til egen leilighet i Asker")
    factories.assessment(fam, {"bolig": 1, "okonomi": 2})
    other, _l, _w = team(lab)
    factories.goal(other, text="Ikke denne familiens mål")
    response = login(lead).get(f"/api/v1/families/{fam.id}/export")
    assert response.status_code == 200
    data = response.get_json()
    tables = data["tables"]
    members = db.session.scalars(select(FamilyMember).where(FamilyMember.family_id == fam.id)).all()
    assert sorted(m["first_name"] for m in tables["family_member"]) == sorted(m.first_name for m in members)
    assert [g["text"] for g in tables["goal"]] == ["Flytte til egen leilighet i Asker"]
    assert len(tables["theme_rating"]) == 2 and tables["journey_assessment"][0]["overall_level"] >= 1
    assert tables["family"][0]["household_name"] == fam.household_name
    assert len(tables["consent"]) == 2 and len(tables["team_membership"]) == 2
    assert set(tables) == {e.table for e in ENTRIES if e.table in db.metadata.tables}
    for rows in tables.values():
        for row in rows:
            assert row.get("family_id", fam.id) == fam.id
    assert data["access_log"][-1]["action"] == "family.export"
    assert db.session.scalar(select(AuditEvent.summary).where(AuditEvent.action == "family.export")) == \
        {"format": "json"}


def test_the_pdf_export_reads_like_the_data(ctx, lab, login):
    fam, lead, _worker = team(lab)
    factories.goal(fam, text="Skaffe sykkel til eldstemann")
    client = login(lead)
    response = client.get(f"/familier/{fam.id}/eksport.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages).split())
    assert "Skaffe sykkel til eldstemann" in text and fam.household_name in text
    assert client.get(f"/familier/{fam.id}/eksport.json").get_json()["family_id"] == fam.id


def test_a_gated_lead_may_not_export_content(ctx, lab, login):
    fam = factories.family(lab)
    lead = factories.user(lab, roles=("team_lead",), agency=factories.agency(lab))
    factories.team_member(fam, lead, role="lead")  # no consent for the lead's agency
    client = login(lead)
    assert client.get(f"/api/v1/families/{fam.id}/export").status_code == 403
    assert client.get(f"/api/v1/families/{fam.id}/access-log").status_code == 200
