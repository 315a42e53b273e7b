"""Erasure: the family's personal data is gone from every table — the audit trail included,
which never held it — while anonymous journey levels and spend stay for the statistics."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import String, select, text

from tests import factories
from tests.audit.factories import close, grant, manager, team
from velferdslab.audit import chain
from velferdslab.audit.models import AuditEvent
from velferdslab.cases.household.models import Family, FamilyMember
from velferdslab.cases.journey.models import JourneyAssessment, ThemeRating
from velferdslab.cases.meetings.models import Meeting
from velferdslab.extensions import db
from velferdslab.privacy.inventory import BY_TABLE

SECRET = "Sentinelsen-Hemmelig"  # in every personal text the family's case holds


def _every_text_cell() -> list[tuple[str, str, str]]:
    """(table, column, value) for every text value in the whole database."""
    cells = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String) or c.name == "summary"]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)).all():
            for column, value in zip(columns, row, strict=True):
                if value is not None:
                    cells.append((table.name, column.name, str(value)))
    return cells


def _case_full_of_secrets(lab):
    fam, lead, worker = team(lab)
    fam.household_name = f"Familien {SECRET}"
    fam.language = f"{SECRET}-språk"
    db.session.execute(text("UPDATE family_member SET first_name = :n WHERE family_id = :f"),
                       {"n": SECRET, "f": fam.id})
    factories.goal(fam, text=f"Mål: {SECRET}")
    assessment = factories.assessment(fam, {"bolig": 1, "helse": 2}, overall=2)
    db.session.execute(text("UPDATE theme_rating SET note = :n WHERE assessment_id = :a"),
                       {"n": f"Helse: {SECRET}", "a": assessment.id})
    db.session.execute(text("UPDATE journey_assessment SET override_reason = :n WHERE id = :a"),
                       {"n": f"Fordi {SECRET}", "a": assessment.id})
    db.session.execute(text("UPDATE consent SET purpose = :n WHERE family_id = :f"), {"n": SECRET, "f": fam.id})
    enrolment = factories.current_enrolment(fam)
    enrolment.referral_reason = f"Henvist: {SECRET}"
    db.session.add(Meeting(family_id=fam.id, enrolment_id=enrolment.id, held_on=date.today(),
                           notes=f"Notat {SECRET}", decisions=f"Vedtak {SECRET}", created_by_id=lead.id))
    db.session.flush()
    close(fam)
    return fam, lead, worker, assessment


def test_erasure_removes_every_personal_text_and_keeps_the_statistics(ctx, lab, login):
    fam, lead, _worker, assessment = _case_full_of_secrets(lab)
    boss = manager(lab)
    grant(boss, fam, reason=f"Familien ba om sletting; {SECRET} bekreftet")
    levels_before = sorted(db.session.scalars(select(ThemeRating.level).where(
        ThemeRating.assessment_id == assessment.id)))
    assert any(SECRET in value for _t, _c, value in _every_text_cell())
    client = login(lead)
    client.get(f"/familier/{fam.id}")  # a read, written to the trail before the erasure
    response = client.post(f"/familier/{fam.id}/slett", data={"no_duty_to_keep": "y",
                                                              "confirm_family_id": fam.id})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    db.session.expire_all()
    leftovers = [(t, c) for t, c, value in _every_text_cell() if SECRET in value]
    retained = {(t, c) for t, entry in BY_TABLE.items() for c in entry.retained}
    assert [cell for cell in leftovers if cell not in retained] == []
    erased = db.session.get(Family, fam.id)
    assert erased.erased_at is not None and erased.household_name == f"Slettet familie {fam.id}"
    assert erased.language is None
    members = db.session.scalars(select(FamilyMember).where(FamilyMember.family_id == fam.id)).all()
    assert members and all(m.first_name == "[slettet]" and m.birth_year % 10 == 0 for m in members)
    # The statistics keep the anonymous levels.
    assert sorted(db.session.scalars(select(ThemeRating.level).where(
        ThemeRating.assessment_id == assessment.id))) == levels_before
    assert db.session.get(JourneyAssessment, assessment.id).overall_level == 2
    # The trail is untouched, still verifies, and gained the erasure.
    db.session.commit()
    assert chain.verify(db.session.connection()).ok
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.family_id == fam.id)))
    assert {"family.view", "emergency.grant", "family.erase"} <= actions
    # Nobody reaches the family any more, and the emergency grant ended.
    assert client.get(f"/familier/{fam.id}").status_code == 404
    assert login(boss).get(f"/familier/{fam.id}").status_code == 404


def test_erasure_needs_a_closed_family_a_confirmation_and_the_lead(ctx, lab, login):
    fam, lead, worker = team(lab)
    client = login(lead)
    data = {"no_duty_to_keep": "y", "confirm_family_id": fam.id}
    assert client.post(f"/familier/{fam.id}/slett", data=data).status_code == 422  # still active
    close(fam)
    assert client.post(f"/familier/{fam.id}/slett", data={**data, "no_duty_to_keep": ""}).status_code == 422
    assert client.post(f"/familier/{fam.id}/slett", data={**data, "confirm_family_id": fam.id + 1}).status_code == 422
    assert login(worker).post(f"/familier/{fam.id}/slett", data=data).status_code == 403
    db.session.expire_all()
    assert db.session.get(Family, fam.id).erased_at is None


def test_erasure_deletes_stored_report_pdfs(ctx, lab, login):
    """A rendered progress report is a copy of the family's data: its rows go whole."""
    if "report_batch_item" not in db.metadata.tables:
        pytest.skip("no report batches in this build")
    fam, lead, _worker = team(lab)
    other, _l, _w = team(lab)
    close(fam)
    batch = db.metadata.tables["report_batch"]
    item = db.metadata.tables["report_batch_item"]
    batch_id = db.session.execute(batch.insert().values(lab_id=lab.id, requested_by_id=lead.id,
                                                        kind="quarterly_progress", period_start=date(2026, 1, 1),
                                                        period_end=date(2026, 3, 31), language="nb", total=2,
                                                        created_at=fam.created_at)).inserted_primary_key[0]
    for family in (fam, other):
        db.session.execute(item.insert().values(batch_id=batch_id, family_id=family.id, status="done", attempts=1,
                                                pdf=f"%PDF {SECRET}".encode(), size=10))
    response = login(lead).post(f"/familier/{fam.id}/slett", data={"no_duty_to_keep": "y",
                                                                   "confirm_family_id": fam.id})
    assert response.status_code == 302
    remaining = db.session.execute(select(item.c.family_id)).scalars().all()
    assert remaining == [other.id]


def test_erasure_deletes_stored_api_answers(ctx, lab, login):
    """The answer kept for an Idempotency-Key repeats the family's data: it goes with the family."""
    fam, lead, _worker = team(lab)
    other, other_lead, _w = team(lab)
    for family, user in ((fam, lead), (other, other_lead)):
        response = login(user).post(f"/api/v1/families/{family.id}/meetings",
                                    json={"held_on": date.today().isoformat(), "notes": f"Notat {SECRET}"},
                                    headers={"Idempotency-Key": f"meeting-{family.id}-0001"})
        assert response.status_code == 201, response.get_json()
    stored = db.metadata.tables["api_idempotency"]
    assert sorted(db.session.execute(select(stored.c.family_id)).scalars()) == sorted([fam.id, other.id])
    close(fam)
    response = login(lead).post(f"/familier/{fam.id}/slett", data={"no_duty_to_keep": "y",
                                                                   "confirm_family_id": fam.id})
    assert response.status_code == 302
    assert db.session.execute(select(stored.c.family_id)).scalars().all() == [other.id]
