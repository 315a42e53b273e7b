"""Closed periods only (``reports.releases``; issue 14): the report a manager reads is a fixed
quarterly release. A published quarter reads the same however often and whatever is recorded
afterwards; the next quarter is published once it has been closed for the lag, and held back for a
selection while fewer than ``REPORT_RELEASE_MIN_CHANGES`` of its enrolments changed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest

from tests import factories
from tests.reports import factories as rf
from velferdslab.core.models import today_local, utcnow
from velferdslab.extensions import db
from velferdslab.reports import outcome, releases
from velferdslab.reports.models import ReportRelease

pytestmark = pytest.mark.cell_key

LAG = 14


def _next_end(end: date) -> date:
    return outcome.quarter_end(end + timedelta(days=1))


@pytest.fixture
def quiet_lab(lab):
    """Twelve families whose whole history lies years back: nothing about them changes by itself
    in the quarters around today (no 6- or 12-month point, no follow-up window)."""
    families = [rf.journey(lab, [(0, 1 + index % 3), (120, 2 + index % 3)], started=-2200 - 20 * index)
                for index in range(12)]
    return lab, families


def _start() -> str:
    return outcome.quarter_start(today_local() - timedelta(days=1500)).isoformat()


def _read(client) -> dict:
    response = client.get(f"/api/v1/reports/outcome?start={_start()}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _later(monkeypatch, day: date) -> None:
    """The clock on ``day`` (noon UTC) for the report's 'today' and for a release instant."""
    import velferdslab.reports.api as api
    import velferdslab.reports.views as views

    monkeypatch.setattr(api, "today_local", lambda: day)
    monkeypatch.setattr(views, "today_local", lambda: day)
    monkeypatch.setattr(releases, "utcnow", lambda: datetime.combine(day, time(12), tzinfo=UTC))


def _figures(body: dict) -> dict:
    return {key: value for key, value in body.items() if key != "filters"}


def test_the_report_ends_at_the_last_published_quarter(app, quiet_lab, login):
    lab, _ = quiet_lab
    client = login(factories.user(lab, roles=("manager",)))
    body = _read(client)
    last = releases.last_published(today_local())
    assert last < today_local() - timedelta(days=LAG)
    assert outcome.quarter_end(last) == last
    assert body["filters"]["end"] == last.isoformat()
    assert body["filters"]["release"] == last.isoformat()
    assert body["filters"]["held_back"] is None
    stored = db.session.get(ReportRelease, last)
    assert stored is not None and body["filters"]["as_of"] == stored.released_at.isoformat()
    # asking beyond it gives the same release; a period starting after it is refused with the field
    assert _read(client)["filters"] == body["filters"]
    later = client.get(f"/api/v1/reports/outcome?start={(last + timedelta(days=1)).isoformat()}"
                       f"&end={today_local().isoformat()}")
    assert later.status_code == 422
    assert "start" in str(later.get_json())


def test_the_default_period_is_the_year_of_the_last_published_quarter(quiet_lab, login):
    lab, _ = quiet_lab
    client = login(factories.user(lab, roles=("manager",)))
    body = client.get("/api/v1/reports/outcome").get_json()
    last = releases.last_published(today_local())
    assert body["filters"]["start"] == date(last.year, 1, 1).isoformat()
    assert body["filters"]["end"] == last.isoformat()


@pytest.mark.parametrize("event", ["assessment", "correction", "restriction", "erasure", "closure", "payment"])
def test_a_published_quarter_reads_the_same_whatever_is_recorded_afterwards(app, quiet_lab, login, event):
    lab, families = quiet_lab
    client = login(factories.user(lab, roles=("manager",)))
    agency = factories.agency(lab)  # the lab's agencies are listed (with 0) whatever they paid
    before = _read(client)
    fam = families[3]
    last = releases.last_published(today_local())
    if event == "assessment":  # a late one, dated inside the published quarter
        factories.assessment(fam, {"bolig": 4}, assessed_on=last - timedelta(days=3), overall=4)
    elif event == "correction":
        from tests.reports.test_attack_edge_cases import _correct

        _correct(fam)
    elif event == "restriction":
        rf.restrict(fam)
    elif event == "erasure":
        fam.erased_at = utcnow()
    elif event == "closure":
        enrolment = factories.current_enrolment(fam)
        enrolment.status, enrolment.closed_on, enrolment.close_reason = "closed", last - timedelta(days=5), "moved"
        enrolment.closed_at = utcnow()
    else:
        rf.paid_spend(lab, fam, agency, 5_000 * rf.KR)
    db.session.flush()
    after = _read(client)
    assert after == before


