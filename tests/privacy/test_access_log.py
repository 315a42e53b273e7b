"""The family's access log (item 9): every audit event about the family, one to one, with date,
agency and purpose; staff names left out; for the family's lead (or emergency access) only."""

from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import select

from tests import factories
from tests.audit.factories import grant, manager, team
from velferdslab.audit.models import AuditEvent
from velferdslab.extensions import db


def _family_event_ids(family_id: int) -> list[int]:
    return list(db.session.scalars(select(AuditEvent.id).where(AuditEvent.family_id == family_id)
                                   .order_by(AuditEvent.occurred_at, AuditEvent.id)))


def test_the_log_matches_the_audit_rows_one_to_one(ctx, lab, login):
    fam, lead, worker = team(lab)
    outsider = factories.user(lab, name="Olav Utenfor")
    login(worker).get(f"/familier/{fam.id}")
    login(outsider).get(f"/familier/{fam.id}")  # denied, and audited
    client = login(lead)
    client.get(f"/familier/{fam.id}")
    response = client.get(f"/api/v1/families/{fam.id}/access-log")
    assert response.status_code == 200
    entries = response.get_json()["entries"]
    ids = _family_event_ids(fam.id)
    assert [e["id"] for e in entries] == ids  # same events, same order, nothing more or less
    by_action = {}
    for entry in entries:
        by_action.setdefault(entry["action"], []).append(entry)
    assert len(by_action["family.view"]) == 2
    assert by_action["family.denied"][0]["purpose"] == "Ingen: tilgangen ble avvist"
    assert by_action["family.access_log"][0]["purpose"].startswith("Familiens egen forespørsel")
    viewer = next(e for e in by_action["family.view"] if e["agency"] == worker.agency.name)
    assert viewer["role"] == "Teammedlem" and viewer["date"] and viewer["local_time"]
    rows = {r.id: r for r in db.session.scalars(select(AuditEvent).where(AuditEvent.id.in_(ids)))}
    for entry in entries:
        assert entry["action"] == rows[entry["id"]].action


def test_staff_names_are_left_out_everywhere(ctx, lab, login):
    fam, lead, worker = team(lab)
    login(worker).get(f"/familier/{fam.id}")
    client = login(lead)
    page = client.get(f"/familier/{fam.id}/innsynslogg").get_data(as_text=True)
    table = page[page.index('<table class="access-log">'):page.index("</table>")]  # not the page header
    texts = [client.get(f"/api/v1/families/{fam.id}/access-log").get_data(as_text=True), table]
    pdf = client.get(f"/familier/{fam.id}/innsynslogg.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    texts.append("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages))
    for text in (" ".join(t.split()) for t in texts):  # table cells wrap in the PDF
        assert worker.agency.name in text  # the agency is there…
        for name in (worker.name, lead.name, worker.email):
            assert name not in text  # …the person is not
    assert "Innsynslogg" in texts[2]


def test_only_the_lead_or_emergency_access_gets_the_log(ctx, lab, login):
    fam, lead, worker = team(lab)
    assert login(worker).get(f"/familier/{fam.id}/innsynslogg").status_code == 403  # caseworker: no permission
    other_lead = factories.user(lab, roles=("team_lead",))
    factories.team_member(fam, other_lead)  # on the team, but as a member
    assert login(other_lead).get(f"/api/v1/families/{fam.id}/access-log").status_code == 403
    boss = manager(lab)
    assert login(boss).get(f"/familier/{fam.id}/innsynslogg").status_code == 404
    grant(boss, fam)
    assert login(boss).get(f"/familier/{fam.id}/innsynslogg").status_code == 200


def test_off_the_team_the_log_is_the_audited_404(ctx, lab, login):
    fam, _lead, _worker = team(lab)
    stranger = factories.user(lab, roles=("team_lead",))
    client = login(stranger)
    assert client.get(f"/familier/{fam.id}/innsynslogg.pdf").status_code == 404
    assert client.get(f"/api/v1/families/{fam.id}/access-log").status_code == 404
    assert client.get("/familier/999999/innsynslogg").status_code == 404
    denied = db.session.scalars(select(AuditEvent).where(AuditEvent.actor_id == stranger.id,
                                                         AuditEvent.action == "family.denied")).all()
    assert len(denied) == 3
