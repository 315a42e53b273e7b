"""The family's budget, the lead's queue and management's overview agree with the ledger to the øre.

The expected figures are summed here straight from the transfers (not from the maintained
balances the pages use), over the demo lab's realistic mix of spend in every state.
"""

from __future__ import annotations

import random
import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import aliased

from velferdslab import demo
from velferdslab.auth.models import User
from velferdslab.budget import demo as budget_demo
from velferdslab.budget import queries
from velferdslab.budget.models import LedgerAccount, LedgerTransfer, SpendRequest
from velferdslab.cases import demo as cases_demo
from velferdslab.extensions import db

ORE = re.compile(r'data-ore="(-?\d+)"')


@pytest.fixture
def demo_lab(db_session):
    ctx = demo.DemoContext(rng=random.Random(2026), size=1)
    demo.labs_and_staff(ctx)
    cases_demo.families(ctx)
    budget_demo.budgets(ctx)
    db.session.flush()
    return ctx.labs[0]


def _user(local: str) -> User:
    return db.session.scalar(select(User).where(User.email == f"{local}@asker.{demo.DEMO_DOMAIN}"))


def from_transfers(year: int) -> list[dict]:
    """Every transfer of the year with both accounts' kind, agency and family, and its spend's theme."""
    debit, credit = aliased(LedgerAccount), aliased(LedgerAccount)
    rows = db.session.execute(
        select(LedgerTransfer.kind, LedgerTransfer.amount, debit.kind, credit.kind, credit.agency_id,
               credit.family_id, debit.family_id, SpendRequest.theme)
        .join(debit, debit.id == LedgerTransfer.debit_account_id)
        .join(credit, credit.id == LedgerTransfer.credit_account_id)
        .outerjoin(SpendRequest, SpendRequest.id == LedgerTransfer.spend_request_id)
        .where(credit.year == year))
    return [dict(zip(("kind", "amount", "from", "to", "agency", "family_to", "family_from", "theme"), r,
                     strict=True)) for r in rows]


def family_expected(transfers, family_id: int) -> list[int]:
    """[allocated, committed, paid, available] for one family, from its transfers."""
    into = sum(t["amount"] for t in transfers if t["family_to"] == family_id and t["kind"] == "allocation")
    back = sum(t["amount"] for t in transfers if t["family_from"] == family_id and t["kind"] == "allocation_return")
    mine = [t for t in transfers if t["family_to"] == family_id or t["family_from"] == family_id]
    reserved = sum(t["amount"] for t in mine if t["kind"] == "reserve")
    released = sum(t["amount"] for t in mine if t["kind"] == "release")
    paid = sum(t["amount"] for t in mine if t["kind"] == "payment")
    allocated, committed = into - back, reserved - released - paid
    return [allocated, committed, paid, allocated - committed - paid]


def table(html: str, marker: str) -> str:
    start = html.index(marker)
    return html[start:html.index("</table>", start)]


def test_family_panel_and_page_agree_with_the_ledger(demo_lab, login):
    year, lead = queries.current_year(), _user("investeringsleder")
    client = login(lead, password=demo.DEMO_PASSWORD)
    transfers = from_transfers(year)
    led = [row for row in queries.allocation_rows(demo_lab.id, year) if lead.name in row.leads]
    assert len(led) >= 2
    checked = 0
    for row in led:
        expected = family_expected(transfers, row.family_id)
        for url in (f"/familier/{row.family_id}", f"/familier/{row.family_id}/budsjett"):
            html = client.get(url).get_data(as_text=True)
            figures = [int(v) for v in ORE.findall(table(html, 'class="budget-summary"'))]
            assert figures == expected, (url, figures, expected)
            checked += 1
    assert checked == 2 * len(led)  # the family page's panel and the budget page


def test_the_leads_queue_agrees_with_the_ledger(demo_lab, login):
    year, lead = queries.current_year(), _user("investeringsleder")
    transfers = from_transfers(year)
    html = login(lead, password=demo.DEMO_PASSWORD).get("/budsjett/godkjenning").get_data(as_text=True)
    rows = re.findall(r'<tr data-spend-id="(\d+)">(.*?)</tr>', html, re.S)
    assert len(rows) >= 2
    for spend_id, cells in rows:
        spend = db.session.get(SpendRequest, int(spend_id))
        amount, available = (int(v) for v in ORE.findall(cells))
        assert amount == spend.amount
        assert available == family_expected(transfers, spend.family_id)[3]


def test_managements_overview_agrees_with_the_ledger(demo_lab, login):
    """Per agency: delegated, allocated, unallocated (issue 14: no spend by agency or theme), and
    delegated = allocated + unallocated to the øre, also on the totals row."""
    year, manager = queries.current_year(), _user("leder")
    transfers = from_transfers(year)
    html = login(manager, password=demo.DEMO_PASSWORD).get(f"/budsjett/oversikt?ar={year}").get_data(as_text=True)
    per_agency = table(html, 'id="per-agency"')
    rows = re.findall(r'<tr data-agency-id="(\d+)">(.*?)</tr>', per_agency, re.S)
    assert len(rows) >= 4
    sums = [0, 0, 0]
    for agency_id, cells in rows:
        mine = [t for t in transfers if t["agency"] == int(agency_id)]
        delegated = (sum(t["amount"] for t in mine if t["kind"] == "delegation")
                     - sum(t["amount"] for t in transfers if t["kind"] == "delegation_reversal"
                           and t["agency"] == int(agency_id)))
        allocated = (sum(t["amount"] for t in mine if t["kind"] == "allocation")
                     - sum(t["amount"] for t in mine if t["kind"] == "allocation_return"))
        expected = [delegated, allocated, delegated - allocated]
        assert [int(v) for v in ORE.findall(cells)] == expected, agency_id
        sums = [a + b for a, b in zip(sums, expected, strict=True)]
    totals = [int(v) for v in ORE.findall(re.search(r'<tr data-total="agency">(.*?)</tr>', html, re.S).group(1))]
    assert totals == sums and totals[0] == totals[1] + totals[2]
    assert 'id="per-theme"' not in html
