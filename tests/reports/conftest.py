"""Shared report fixtures: a lab built so that every figure of the outcome report is known."""

from __future__ import annotations

import pytest

from tests import factories
from tests.reports import factories as rf

KR = 100


@pytest.fixture
def lab_data(lab):
    agency_x = factories.agency(lab, name="Etat X", kind="nav")
    agency_y = factories.agency(lab, name="Etat Y", kind="bolig")
    groups = {"A": [], "B": [], "C": [], "D": [], "E": [], "F": []}
    for _ in range(6):
        groups["A"].append(rf.journey(lab, [(0, 1), (200, 2), (300, 3)], started=-500))
    for _ in range(5):
        groups["B"].append(rf.journey(lab, [(0, 2), (100, 2)], started=-400))
    for _ in range(2):
        groups["C"].append(rf.journey(lab, [(0, 2), (250, 4)], started=-400, themes={"okonomi": [1, 3]}))
    groups["D"].append(rf.journey(lab, [(0, 3), (100, 1)], started=-300))
    groups["E"].append(rf.referred(lab, referred=-30))
    groups["F"].append(rf.journey(lab, [(0, 1), (300, 3)], started=-600, closed=-200, follow_ups={"follow_up_6": 3}))
    groups["F"].append(rf.journey(lab, [(0, 1), (300, 3)], started=-600, closed=-200, follow_ups={"follow_up_6": 2}))
    # Outside the report: restricted, another lab, closed before the period.
    rf.restrict(rf.journey(lab, [(0, 1), (100, 4)], started=-300))
    rf.journey(factories.lab(), [(0, 1), (100, 4)], started=-300)
    rf.journey(lab, [(0, 1), (100, 4)], started=-900, closed=-800)
    for fam in groups["A"]:
        rf.paid_spend(lab, fam, agency_x, 10_000 * KR, theme="bolig", category="deposit")
    for fam in groups["C"]:
        rf.paid_spend(lab, fam, agency_y, 5_000 * KR, theme="okonomi", category="debt_settlement")
    return {"lab": lab, "x": agency_x, "y": agency_y, "groups": groups}


@pytest.fixture(autouse=True)
def exact_figures(request):
    """The report tests here check figures against the data to the family, so they read the report
    without the cell-key noise; ``tests/reports/test_cell_key.py`` and the attacker tests read it
    as published (``@pytest.mark.cell_key``)."""
    if request.node.get_closest_marker("cell_key") is not None or "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    before = app.config.get("REPORT_CELL_KEY", True)
    app.config["REPORT_CELL_KEY"] = False
    yield
    app.config["REPORT_CELL_KEY"] = before


@pytest.fixture(autouse=True)
def long_solves(request):
    """The attackers' solves (``@pytest.mark.cell_key`` tests) take longer than the app's
    idle-in-transaction timeout (15 s) while the test's transaction waits: lift it for this
    connection (PostgreSQL only)."""
    if (request.node.get_closest_marker("cell_key") is not None and "db_session" in request.fixturenames
            and request.node.get_closest_marker("real_commits") is None  # a database of its own, no outer transaction
            and request.getfixturevalue("backend") == "postgresql"):
        from sqlalchemy import text

        from velferdslab.extensions import db

        db.session.execute(text("SET idle_in_transaction_session_timeout = 0"))
    yield
