"""Issue 17: limits per funding agency hold under simultaneous approvals across agencies and
families. These tests commit for real, in a database of their own (PostgreSQL: row locks; SQLite:
the write lock)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.budget.factories import KR, delegate, funded_family, spend, year
from tests.budget.test_concurrency import post
from velferdslab.auth import services as auth_services
from velferdslab.budget import ledger, services
from velferdslab.budget.models import SpendFunding, SpendRequest
from velferdslab.extensions import db

pytestmark = pytest.mark.real_commits
FAMILIES = 4
LIMIT = 10_000 * KR  # what leads may approve from each agency's money in the year, across families


def test_simultaneous_approvals_across_agencies_never_exceed_an_agencys_yearly_limit(committed_app):
    """Four families, each funded by NAV and barnevern, each with its own lead; 40 requests
    (NAV's, barnevern's and split) approved at once, one token per request: the leads approve at
    most 10 000 kr of each agency's money, whatever the order; the rest is refused (403), never a
    500, and the ledger stays exact."""
    app = committed_app
    with app.app_context():
        lab = factories.lab()
        nav = factories.agency(lab, "NAV", kind="nav")
        barnevern = factories.agency(lab, "Barnevern", kind="barnevern")
        setups = [funded_family(lab, allocated=50_000 * KR, agency=nav) for _ in range(FAMILIES)]
        delegate(lab, barnevern, 400_000 * KR)
        for setup in setups:
            services.allocate(
                lab, family_id=setup.family.id, agency_id=barnevern.id, year=year(), amount=50_000 * KR, actor=None
            )
        admin = factories.user(lab, roles=("admin",))
        services.save_rules(
            lab,
            [
                {"role": "team_lead", "max_per_spend": 50_000 * KR},
                {
                    "role": "team_lead",
                    "funding_agency_id": nav.id,
                    "max_per_spend": 50_000 * KR,
                    "max_per_agency_year": LIMIT,
                },
                {
                    "role": "team_lead",
                    "funding_agency_id": barnevern.id,
                    "max_per_spend": 50_000 * KR,
                    "max_per_agency_year": LIMIT,
                },
                {"role": "manager"},
            ],
            note="Årsgrense per etat",
            actor=admin,
        )
        calls = []
        for n, setup in enumerate(setups):
            fundings = (
                [[{"agency": nav.id, "amount": 1_500 * KR}]] * 4
                + [[{"agency": barnevern.id, "amount": 1_500 * KR}]] * 4
                + [[{"agency": nav.id, "amount": 750 * KR}, {"agency": barnevern.id, "amount": 750 * KR}]] * 2
            )
            for i, funding in enumerate(fundings):
                request = spend(setup, 1_500 * KR, funding=funding)
                assert request.route == "team"
                token = auth_services.create_api_token(setup.lead, f"fane {n}-{i}")[1]
                calls.append((request.id, token))
        db.session.commit()
        lab_id = lab.id
        agencies = (nav.id, barnevern.id)

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda call: post(app, f"/api/v1/spend-requests/{call[0]}/approve", call[1]), calls))

    assert set(statuses) <= {200, 403}, statuses
    with app.app_context():
        for agency_id in agencies:
            by_leads = db.session.scalar(
                select(func.coalesce(func.sum(SpendFunding.amount), 0))
                .join(SpendRequest, SpendRequest.id == SpendFunding.spend_request_id)
                .where(
                    SpendRequest.lab_id == lab_id,
                    SpendFunding.agency_id == agency_id,
                    SpendRequest.approved_role == "team_lead",
                    SpendRequest.status == "approved",
                )
            )
            # Asked of each agency: 4 × (4 × 1 500 + 2 × 750) = 30 000 kr; at most 10 000 kr let through,
            # and at least 8 500 kr (no part is bigger than 1 500 kr, so a refusal leaves less than that).
            assert LIMIT - 1_500 * KR < by_leads <= LIMIT, (agency_id, by_leads)
        approved = db.session.scalar(
            select(func.count())
            .select_from(SpendRequest)
            .where(SpendRequest.lab_id == lab_id, SpendRequest.status == "approved")
        )
        assert statuses.count(200) == approved
        assert ledger.verify() == []
