"""The outcome report across labs (issue 14): a county or national user (role ``region``) reads the
report over the labs assigned to them, as one selection protected like any report; management
stays scoped to its own lab."""

from __future__ import annotations

import pytest

from tests import factories
from tests.reports import factories as rf
from velferdslab.core.models import today_local
from velferdslab.extensions import db
from velferdslab.reports import cellkey, outcome
from velferdslab.reports.models import ReportLabAccess
from velferdslab.reports.outcome import OutcomeFilter


@pytest.fixture
def labs(lab):
    other, outside = factories.lab(), factories.lab()
    for _ in range(6):
        rf.journey(lab, [(0, 1), (200, 3)], started=-400)
    for _ in range(4):
        rf.journey(other, [(0, 2), (200, 2)], started=-300)
    rf.journey(outside, [(0, 1), (100, 4)], started=-300)
    region = factories.user(lab, roles=("region",))
    for assigned in (lab, other):
        db.session.add(ReportLabAccess(user_id=region.id, lab_id=assigned.id))
    db.session.flush()
    return {"lab": lab, "other": other, "outside": outside, "region": region}


def _filter(lab_id: int, lab_ids=()) -> OutcomeFilter:
    return OutcomeFilter(lab_id=lab_id, start=rf.day(-700), end=today_local(), lab_ids=tuple(lab_ids))


def test_the_selection_across_labs_is_the_labs_together(labs):
    one, two = outcome.run(_filter(labs["lab"].id)), outcome.run(_filter(labs["other"].id))
    both = outcome.run(_filter(0, (labs["lab"].id, labs["other"].id)))
    assert (one.families, two.families, both.families) == (6, 4, 10)
    assert both.transitions == {(1, 3): 6, (2, 2): 4}
    # The cell keys are per enrolment, so a cell over two labs has the sum of their keys: the same
    # families give the same published figure whichever report they are read in.
    assert both.keys["totals"][0] % cellkey.MODULUS == (one.keys["totals"][0] + two.keys["totals"][0]) % cellkey.MODULUS


def test_the_region_user_reads_the_assigned_labs_only(labs, login):
    client = login(labs["region"])
    body = client.get("/api/v1/reports/outcome/labs").get_json()
    assert body["families"] == 10
    assert sorted(body["filters"]["lab_ids"]) == sorted([labs["lab"].id, labs["other"].id])
    assert body["benefit"]["shown"] is False and "flere laber" in body["benefit"]["hidden_reason"]
    page = client.get("/rapporter/resultater/laber")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert labs["lab"].name in text and labs["other"].name in text and labs["outside"].name not in text
    # Nothing else: not the own lab's management report, its budget or its families.
    assert client.get("/api/v1/reports/outcome").status_code == 403
    assert client.get("/rapporter/resultater").status_code == 403
    assert client.get("/api/v1/reports/outcome/labs?assumption_set_id=1").status_code == 422


def test_management_stays_scoped_to_its_own_lab(labs, login):
    manager = factories.user(labs["lab"], roles=("manager",))
    client = login(manager)
    assert client.get("/api/v1/reports/outcome/labs").status_code == 403
    assert client.get("/rapporter/resultater/laber").status_code == 403
    assert client.get("/api/v1/reports/outcome").get_json()["families"] == 6


def test_a_region_user_without_labs_reads_nothing(labs, login):
    nobody = factories.user(labs["lab"], roles=("region",))
    client = login(nobody)
    assert client.get("/api/v1/reports/outcome/labs").status_code == 403
    assert client.get("/rapporter/resultater/laber").status_code == 403


@pytest.mark.cell_key
def test_the_report_across_labs_is_published_by_the_cell_key(labs, login):
    body = login(labs["region"]).get("/api/v1/reports/outcome/labs").get_json()
    assert body["disclosure"]["cell_key"] is True
