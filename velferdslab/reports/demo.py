"""Demo data for reports: the lab's default assumption set for the benefit model.

The yearly cost of a family per overall level follows the ranges in the product brief (uholdbar
0.7–1.5 M, utsatt 0.3–0.7 M, stabil 80–250 k, bærekraftig 0–50 k kroner; PwC: a young adult outside
work and school costs 620 000 kr a year), split over the agencies that carry it.
"""

from __future__ import annotations

from velferdslab.core import demo
from velferdslab.reports import services

KR = 100
# Yearly public cost in kroner per overall level (1–4), by agency kind.
COSTS_BY_KIND = {
    "nav": (300_000, 160_000, 60_000, 10_000),
    "barnevern": (350_000, 120_000, 25_000, 0),
    "bolig": (120_000, 50_000, 15_000, 5_000),
    "skole": (80_000, 50_000, 20_000, 5_000),
    "helse": (150_000, 80_000, 30_000, 10_000),
    "rus": (70_000, 25_000, 5_000, 0),
    "okonomi": (30_000, 15_000, 5_000, 0),
}
SOURCE_NOTE = ("Anslag per nivå (uholdbar 1,1 mill., utsatt 500 000, stabil 160 000, bærekraftig 30 000 kr i året), "
               "fordelt på etatene. Referanse: PwC anslår 620 000 kr i året for en ung voksen utenfor arbeid og skole.")


@demo.step(40)
def assumption_sets(ctx: demo.DemoContext) -> None:
    for lab in ctx.labs:
        costs = [{"level": level, "agency_id": agency.id, "yearly_cost": kroner * KR}
                 for agency in ctx.agencies[lab.id] if agency.kind in COSTS_BY_KIND
                 for level, kroner in enumerate(COSTS_BY_KIND[agency.kind], start=1)]
        admin = next(iter(ctx.staff_with_role(lab, "admin")), None)
        services.create_set(lab, {"name": "Standard", "source_note": SOURCE_NOTE, "costs": costs,
                                  "staff_cost_per_family_month": 6_000 * KR}, actor=admin)