def test_the_live_report_without_the_cell_key_still_shows_today(app, quiet_lab, login):
    lab, families = quiet_lab
    client = login(factories.user(lab, roles=("manager",)))
    app.config["REPORT_CELL_KEY"] = False
    try:
        body = _read(client)
    finally:
        app.config["REPORT_CELL_KEY"] = True
    assert body["filters"]["end"] == min(outcome.quarter_end(today_local()), today_local()).isoformat()
    assert "release" not in body["filters"]


def test_a_quiet_quarter_is_held_back_and_a_busy_one_published(app, quiet_lab, login, monkeypatch):
    lab, families = quiet_lab
    client = login(factories.user(lab, roles=("manager",)))
    first = _read(client)
    last = releases.last_published(today_local())
    following = _next_end(last)
    on = min(today_local(), following)
    # one family changes in the next quarter: its release would differ from this one by that family
    factories.assessment(families[0], {"bolig": 4}, assessed_on=on, overall=4)
    db.session.flush()
    _later(monkeypatch, following + timedelta(days=LAG + 1))
    quiet = _read(client)
    assert quiet["filters"]["end"] == last.isoformat()
    assert quiet["filters"]["held_back"] == following.isoformat()
    assert _figures(quiet) == _figures(first)
    # the page says so, and its form shows the period the figures cover, not the one asked for
    page = client.get(f"/rapporter/resultater?start={_start()}&end={following.isoformat()}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="held-back"' in html
    assert f'name="end" type="date" value="{last.isoformat()}"' in html
    # four more: five enrolments changed, and the quarter is published
    for fam in families[1:5]:
        factories.assessment(fam, {"bolig": 4}, assessed_on=on, overall=4)
    db.session.flush()
    _later(monkeypatch, following + timedelta(days=LAG + 2))
    busy = _read(client)
    assert busy["filters"]["end"] == following.isoformat()
    assert busy["filters"]["held_back"] is None
    assert _figures(busy) != _figures(first)


def test_changed_counts_what_entered_left_or_was_recorded_in_between(app, quiet_lab):
    lab, families = quiet_lab
    with app.test_request_context():
        last = releases.last_published(today_local())
        base = outcome.OutcomeFilter(lab_id=lab.id, start=outcome.quarter_start(last - timedelta(days=1500)),
                                     end=last)
        before = releases._at(base, last)
        assert releases.changed(before, before) == 0
        factories.assessment(families[0], {"bolig": 4}, assessed_on=last - timedelta(days=1), overall=4)
        rf.restrict(families[1])
        rf.journey(lab, [(0, 2)], started=5)  # a new family, referred after the quarter
        db.session.flush()
        after = replace(before, as_of=utcnow() + timedelta(seconds=1))
        assert releases.changed(before, after) == 2  # the late assessment and the restriction
        later = replace(after, end=_next_end(last))
        assert releases.changed(before, later) == 3  # and the new family in the longer period


def test_the_start_page_summary_names_the_published_quarter(app, quiet_lab, login):
    lab, _ = quiet_lab
    client = login(factories.user(lab, roles=("manager",)))
    html = client.get("/").get_data(as_text=True)
    last = releases.last_published(today_local())
    assert 'id="start-summary-release"' in html
    assert f"Siste publiserte kvartal ({last:%d.%m.%Y})" in html
    app.config["REPORT_CELL_KEY"] = False  # live: no release to name
    try:
        assert 'id="start-summary-release"' not in client.get("/").get_data(as_text=True)
    finally:
        app.config["REPORT_CELL_KEY"] = True
