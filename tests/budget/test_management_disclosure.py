"""What management's budget screens and API print (issue 14, leak 5).

A lab where the theme *bolig* has the spend of one family only (below the suppression threshold,
so the outcome report hides it), and where a restricted (*sperret*) and an erased family have paid
spend. Management's overview, allocation screen and the pool and allocation API must print none
of those payments — not by theme, not by agency, not per family — while the pool still adds up to
the øre (delegated = allocated + unallocated) and the ledger is unchanged.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.budget.factories import KR, funded_family, spend, year
from velferdslab.budget import ledger, queries, services
from velferdslab.budget.models import LedgerAccount, LedgerTransfer
from velferdslab.core.models import utcnow
from velferdslab.core.money import format_nok
from velferdslab.extensions import db

ORE = re.compile(r'data-ore="(-?\d+)"')


def _paid(setup, amount: int) -> int:
    request = spend(setup, amount)
    services.approve_spend(request.id, setup.lead)
    services.pay_spend(request.id, setup.lead, paid_on=request.submitted_at.date(), reference="F-1")
    return amount


def _reserved(setup, amount: int) -> int:
    services.approve_spend(spend(setup, amount).id, setup.lead)
    return amount


@pytest.fixture
def small_lab(ctx, lab):
    """Family A alone spends on *bolig* (paid and reserved); R is restricted, E erased, both with
    paid spend; W has a request waiting. One agency, so "per agency" is the whole lab."""
    a = funded_family(lab, allocated=100_000 * KR, pool=1_000_000 * KR)
    agency = a.agency
    r = funded_family(lab, allocated=50_000 * KR, pool=50_000 * KR, agency=agency)
    e = funded_family(lab, allocated=40_000 * KR, pool=40_000 * KR, agency=agency)
    w = funded_family(lab, allocated=30_000 * KR, pool=30_000 * KR, agency=agency)
    money = {"a_paid": _paid(a, 12_345_67), "a_reserved": _reserved(a, 2_222_22),
             "r_paid": _paid(r, 7_777_77), "e_paid": _paid(e, 3_333_33)}
    spend(w, 1_111_11)  # waiting for a decision
    money["w_waiting"] = 1_111_11
    money["paid"] = money["a_paid"] + money["r_paid"] + money["e_paid"]
    money["bolig_spent"] = money["paid"] + money["a_reserved"]
    money["r_left"], money["e_left"] = 50_000 * KR - money["r_paid"], 40_000 * KR - money["e_paid"]
    r.family.restricted_at = utcnow()
    e.family.erased_at = utcnow()
    db.session.flush()
    return {"a": a, "r": r, "e": e, "w": w, "money": money, "manager": a.manager}


def _printed(text: str, amount: int) -> bool:
    """Whether ``amount`` øre is on the page, as øre or as kroner."""
    return (f'data-ore="{amount}"' in text or format_nok(amount) in text
            or format_nok(amount, symbol=False) in text)


def _in_json(body, amount: int) -> bool:
    """Whether ``amount`` øre is any number in a JSON body (or its kroner as text)."""
    if isinstance(body, dict):
        return any(_in_json(v, amount) for v in body.values())
    if isinstance(body, list):
        return any(_in_json(v, amount) for v in body)
    return body == amount or (isinstance(body, str) and _printed(body, amount))


SECRETS = ("a_paid", "a_reserved", "r_paid", "e_paid", "paid", "bolig_spent", "w_waiting", "r_left", "e_left")


def test_managements_pages_print_no_spend_by_theme_or_agency(small_lab, login):
    client, money = login(small_lab["manager"]), small_lab["money"]
    overview = client.get(f"/budsjett/oversikt?ar={year()}").get_data(as_text=True)
    allocations = client.get(f"/budsjett/tildeling?ar={year()}").get_data(as_text=True)
    for name in SECRETS:
        assert not _printed(overview, money[name]), name
        assert not _printed(allocations, money[name]), name
    assert 'id="per-theme"' not in overview and "data-theme=" not in overview


def test_the_pool_api_prints_no_spend_by_theme_or_agency(small_lab, login):
    client, money = login(small_lab["manager"]), small_lab["money"]
    pool = client.get(f"/api/v1/pool?year={year()}").json
    assert "themes" not in pool and "theme_totals" not in pool
    assert set(pool["totals"]) == {"agency_id", "agency", "delegated", "unallocated", "allocated"}
    allocations = client.get(f"/api/v1/allocations?year={year()}").json
    for name in SECRETS:
        assert not _in_json(pool, money[name]), name
        assert not _in_json(allocations, money[name]), name


def test_restricted_and_erased_families_are_not_listed_to_management(small_lab, login):
    client = login(small_lab["manager"])
    hidden = {small_lab["r"].family.id, small_lab["e"].family.id}
    html = client.get(f"/budsjett/tildeling?ar={year()}").get_data(as_text=True)
    listed = {int(i) for i in re.findall(r'data-family-id="(\d+)"', html)}
    offered = {int(i) for i in re.findall(r'<option[^>]*value="(\d+)"', html.split('id="family_id"', 1)[1]
                                         .split("</select>", 1)[0])}
    assert small_lab["a"].family.id in listed and small_lab["a"].family.id in offered
    assert not hidden & listed and not hidden & offered
    rows = client.get(f"/api/v1/allocations?year={year()}").json
    assert not hidden & {r["family_id"] for r in rows}
    assert all(set(r) == {"family_id", "open", "team_leads", "allocated", "available"} for r in rows)
    a = next(r for r in rows if r["family_id"] == small_lab["a"].family.id)
    money = small_lab["money"]
    assert (a["allocated"], a["available"]) == (100_000 * KR, 100_000 * KR - money["a_paid"] - money["a_reserved"])


def test_management_cannot_move_money_of_a_restricted_or_erased_family(small_lab, login):
    """Refused as for a missing family: a refused return ("only N left") would tell what is left."""
    client, setup = login(small_lab["manager"]), small_lab["a"]
    transfers = db.session.scalar(select(func.count()).select_from(LedgerTransfer))
    for key in ("r", "e"):
        body = {"family_id": small_lab[key].family.id, "agency_id": setup.agency.id, "year": year(), "amount": 1}
        for path in ("/api/v1/allocations", "/api/v1/allocation-returns"):
            response = client.post(path, json=body)
            assert response.status_code == 404, (key, path, response.json)
            assert not _in_json(response.json, small_lab["money"][f"{key}_left"])
    assert db.session.scalar(select(func.count()).select_from(LedgerTransfer)) == transfers
    assert ledger.verify(setup.lab.id) == []


def test_the_pool_still_adds_up_to_the_ore(small_lab, login):
    """The hidden families' money counts in the agency's "allocated" (never split), so delegated =
    allocated + unallocated, per agency and in total, and "allocated" is everything in the
    families' accounts in the ledger."""
    client, lab = login(small_lab["manager"]), small_lab["a"].lab
    pool = client.get(f"/api/v1/pool?year={year()}").json
    (row,) = pool["agencies"]
    assert row["delegated"] == (1_000_000 + 50_000 + 40_000 + 30_000) * KR  # the fixture's delegations
    assert row["delegated"] == row["allocated"] + row["unallocated"]
    assert pool["totals"]["delegated"] == pool["totals"]["allocated"] + pool["totals"]["unallocated"]
    in_families = int(db.session.scalar(select(func.sum(LedgerAccount.balance)).where(
        LedgerAccount.lab_id == lab.id, LedgerAccount.year == year(),
        LedgerAccount.kind.in_(("allocation", "committed", "paid")))))
    assert row["allocated"] == in_families == (100_000 + 50_000 + 40_000 + 30_000) * KR
    listed = sum(r["allocated"] for r in client.get(f"/api/v1/allocations?year={year()}").json)
    assert row["allocated"] - listed == (50_000 + 40_000) * KR  # what management allocated to R and E
    html = client.get(f"/budsjett/oversikt?ar={year()}").get_data(as_text=True)
    total = [int(v) for v in ORE.findall(re.search(r'<tr data-total="agency">(.*?)</tr>', html, re.S).group(1))]
    assert total == [row["delegated"], row["allocated"], row["unallocated"]]
    overview = queries.pool_overview(lab.id, year())
    assert overview.agency_total.delegated == overview.agency_total.allocated + overview.agency_total.unallocated
    assert ledger.verify(lab.id) == []
