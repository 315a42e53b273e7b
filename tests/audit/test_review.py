"""The audit review: filters, the flags (off the team, denied, emergency, many families, night),
CSV export, pagination — computed by the database, not by looping over events."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from tests import factories
from tests.audit.factories import admin, grant, manager, team
from velferdslab.audit import review
from velferdslab.audit.models import AuditEvent
from velferdslab.core.i18n import OSLO
from velferdslab.core.models import utcnow
from velferdslab.extensions import db

DAY = date(2026, 3, 10)  # winter time in Oslo (UTC+1)


def event(actor, family_id, at: datetime, action: str = "family.view", **fields) -> AuditEvent:
    row = AuditEvent(occurred_at=at, actor_id=actor.id, actor_role=actor.primary_role, agency_id=actor.agency_id,
                     lab_id=actor.lab_id, family_id=family_id, action=action, **fields)
    db.session.add(row)
    db.session.flush()
    return row


def oslo(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=OSLO).astimezone(UTC)


def flags_of(rows) -> dict[int, set[str]]:
    return {row.id: {f for f in review.FLAGS if getattr(row, f)} for row in rows}


def filters(lab, **kwargs) -> review.Filters:
    return review.Filters(lab_id=lab.id, start=kwargs.pop("start", DAY), end=kwargs.pop("end", DAY), **kwargs)


def test_the_flags(ctx, lab):
    fam, _lead, worker = team(lab)
    other, _l, _w = team(lab)
    outsider = factories.user(lab)
    normal = event(worker, fam.id, oslo(10))
    night = event(worker, fam.id, oslo(23, 30))
    early = event(worker, fam.id, oslo(5, 59))
    denied = event(outsider, other.id, oslo(11), action="family.denied")
    snooping = event(outsider, fam.id, oslo(12))
    found = flags_of(review.page(filters(lab)).rows)
    assert found[normal.id] == set()
    assert found[night.id] == {"night"} and found[early.id] == {"night"}
    assert found[denied.id] == {"off_team", "denied"}
    assert found[snooping.id] == {"off_team"}


def test_night_follows_oslo_summer_time(ctx, lab):
    _fam, _lead, worker = team(lab)
    summer = date(2026, 7, 1)
    late = event(worker, _fam.id, oslo(22, 15, summer))  # 20:15 UTC
    evening = event(worker, _fam.id, oslo(21, 45, summer))
    found = flags_of(review.page(filters(lab, start=summer, end=summer)).rows)
    assert found[late.id] == {"night"} and found[evening.id] == set()


def test_emergency_access_and_reads_under_it_are_flagged(ctx, lab):
    fam, _lead, _worker = team(lab)
    boss = manager(lab)
    row = grant(boss, fam)
    inside = event(boss, fam.id, row.granted_at + timedelta(minutes=5))
    after = event(boss, fam.id, row.expires_at + timedelta(minutes=5))
    today = row.granted_at.astimezone(OSLO).date()
    result = review.page(filters(lab, start=today, end=(row.expires_at + timedelta(hours=1)).astimezone(OSLO).date()))
    found = flags_of(result.rows)
    grant_event = next(r.id for r in result.rows if r.action == "emergency.grant")
    assert "emergency" in found[grant_event]
    assert {"emergency", "off_team"} <= found[inside.id]
    assert "emergency" not in found[after.id] and "off_team" in found[after.id]
    grants = review.emergency_grants(filters(lab, start=today, end=today))
    assert [(g.EmergencyAccess.id, g.events) for g in grants] == [(row.id, 2)]  # the grant event and one read


def test_many_families_in_a_day_uses_the_threshold(ctx, lab):
    families = [team(lab)[0] for _ in range(4)]
    reader = factories.user(lab, name="Rita Leser")
    calm = factories.user(lab)
    reads = [event(reader, f.id, oslo(9 + i)) for i, f in enumerate(families)]
    quiet = event(calm, families[0].id, oslo(9))
    next_day = event(reader, families[0].id, oslo(9, day=DAY + timedelta(days=1)))
    rows = review.page(filters(lab, end=DAY + timedelta(days=1), threshold=3)).rows
    found = flags_of(rows)
    assert all("many" in found[r.id] for r in reads)
    assert "many" not in found[quiet.id] and "many" not in found[next_day.id]
    assert [(m.name, m.families) for m in review.many_families(filters(lab, threshold=3))] == [("Rita Leser", 4)]
    assert review.many_families(filters(lab, threshold=4)) == []


def test_filters_and_flag_filter(ctx, lab):
    fam, lead, worker = team(lab)
    other, _l, _w = team(lab)
    a = event(worker, fam.id, oslo(10))
    b = event(lead, other.id, oslo(11))  # off the team of `other`
    c = event(worker, fam.id, oslo(23), action="plan.view")
    ids = lambda **kw: {r.id for r in review.page(filters(lab, **kw)).rows}  # noqa: E731
    assert ids(user_id=worker.id) == {a.id, c.id}
    assert ids(family_id=other.id) == {b.id}
    assert ids(agency_id=lead.agency_id) == {b.id}
    assert ids(action="plan.") == {c.id}
    assert ids(flag="night") == {c.id}
    assert ids(flag="off_team") == {b.id}
    assert ids(flag="any") == {b.id, c.id}
    assert ids(start=DAY + timedelta(days=1), end=DAY + timedelta(days=2)) == set()
    counts = review.page(filters(lab)).counts
    assert counts["night"] == 1 and counts["off_team"] == 1


def test_pages_and_csv(ctx, lab, login):
    fam, _lead, worker = team(lab)
    now = utcnow()
    for i in range(60):
        event(worker, fam.id, now - timedelta(minutes=i), object_id=f"row{i}")
    event(worker, fam.id, now, action="family.view", object_id="=HYPERLINK(1)")
    client = login(admin(lab))
    first = client.get("/admin/revisjon")
    assert first.status_code == 200
    html = first.get_data(as_text=True)
    assert "side 1 av 2" in html and "Neste side" in html
    assert "side 2 av 2" in client.get("/admin/revisjon?side=2").get_data(as_text=True)
    response = client.get(f"/admin/revisjon.csv?user_id={worker.id}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:3] == ["tid", "bruker_id", "bruker"]
    assert len(rows) == 1 + 61 and all(r[2] == worker.name for r in rows[1:])
    assert any(r[8] == "'=HYPERLINK(1)" for r in rows[1:])  # no formula in a spreadsheet
    assert db.session.query(AuditEvent).filter_by(action="audit.review_export").count() == 1


@pytest.mark.parametrize("roles", [("caseworker",), ("team_lead",), ("manager",)])
def test_only_administrators_review(ctx, lab, login, roles):
    client = login(factories.user(lab, roles=roles))
    assert client.get("/admin/revisjon").status_code == 403
    assert client.get("/admin/revisjon.csv").status_code == 403


def test_the_review_costs_the_same_number_of_queries_for_10_or_100_events(ctx, lab, count_queries):
    fam, _lead, worker = team(lab)
    counts = []
    for n in (10, 100):
        for i in range(n):
            event(worker, fam.id, oslo(10, i % 60))
        with count_queries() as counter:
            review.page(filters(lab))
            review.many_families(filters(lab))
            review.emergency_grants(filters(lab))
        counts.append(counter.count)
    assert counts[0] == counts[1] <= 6
