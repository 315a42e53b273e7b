"""Demo step 30: delegated budgets in every demo lab, through the same services as the web.

Five agencies delegate to the lab's pool for this year (NOK 2–5 million in all; last year's
delegations are on record too); every family with an open enrolment gets NOK 50 000–200 000 from
the agencies its situation calls for; and each family has a realistic mix of spend in every state
— rental deposit, moving, furniture, debt settlement, driving licence, course fees, a laptop for
school, a bus pass, the children's leisure, childcare — each naming a theme and one of the
family's goals. The demo investment lead has requests waiting in the queue, and management has
requests above the teams' limits. Version 2 of the authority rules adds a yearly cap per family.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from velferdslab.auth.models import Agency, Lab, User
from velferdslab.budget import ledger, services
from velferdslab.cases import gate as family_access
from velferdslab.core import demo
from velferdslab.core.errors import ServiceError
from velferdslab.core.models import today_local, utcnow
from velferdslab.extensions import db

KR = 100
# Agency kind → NOK delegated this year (last year: 80 % of it, as history).
DELEGATIONS = {"nav": 1_200_000, "barnevern": 800_000, "bolig": 700_000, "okonomi": 500_000, "helse": 300_000}
THEME_AGENCY = {"bolig": "bolig", "arbeid": "nav", "skole": "nav", "okonomi": "okonomi", "helse": "helse",
                "oppvekst": "barnevern", "nettverk": "nav"}


@dataclass(frozen=True)
class Item:
    category: str
    theme: str
    payee: str
    purpose: str
    low: int  # NOK
    high: int
    effect: str
    level_to: int


CATALOGUE = [
    Item("deposit", "bolig", "Utleier (privat)", "Depositum for leilighet med tre soverom", 15_000, 30_000,
         "Familien får en egen, stabil leiebolig der barna har eget rom", 3),
    Item("moving", "bolig", "Flyttebyrå Asker", "Flytting fra midlertidig bolig", 6_000, 14_000,
         "Flyttingen skjer raskt, og barna kan begynne på ny skole fra høsten", 3),
    Item("furniture", "bolig", "IKEA Slependen", "Senger, skrivebord og garderobe til barna", 8_000, 25_000,
         "Barna får sove og gjøre lekser i egne rom", 3),
    Item("debt_settlement", "okonomi", "Kredinor", "Engangsoppgjør av inkassogjeld etter avtale", 20_000, 45_000,
         "Inkassosakene avsluttes, og budsjettet går opp hver måned", 3),
    Item("course_licence", "arbeid", "Asker Trafikkskole", "Førerkort klasse B", 18_000, 32_000,
         "Kan ta jobb med skift og kjøring i hjemmetjenesten", 3),
    Item("course_licence", "arbeid", "Folkeuniversitetet", "Kursavgift for fagbrev i barne- og ungdomsarbeid",
         5_000, 15_000, "Fullfører fagbrevet og kvalifiserer til fast stilling", 4),
    Item("equipment", "skole", "Elkjøp", "Bærbar PC til skolearbeid", 6_000, 10_000,
         "Kan gjøre lekser hjemme og følge undervisningen", 3),
    Item("transport", "arbeid", "Ruter", "Månedskort for buss i seks måneder", 3_000, 6_000,
         "Kommer seg til praksisplassen hver dag", 3),
    Item("children_leisure", "oppvekst", "Asker Fotball", "Kontingent og utstyr til fotball for barna", 2_000, 6_000,
         "Barna blir med i et fellesskap etter skoletid", 3),
    Item("childcare", "arbeid", "Barnehage og SFO", "Barnepass mens mor går på norskkurs", 4_000, 12_000,
         "Mor kan fullføre norskkurset og begynne i praksis", 3),
    Item("other", "nettverk", "Frivilligsentralen", "Deltakeravgift for familieleir", 2_000, 5_000,
         "Familien blir kjent med andre familier i nærmiljøet", 3),
    Item("other", "helse", "Asker Treningssenter", "Treningskort i ett år", 3_000, 6_000,
         "Bedre søvn og mindre stress i hverdagen", 3),
]
# Above an investment lead's limit: these go to management.
LARGE = [
    Item("debt_settlement", "okonomi", "Lindorff", "Samlet oppgjør av forbruksgjeld i gjeldsordning", 60_000, 140_000,
         "Familien slipper gjeldsordningen og kan spare til depositum", 3),
    Item("deposit", "bolig", "Asker Boligbyggelag", "Innskudd i borettslagsleilighet", 55_000, 120_000,
         "Familien får en trygg bolig de kan bli boende i", 4),
]
STATES = [("paid", 40), ("approved", 14), ("requested", 14), ("rejected", 10), ("cancelled", 8), ("draft", 6)]
REJECT_REASONS = ["Dekkes av NAVs ordinære ytelser", "Familien har fått tilbudet gratis via skolen",
                  "Beløpet er for høyt; be om et nytt tilbud"]
CANCEL_REASONS = ["Familien fant en rimeligere løsning", "Kurset ble avlyst", "Utleier trakk tilbudet"]


def _kroner(rng: random.Random, low: int, high: int, step: int = 500) -> int:
    return rng.randrange(low // step, high // step + 1) * step * KR


def _at(rng: random.Random, start: date, today: date) -> datetime:
    """A moment this year, before now, for backdated history."""
    days = max((today - start).days, 1)
    return utcnow() - timedelta(days=rng.randrange(1, days + 1), hours=rng.randrange(0, 8))


@demo.step(30)
def budgets(ctx: demo.DemoContext) -> None:
    for lab in ctx.labs:
        _lab_budget(ctx, lab, ctx.extra.get("families", {}).get(lab.id, []))


def _lab_budget(ctx: demo.DemoContext, lab: Lab, families: list) -> None:
    _theme_defaults_of.cache_clear()
    rng, today = ctx.rng, today_local()
    agencies = {a.kind: a for a in ctx.agencies[lab.id]}
    admin = ctx.staff_with_role(lab, "admin")[0]
    managers = ctx.staff_with_role(lab, "manager")
    services.rules_in_force(lab.id)
    services.save_rules(lab, [
        {"role": "team_lead", "max_per_spend": 50_000 * KR, "max_per_family_year": 150_000 * KR},
        {"role": "manager", "max_per_spend": 250_000 * KR},
        {"role": "manager", "max_per_spend": None, "approvals_required": 2},
    ], note="Tak per familie og år for investeringsledere", actor=admin)

    for kind, nok in DELEGATIONS.items():
        agency = agencies[kind]
        services.delegate(lab, agency_id=agency.id, year=today.year - 1, amount=nok * 8 // 10 * KR,
                          decision_reference=f"{agency.name} {today.year - 2}/{rng.randrange(100, 999)}",
                          decided_on=date(today.year - 1, 1, 20), actor=admin)
        services.delegate(lab, agency_id=agency.id, year=today.year, amount=nok * KR,
                          decision_reference=f"{agency.name} {today.year - 1}/{rng.randrange(100, 999)}",
                          decided_on=min(date(today.year, 1, 15), today), actor=admin)

    start = date(today.year, 1, 1)
    open_families = [f for f in families if f.status in ("active", "referred")]
    left = {kind: nok * KR for kind, nok in DELEGATIONS.items()}
    for family in open_families:
        _allocate(rng, lab, family, agencies, managers[0], start, today, left)
    demo_lead = next((u for u in ctx.staff[lab.id] if u.email.startswith("investeringsleder@")), None)
    for index, family in enumerate(f for f in open_families if f.goal_ids):
        _spend_for(rng, lab, family, managers, start, today, demo_lead, big=index % 4 == 1)


def _allocate(rng, lab: Lab, family, agencies: dict[str, Agency], manager: User, start: date, today: date,
              left: dict[str, int]) -> None:
    """NOK 50 000–200 000 from the (at most two) agencies the family's themes call for; an agency
    whose part of the pool is spent is replaced by the one with the most left."""
    total = _kroner(rng, 50_000, 200_000, step=5_000)
    kinds = []
    for theme in family.themes:
        kind = THEME_AGENCY.get(theme)
        if kind in DELEGATIONS and kind not in kinds:
            kinds.append(kind)
    kinds = (kinds or ["nav"])[:2]
    first = total if len(kinds) == 1 else total * 6 // 10 // (1000 * KR) * (1000 * KR)
    for kind, amount in zip(kinds, (first, total - first), strict=False):
        if left[kind] < amount:
            kind = max(left, key=left.__getitem__)
            amount = min(amount, left[kind])
        if amount <= 0:
            continue
        services.allocate(lab, family_id=family.id, agency_id=agencies[kind].id, year=today.year, amount=amount,
                          actor=manager, at=_at(rng, start, today))
        left[kind] -= amount


def _requester(family) -> User | None:
    """A team member (not gated by consent) who asks; the lead only when nobody else can."""
    ids = [i for i in family.member_ids if i != family.lead_id] + [family.lead_id]
    for user_id in ids:
        user = db.session.get_one(User, user_id)  # the demo's own staff: the row is there
        access = family_access.family_access(user, family.id)
        if access is not None and not access.gated and user.has_permission("spend.request"):
            return user
    return None


def _spend_for(rng, lab: Lab, family, managers: list[User], start: date, today: date, demo_lead: User | None,
               big: bool) -> None:
    requester = _requester(family)
    if requester is None:
        return
    lead = db.session.get_one(User, family.lead_id)  # the demo's own staff: the row is there
    items = [i for i in CATALOGUE if i.theme in family.goal_ids]
    if not items:
        return
    plan = [(rng.choice(items), rng.choices([s for s, _ in STATES], [w for _, w in STATES])[0])
            for _ in range(rng.randint(2, 5))]
    if demo_lead is not None and family.lead_id == demo_lead.id:
        plan.append((rng.choice(items), "requested"))  # the demo lead always has something waiting
    large = [i for i in LARGE if i.theme in family.goal_ids]
    if big and large:
        plan.append((rng.choice(large), rng.choice(["requested", "requested", "approved", "paid"])))
    moments = sorted(_at(rng, start, today) for _ in plan)
    for (item, state), at in zip(plan, moments, strict=True):
        _one_spend(rng, family, item, state, at, requester, lead, managers, today)


@functools.cache
def _theme_defaults_of(lab_id: int) -> tuple:
    return tuple(services.theme_defaults(lab_id).items())


def _theme_defaults(lab_id: int) -> dict:
    """The lab's theme defaults, read once (the demo sets none; ids differ per database, so the
    cache is keyed by lab id and cleared with each load)."""
    return dict(_theme_defaults_of(lab_id))


def _funding(family, year: int, theme: str, amount: int) -> list[dict]:
    """The theme's default agency when it has enough left for the family; else the agencies with
    most left, largest first, until the amount is covered (a spend funded by two agencies)."""
    money = services.family_money_by_agency(family.id, year)
    default = _theme_defaults(family.lab_id).get(theme)
    if default in money and money[default].left >= amount:
        return [{"agency": default, "amount": amount}]
    order = sorted(money.values(), key=lambda m: (-m.left, m.agency_id))
    parts, remaining = [], amount
    for found in order:
        take = min(remaining, found.left)
        if take > 0:
            parts.append({"agency": found.agency_id, "amount": take})
            remaining -= take
    return parts


def _one_spend(rng, family, item: Item, state: str, at: datetime, requester: User, lead: User,
               managers: list[User], today: date) -> None:
    goal_id = rng.choice(family.goal_ids[item.theme])
    data = {"amount": _kroner(rng, item.low, item.high), "payee": item.payee, "purpose": item.purpose,
            "category": item.category, "theme": item.theme, "goal_id": goal_id, "expected_effect": item.effect,
            "level_from": max(1, item.level_to - rng.choice([1, 2])), "level_to": item.level_to,
            "wanted_on": (at + timedelta(days=rng.randrange(7, 40))).date()}
    # What the team expects within 6 months (predicted versus actual, issue 14): a step, two for the
    # bigger moves — from the levels already drawn (no extra draw: the rest of the demo stays the same).
    data["expected_level_change"] = min(2, data["level_to"] - data["level_from"])
    if data["amount"] > ledger.family_balance(family.id, today.year).available:
        return  # more than the family has left: a real team would not ask either
    data["funding"] = _funding(family, today.year, item.theme, data["amount"])
    spend = services.create_spend(family.id, requester, data, submit=state != "draft", at=at)
    if state in ("draft", "requested"):
        return
    if state == "cancelled" and rng.random() < 0.5:
        services.cancel_spend(spend.id, requester, reason=rng.choice(CANCEL_REASONS), at=at + timedelta(days=1))
        return
    approver = lead if spend.route == "team" and lead.id != requester.id else managers[spend.id % len(managers)]
    decided = min(at + timedelta(days=rng.randrange(1, 4)), utcnow())
    if state == "rejected":
        services.reject_spend(spend.id, approver, reason=rng.choice(REJECT_REASONS), at=decided)
        return
    try:
        services.approve_spend(spend.id, approver, at=decided)
    except ServiceError:
        return  # above the approver's authority or no money left: it waits in the queue
    if spend.status != "approved":
        return
    if state == "cancelled":
        services.cancel_spend(spend.id, requester, reason=rng.choice(CANCEL_REASONS), at=decided)
    elif state == "paid":
        paid_on = min(decided.date() + timedelta(days=rng.randrange(1, 10)), today)
        services.pay_spend(spend.id, approver, paid_on=paid_on, reference=f"Bilag {rng.randrange(10_000, 99_999)}",
                           at=decided)


# --- the books (issue 17): codes, a closed previous year, an exported period ----------------------------

# Agency kind → (ansvar, KOSTRA funksjon, art); the categories' own accounts.
AGENCY_CODES = {"nav": ("3100", "281", "14700"), "barnevern": ("4200", "251", "14700"),
                "bolig": ("5300", "265", "14700"), "okonomi": ("3150", "283", "14700"),
                "helse": ("6100", "233", "14700")}
CATEGORY_ARTS = {"deposit": "14701", "moving": "14702", "furniture": "14703", "debt_settlement": "14704",
                 "course_licence": "14705", "childcare": "14706"}


@demo.step(31)
def books(ctx: demo.DemoContext) -> None:
    for lab in ctx.labs:
        _lab_books(ctx, lab, ctx.extra.get("families", {}).get(lab.id, []))


def _lab_books(ctx: demo.DemoContext, lab: Lab, families: list) -> None:
    """Codes for last year and this; last year's money in a few families (paid, approved and
    unpaid, unused), and the year closed per agency (carry or return, carry or release); last
    month exported for every agency (the payments recorded before the codes existed get them)."""
    from velferdslab.budget import books as ledger_books
    from velferdslab.budget import vouchers

    rng, today = ctx.rng, today_local()
    last = today.year - 1
    agencies = {a.kind: a for a in ctx.agencies[lab.id]}
    admin = ctx.staff_with_role(lab, "admin")[0]
    managers = ctx.staff_with_role(lab, "manager")
    for kind, (ansvar, funksjon, art) in AGENCY_CODES.items():
        for on_year in (last, today.year):
            ledger_books.save_codes(lab, agency_id=agencies[kind].id, year=on_year, ansvar=ansvar, funksjon=funksjon,
                                    art=art, prosjekt=f"VL{on_year}", actor=admin)
    ledger_books.save_category_accounts(lab, CATEGORY_ARTS, actor=admin)
    open_families = [f for f in families if f.status in ("active", "referred") and f.goal_ids][:4]
    for index, family in enumerate(open_families):
        _last_year(rng, lab, family, agencies, managers, last, unpaid=index % 2 == 0)
    decisions = {a.id: {"unused": "carry" if kind in ("nav", "bolig") else "return",
                        "unpaid": "carry" if kind != "okonomi" else "release",
                        "decision_reference": f"{a.name} {last}/{rng.randrange(100, 999)}"}
                 for kind, a in agencies.items() if kind in DELEGATIONS}
    ledger_books.close_year(lab, year=last, decisions=decisions, actor=admin)
    exported = vouchers.period_of(today.replace(day=1) - timedelta(days=1))
    for agency in agencies.values():
        if agency.kind in DELEGATIONS:
            ledger_books.mark_exported(lab, agency_id=agency.id, period=exported, actor=admin)


def _last_year(rng, lab: Lab, family, agencies: dict[str, Agency], managers: list[User], last: int,
               unpaid: bool) -> None:
    kind = next((THEME_AGENCY[t] for t in family.themes if THEME_AGENCY.get(t) in DELEGATIONS), "nav")
    autumn = datetime(last, 10, 1, 9, tzinfo=UTC)
    services.allocate(lab, family_id=family.id, agency_id=agencies[kind].id, year=last,
                      amount=_kroner(rng, 30_000, 60_000, step=5_000), actor=managers[0], at=autumn)
    requester = _requester(family)
    items = [i for i in CATALOGUE if i.theme in family.goal_ids and i.high <= 20_000]
    if requester is None or not items:
        return
    lead = db.session.get_one(User, family.lead_id)  # the demo's own staff: the row is there
    for state in ("paid", "approved") if unpaid else ("paid",):
        item = rng.choice(items)
        data = {"amount": _kroner(rng, item.low, item.high), "payee": item.payee, "purpose": item.purpose,
                "category": item.category, "theme": item.theme, "goal_id": rng.choice(family.goal_ids[item.theme]),
                "expected_effect": item.effect, "level_from": max(1, item.level_to - 1), "level_to": item.level_to,
                "expected_level_change": 1 if item.level_to > 1 else 0, "wanted_on": date(last, 11, 1)}
        spend = services.create_spend(family.id, requester, data, budget_year=last, submit=True,
                                      at=autumn + timedelta(days=7))
        approver = lead if spend.route == "team" and lead.id != requester.id else managers[spend.id % len(managers)]
        try:
            services.approve_spend(spend.id, approver, at=autumn + timedelta(days=9))
        except ServiceError:
            services.cancel_spend(spend.id, requester, reason=CANCEL_REASONS[0], at=autumn + timedelta(days=9))
            continue
        if state == "paid":
            services.pay_spend(spend.id, approver, paid_on=date(last, 11, 20), reference=f"Bilag {last}-{spend.id}",
                               at=autumn + timedelta(days=50))
