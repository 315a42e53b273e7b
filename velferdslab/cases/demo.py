"""Demo step 20: families with 6–30 months of history in every demo lab.

Thirty households per lab (two of them only just referred): members, an enrolment (some closed,
with follow-ups), an investment team of 4–6 from the agencies the family needs, consents (one
family has withdrawn its consent to the child welfare service, so the demo caseworker sees that
family gated), meetings every 4–8 weeks with attendees, notes and decisions, an assessment of every
applicable theme from the team's and the family's view at most meetings (levels that move, mostly
up, sometimes back), the family's goals (*duken*) and actions, some of them overdue.

Rows are written with bulk ``INSERT … RETURNING`` in a fixed number of statements per table, so
``velferdslab demo load`` stays fast and ``--size`` scales to many labs. The demo logins
``teammedlem@…`` (caseworker, barnevern) and ``investeringsleder@…`` (team lead, NAV) are on
several teams; the team lead leads some of them.

``ctx.extra["families"][lab_id]`` lists a :class:`DemoFamily` per family for later steps (budgets,
reports): ids, team, themes and goals.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypeVar

from sqlalchemy import insert

from velferdslab.auth.models import Lab, User
from velferdslab.cases.consent.models import CATEGORY_CODES, Consent, ConsentCategory, ConsentMethod, ConsentPurpose
from velferdslab.cases.enrolment.models import Enrolment
from velferdslab.cases.household.models import Family, FamilyMember
from velferdslab.cases.journey.models import JourneyAssessment, ThemeRating
from velferdslab.cases.meetings.models import Meeting, MeetingAttendee
from velferdslab.cases.plan.models import Action, Goal
from velferdslab.cases.rules import add_months
from velferdslab.cases.themes import THEMES, suggest_overall_level
from velferdslab.core import demo
from velferdslab.core.models import today_local
from velferdslab.extensions import db
from velferdslab.teams.models import InvestmentTeam, TeamMembership

FAMILIES_PER_LAB = 30
REFERRED_ONLY = 2  # just referred: no start, no history yet
LANGUAGES = [("norsk", False)] * 7 + [("arabisk", True), ("somali", True), ("tigrinja", True), ("polsk", False),
                                      ("dari", True), ("engelsk", False)]
# Which agencies a family's situation calls for, by theme.
THEME_AGENCY = {"bolig": "bolig", "arbeid": "nav", "skole": "skole", "okonomi": "okonomi", "helse": "helse",
                "oppvekst": "barnevern", "nettverk": "nav"}
INTAKE = [(1, 0.35), (2, 0.45), (3, 0.20)]  # levels at intake (the brief's guess)

NOTES = {
    "bolig": ["Bor trangt hos familie", "Husleierestanse", "Midlertidig bolig", "Har fått kommunal leilighet",
              "Stabil leieavtale", "Søkt startlån"],
    "arbeid": ["Ingen aktivitet", "I arbeidsrettet tiltak", "Språkkurs", "Deltid i butikk", "Fast jobb",
               "Praksisplass"],
    "skole": ["Mye fravær", "PPT-utredning", "Bedre oppmøte", "Trives på skolen", "Leksehjelp virker"],
    "nettverk": ["Isolert", "Kontakt med frivillig", "Med i foreldregruppe", "Godt nettverk i nabolaget"],
    "okonomi": ["Gjeld til inkasso", "Betalingsavtaler på plass", "Budsjett som går opp", "Gjeldsordning"],
    "helse": ["Venter på behandling", "Følges av fastlege", "Går til samtaler", "Stabil helse"],
    "oppvekst": ["Bekymring fra skolen", "Barna er med på fritidsaktivitet", "Trygg hverdag", "Fast fotballtrening"],
}
GOALS = {
    "bolig": [("short", "Få en leilighet der barna har eget rom"), ("long", "Eie vår egen bolig"),
              ("dream", "Et hus med hage")],
    "arbeid": [("short", "Komme i gang med norskkurs"), ("long", "Fast jobb i barnehage"),
               ("dream", "Åpne egen frisørsalong")],
    "skole": [("short", "Møte på skolen hver dag"), ("long", "Fullføre videregående"),
              ("dream", "Bli sykepleier")],
    "nettverk": [("short", "Bli med i en foreldregruppe"), ("long", "Ha venner å ringe når det er tungt"),
                 ("dream", "Ha store familieselskap igjen")],
    "okonomi": [("short", "Få oversikt over all gjelden"), ("long", "Bli gjeldfri"),
                ("dream", "Reise på ferie til mormor")],
    "helse": [("short", "Få time hos psykolog"), ("long", "Sove godt om natta"), ("dream", "Løpe et halvmaraton")],
    "oppvekst": [("short", "Barna skal begynne på en fritidsaktivitet"), ("long", "Trygg og forutsigbar hverdag"),
                 ("dream", "At barna får gå på tur i fjellet hver sommer")],
}
ACTIONS = {
    "bolig": ["Søke kommunal bolig", "Søke om depositum", "Flytte inn og ordne møbler", "Søke startlån"],
    "arbeid": ["Melde på norskkurs", "Avtale praksisplass", "Søke jobber sammen med veileder", "Ta førerkort"],
    "skole": ["Møte med kontaktlærer", "Kjøpe PC til skolearbeid", "Søke leksehjelp", "Følge opp fravær"],
    "nettverk": ["Finne frivillig besøksvenn", "Bli med på familietreff", "Kontakt med Røde Kors"],
    "okonomi": ["Sette opp budsjett", "Kontakte kreditorer", "Søke gjeldsordning", "Time hos økonomirådgiver"],
    "helse": ["Time hos fastlege", "Henvisning til DPS", "Søke om støttesamtaler"],
    "oppvekst": ["Melde barna på fotball", "Søke om fritidskort", "Foreldreveiledning (ICDP)"],
}
DECISIONS = ["Teamet dekker depositum fra familiens budsjett.", "NAV følger opp søknaden om praksisplass.",
             "Familien tar kontakt med skolen før neste møte.", "Økonomirådgiver setter opp betalingsplan.",
             "Teamet søker om fritidskort for barna.", "Neste møte holdes hjemme hos familien."]
MEETING_NOTES = ["Familien forteller at det går bedre i hverdagen.", "Det har vært en tung måned.",
                 "Vi gikk gjennom duken sammen.", "Barna var med den første halvtimen.",
                 "Familien ønsker mer hjelp med økonomien.", "Tolk var til stede."]


@dataclass
class DemoFamily:
    id: int
    lab_id: int
    enrolment_id: int
    team_id: int
    status: str
    started_on: date | None
    closed_on: date | None
    themes: list[str]
    lead_id: int
    member_ids: list[int]
    goal_ids: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class _Plan:
    """One family's generated history before ids exist."""

    household: dict
    members: list[dict]
    referred_on: date
    started_on: date | None
    closed_on: date | None
    close_reason: str | None
    agency_kinds: list[str]
    themes: list[str]
    young_person: bool
    withdraw_barnevern: bool = False
    team: list[tuple[User, str]] = field(default_factory=list)


def _insert(model, rows: list[dict]) -> list[int]:
    """One bulk INSERT … RETURNING id, in the order of ``rows``."""
    if not rows:
        return []
    result = db.session.execute(insert(model).returning(model.id, sort_by_parameter_order=True), rows)
    return [row[0] for row in result]


def _insert_plain(model, rows: list[dict]) -> None:
    if rows:
        db.session.execute(insert(model), rows)


T = TypeVar("T")


def _weighted(rng: random.Random, pairs: Sequence[tuple[T, float]]) -> T:
    roll, total = rng.random(), 0.0
    for value, weight in pairs:
        total += weight
        if roll <= total:
            return value
    return pairs[-1][0]


def _members(rng: random.Random, today: date, last: str) -> tuple[list[dict], bool]:
    shape = rng.choice(["two_parents", "single_parent", "single_parent", "young_person", "parent_and_youth"])
    first = lambda: rng.choice(demo.FIRST_NAMES)  # noqa: E731
    year = today.year
    members = []
    if shape == "young_person":
        members.append({"first_name": first(), "last_name": last, "birth_year": year - rng.randint(17, 23),
                        "role": "young_person", "is_contact": True})
        return members, True
    members.append({"first_name": first(), "last_name": last, "birth_year": year - rng.randint(28, 50),
                    "role": "parent", "is_contact": True})
    if shape == "two_parents":
        members.append({"first_name": first(), "last_name": last, "birth_year": year - rng.randint(28, 52),
                        "role": "parent", "is_contact": False})
    young = shape == "parent_and_youth"
    if young:
        members.append({"first_name": first(), "last_name": last, "birth_year": year - rng.randint(15, 18),
                        "role": "young_person", "is_contact": False})
    for _ in range(rng.randint(1 if not young else 0, 3)):
        members.append({"first_name": first(), "last_name": last, "birth_year": year - rng.randint(2, 14),
                        "role": "child", "is_contact": False})
    # The household may not hold the same name and birth year twice (the model's unique rule).
    seen, unique = set(), []
    for m in members:
        key = (m["first_name"], m["birth_year"])
        if key not in seen:
            seen.add(key)
            unique.append(m)
    return unique, young


def _plan_family(rng: random.Random, today: date, index: int, used_names: set[str]) -> _Plan:
    last = rng.choice(demo.LAST_NAMES)
    while last in used_names and len(used_names) < len(demo.LAST_NAMES):
        last = rng.choice(demo.LAST_NAMES)
    used_names.add(last)
    members, young = _members(rng, today, last)
    has_children = any(m["role"] in ("child", "young_person") for m in members)
    themes = [t.code for t in THEMES if has_children or not t.needs_children]
    language, interpreter = rng.choice(LANGUAGES)
    single = len(members) == 1
    household = {"household_name": f"{members[0]['first_name']} {last}" if single else f"Familien {last}",
                 "language": language, "interpreter_needed": interpreter}
    if index < REFERRED_ONLY:
        referred = today - timedelta(days=rng.randint(3, 20))
        return _Plan(household, members, referred, None, None, None, [], themes, young)
    months = rng.randint(6, 30)
    started = add_months(today, -months)
    referred = started - timedelta(days=rng.randint(14, 40))
    closed = reason = None
    if months >= 16 and rng.random() < 0.4:
        closed = add_months(started, rng.randint(12, months - 2))
        reason = _weighted(rng, [("goals_reached", 0.7), ("moved", 0.15), ("withdrew", 0.1), ("other", 0.05)])
    kinds = sorted({THEME_AGENCY[t] for t in rng.sample(themes, k=min(len(themes), rng.randint(3, 5)))})
    return _Plan(household, members, referred, started, closed, reason, kinds, themes, young)


def _pick_team(rng: random.Random, plan: _Plan, lead: User, by_kind: dict[str, list[User]],
               must: list[User]) -> None:
    team: list[tuple[User, str]] = [(lead, "lead")]
    chosen = {lead.id}
    for user in must:
        if user.id not in chosen:
            team.append((user, "member"))
            chosen.add(user.id)
    for kind in plan.agency_kinds:
        pool = [u for u in by_kind.get(kind, []) if u.id not in chosen]
        if pool and len(team) < 6:
            user = rng.choice(pool)
            team.append((user, "member"))
            chosen.add(user.id)
    plan.team = team


def _assign_teams(rng: random.Random, ctx: demo.DemoContext, lab: Lab, plans: list[_Plan]) -> None:
    staff = ctx.staff[lab.id]
    agencies = {a.id: a for a in ctx.agencies[lab.id]}
    leads = [u for u in staff if "team_lead" in u.roles]
    caseworkers = [u for u in staff if u.roles == frozenset({"caseworker"})]
    by_kind: dict[str, list[User]] = {}
    for user in caseworkers:
        if user.agency_id:
            by_kind.setdefault(agencies[user.agency_id].kind, []).append(user)
    demo_lead = next((u for u in leads if u.email.startswith("investeringsleder@")), leads[0])
    demo_worker = next((u for u in caseworkers if u.email.startswith("teammedlem@")), caseworkers[0])
    other_leads = [u for u in leads if u is not demo_lead] or [demo_lead]
    for index, plan in enumerate(plans):
        # The printed demo logins must have work to do: the team lead leads every fourth family and
        # sits on a few more; the caseworker is on about a third of the teams.
        lead = demo_lead if index % 4 == 2 else other_leads[index % len(other_leads)]
        must = [demo_worker] if index % 3 == 2 or index in (0, 2) else []
        if index % 7 == 3 and lead is not demo_lead:
            must.append(demo_lead)
        _pick_team(rng, plan, lead, by_kind, must)
    # One family the demo caseworker is on has withdrawn its consent to child welfare (barnevern).
    withdrawn = next(p for i, p in enumerate(plans) if i >= REFERRED_ONLY and any(u is demo_worker for u, _r in p.team)
                     and p.closed_on is None)
    withdrawn.withdraw_barnevern = True


def _level_walk(rng: random.Random, level: int, step: int) -> int:
    up = 0.28 if step < 8 else 0.15
    roll = rng.random()
    if roll < up:
        return min(4, level + 1)
    if roll < up + 0.07:
        return max(1, level - 1)  # setbacks happen
    return level


@dataclass
class _History:
    meetings: list[dict] = field(default_factory=list)
    attendees: list[list[dict]] = field(default_factory=list)  # per meeting
    # (meeting index, row, ratings); a follow-up after closure has no meeting
    assessments: list[tuple[int | None, dict, list[dict]]] = field(default_factory=list)
    actions: list[tuple[int | None, dict]] = field(default_factory=list)  # (meeting index, row)


def _rating_rows(rng: random.Random, plan: _Plan, levels: dict[str, int]) -> list[dict]:
    rows = []
    for theme, level in levels.items():
        note = rng.choice(NOTES[theme]) if rng.random() < 0.6 else None
        rows.append({"theme": theme, "perspective": "team", "level": level, "note": note})
        family_level = level if rng.random() < 0.7 else max(1, min(4, level + rng.choice((-1, 1))))
        rows.append({"theme": theme, "perspective": "family", "level": family_level, "note": None})
        if plan.young_person and theme in ("skole", "arbeid", "helse", "nettverk") and rng.random() < 0.7:
            rows.append({"theme": theme, "perspective": "young_person",
                         "level": max(1, min(4, level + rng.choice((-1, 0, 0, 1)))), "note": None})
    return rows


def _assessment(rng: random.Random, plan: _Plan, levels: dict[str, int], day: date, kind: str) -> tuple[dict, list]:
    suggested = suggest_overall_level(list(levels.values()))
    overall, reason = suggested, None
    if kind == "regular" and rng.random() < 0.1:
        overall = max(1, min(4, suggested + rng.choice((-1, 1))))
        if overall != suggested:
            reason = "Teamet vektlegger at boligsituasjonen fortsatt er usikker." if overall < suggested else \
                "Familien har fått god hjelp av nettverket sitt; teamet vurderer helheten som bedre."
    row = {"assessed_on": day, "kind": kind, "version": 1, "is_current": True, "overall_level": overall,
           "suggested_level": suggested, "override_reason": reason}
    return row, _rating_rows(rng, plan, levels)


def _action_status(rng: random.Random, due: date, today: date) -> str:
    if due < today - timedelta(days=30):
        return _weighted(rng, [("done", 0.8), ("dropped", 0.1), ("planned", 0.1)])  # some left overdue
    if due < today:
        return _weighted(rng, [("done", 0.5), ("in_progress", 0.3), ("planned", 0.2)])
    return _weighted(rng, [("planned", 0.6), ("in_progress", 0.4)])


def _meeting_actions(rng: random.Random, plan: _Plan, team_ids: list[int], day: date, today: date) -> list[dict]:
    actions = []
    for _ in range(rng.randint(1, 2)):
        theme = rng.choice(plan.themes)
        due = day + timedelta(days=rng.randint(14, 60))
        owner = rng.choice(team_ids + [None])
        actions.append({"title": rng.choice(ACTIONS[theme]), "owner_user_id": owner, "owner_is_family": owner is None,
                        "due_on": due, "review_on": due + timedelta(days=14), "status": _action_status(rng, due, today),
                        "created_by_id": team_ids[0], "_theme": theme})
    return actions


def _follow_ups(rng: random.Random, plan: _Plan, levels: dict[str, int], history: _History, today: date) -> None:
    assert plan.closed_on is not None  # _history calls this only for a plan that closes
    for kind, months in (("follow_up_6", 6), ("follow_up_12", 12)):
        when = add_months(plan.closed_on, months)
        if when <= today:
            levels = {t: _level_walk(rng, lvl, 20) for t, lvl in levels.items()}
            history.assessments.append((None, *_assessment(rng, plan, levels, when, kind)))


def _history(rng: random.Random, plan: _Plan, adult_ids: list[int], today: date) -> _History:
    """Meetings every 4–8 weeks from the start, an assessment at most of them, 1–2 actions each."""
    history = _History()
    if plan.started_on is None:
        return history
    levels = {t: _weighted(rng, INTAKE) for t in plan.themes}
    team_ids = [u.id for u, _r in plan.team]
    day, step = plan.started_on, 0
    while day <= (plan.closed_on or today):
        index = len(history.meetings)
        attending = [team_ids[0]] + rng.sample(team_ids[1:], k=min(len(team_ids) - 1, rng.randint(2, 4)))
        family = rng.sample(adult_ids, k=min(len(adult_ids), rng.randint(1, 2)))
        gap = rng.randint(28, 56)
        history.meetings.append({"held_on": day, "notes": rng.choice(MEETING_NOTES),
                                 "decisions": rng.choice(DECISIONS), "next_meeting_on": day + timedelta(days=gap),
                                 "created_by_id": team_ids[0]})
        history.attendees.append([{"user_id": u, "member_id": None} for u in attending]
                                 + [{"user_id": None, "member_id": m} for m in family])
        if step == 0 or rng.random() < 0.8:
            if step > 0:
                levels = {t: _level_walk(rng, lvl, step) for t, lvl in levels.items()}
            kind = "intake" if step == 0 else "regular"
            history.assessments.append((index, *_assessment(rng, plan, levels, day, kind)))
        history.actions += [(index, a) for a in _meeting_actions(rng, plan, team_ids, day, today)]
        day += timedelta(days=gap)
        step += 1
    if plan.closed_on:
        _follow_ups(rng, plan, levels, history, today)
    return history


def _team_rows(plan: _Plan, team_id: int, family_id: int, today: date) -> list[dict]:
    start = plan.referred_on if plan.started_on is None else plan.started_on - timedelta(days=7)
    rows = []
    for position, (user, role) in enumerate(plan.team):
        # One member left along the way (history stays): the fourth member of longer teams.
        ended = plan.started_on is not None and position == 3 and (today - plan.started_on).days > 300
        rows.append({"team_id": team_id, "family_id": family_id, "user_id": user.id, "agency_id": user.agency_id,
                     "role": role, "start_date": start,
                     "end_date": start + timedelta(days=200) if ended else None})
    return rows


def _consent_rows(plan: _Plan, family_id: int, giver_id: int) -> list[dict]:
    """A consent to every agency on the team, given by the contact person just before the start."""
    if plan.started_on is None:
        return []
    agency_ids = sorted({u.agency_id for u, _r in plan.team if u.agency_id})
    given = plan.started_on - timedelta(days=5)
    return [{"family_id": family_id, "agency_id": agency_id, "purpose": ConsentPurpose.TEAM.value,
             "given_by_member_id": giver_id, "given_on": given, "expires_on": None,
             "method": ConsentMethod.SIGNED.value} for agency_id in agency_ids]


def _write_consents(plans: list[_Plan], family_ids: list[int], members_of: list[list[int]],
                    barnevern_id: int, today: date) -> None:
    rows: list[dict] = []
    withdrawals: list[int] = []
    for plan, family_id, member_ids in zip(plans, family_ids, members_of, strict=True):
        mine = _consent_rows(plan, family_id, member_ids[0])
        if plan.withdraw_barnevern:
            withdrawals += [len(rows) + i for i, r in enumerate(mine) if r["agency_id"] == barnevern_id]
        rows.extend(mine)
    ids = _insert(Consent, rows)
    # Withdrawal is a new row that supersedes the consent; the old row is never edited.
    ids += _insert(Consent, [{**rows[i], "withdrawn_on": today - timedelta(days=20), "supersedes_id": ids[i],
                              "withdrawn_by_member_id": rows[i]["given_by_member_id"]} for i in withdrawals])
    # The demo's consents are the household's, covering every kind of information.
    _insert_plain(ConsentCategory, [{"consent_id": i, "category": c} for i in ids for c in CATEGORY_CODES])


def _write_meetings(family_ids, enrolment_ids, histories: list[_History]) -> list[list[int]]:
    rows = [{"family_id": fid, "enrolment_id": eid, **m}
            for fid, eid, h in zip(family_ids, enrolment_ids, histories, strict=True) for m in h.meetings]
    ids = iter(_insert(Meeting, rows))
    meetings_of = [[next(ids) for _m in h.meetings] for h in histories]
    _insert_plain(MeetingAttendee, [{"meeting_id": mid, **a} for h, mids in zip(histories, meetings_of, strict=True)
                                    for mid, people in zip(mids, h.attendees, strict=True) for a in people])
    return meetings_of


def _write_assessments(family_ids, enrolment_ids, histories: list[_History], meetings_of) -> None:
    rows, rating_lists = [], []
    for fid, eid, h, mids in zip(family_ids, enrolment_ids, histories, meetings_of, strict=True):
        for meeting_index, row, ratings in h.assessments:
            rows.append({"family_id": fid, "enrolment_id": eid, "created_by_id": None,
                         "meeting_id": mids[meeting_index] if meeting_index is not None else None, **row})
            rating_lists.append(ratings)
    ids = _insert(JourneyAssessment, rows)
    _insert_plain(ThemeRating, [{"assessment_id": aid, **r}
                                for aid, ratings in zip(ids, rating_lists, strict=True) for r in ratings])


def _write_goals(rng: random.Random, plans: list[_Plan], family_ids) -> dict[int, dict[str, list[int]]]:
    rows, owners = [], []
    for fid, plan in zip(family_ids, plans, strict=True):
        if plan.started_on is None:
            continue
        for theme in rng.sample(plan.themes, k=min(len(plan.themes), rng.randint(3, 5))):
            for horizon, text in GOALS[theme]:
                if horizon == "short" or rng.random() < 0.6:
                    reached = horizon == "short" and plan.closed_on is not None
                    rows.append({"family_id": fid, "theme": theme, "horizon": horizon, "text": text,
                                 "status": "reached" if reached else "open"})
                    owners.append((fid, theme))
    goals: dict[int, dict[str, list[int]]] = {}
    for gid, (fid, theme) in zip(_insert(Goal, rows), owners, strict=True):
        goals.setdefault(fid, {}).setdefault(theme, []).append(gid)
    return goals


def _write_actions(family_ids, histories: list[_History], meetings_of, goals) -> None:
    rows = []
    for fid, h, mids in zip(family_ids, histories, meetings_of, strict=True):
        for meeting_index, action in h.actions:
            action = dict(action)
            goal = goals.get(fid, {}).get(action.pop("_theme"))
            rows.append({"family_id": fid, "meeting_id": mids[meeting_index], "goal_id": goal[0] if goal else None,
                         **action})
    _insert_plain(Action, rows)


def _lab_families(ctx: demo.DemoContext, lab: Lab) -> list[DemoFamily]:
    rng, today = ctx.rng, today_local()
    used: set[str] = set()
    plans = [_plan_family(rng, today, i, used) for i in range(FAMILIES_PER_LAB)]
    _assign_teams(rng, ctx, lab, plans)
    agencies_by_kind = {a.kind: a for a in ctx.agencies[lab.id]}

    family_ids = _insert(Family, [{"lab_id": lab.id, **p.household} for p in plans])
    member_rows = [{"family_id": fid, **m} for fid, p in zip(family_ids, plans, strict=True) for m in p.members]
    member_ids = iter(_insert(FamilyMember, member_rows))
    members_of = [[next(member_ids) for _m in p.members] for p in plans]
    enrolment_ids = _insert(Enrolment, [
        {"family_id": fid, "lab_id": lab.id, "status": "closed" if p.closed_on else "active" if p.started_on
         else "referred", "referred_on": p.referred_on, "started_on": p.started_on, "closed_on": p.closed_on,
         "close_reason": p.close_reason, "referred_by_agency_id": agencies_by_kind[p.agency_kinds[0]].id
         if p.agency_kinds else None,
         "referral_reason": "Sammensatte behov: bolig, økonomi og oppfølging av barna."}
        for fid, p in zip(family_ids, plans, strict=True)])
    team_ids = _insert(InvestmentTeam, [{"lab_id": lab.id, "family_id": fid, "enrolment_id": eid}
                                        for fid, eid in zip(family_ids, enrolment_ids, strict=True)])
    _insert_plain(TeamMembership, [row for p, tid, fid in zip(plans, team_ids, family_ids, strict=True)
                                   for row in _team_rows(p, tid, fid, today)])

    _write_consents(plans, family_ids, members_of, agencies_by_kind["barnevern"].id, today)

    histories = []
    for plan, mids in zip(plans, members_of, strict=True):
        adults = [mid for mid, m in zip(mids, plan.members, strict=True) if m["role"] != "child"]
        histories.append(_history(rng, plan, adults, today))
    meetings_of = _write_meetings(family_ids, enrolment_ids, histories)
    _write_assessments(family_ids, enrolment_ids, histories, meetings_of)
    goals_by_family = _write_goals(rng, plans, family_ids)
    _write_actions(family_ids, histories, meetings_of, goals_by_family)

    return [DemoFamily(id=fid, lab_id=lab.id, enrolment_id=eid, team_id=tid,
                       status="closed" if p.closed_on else "active" if p.started_on else "referred",
                       started_on=p.started_on, closed_on=p.closed_on, themes=p.themes, lead_id=p.team[0][0].id,
                       member_ids=[u.id for u, _r in p.team], goal_ids=goals_by_family.get(fid, {}))
            for fid, eid, tid, p in zip(family_ids, enrolment_ids, team_ids, plans, strict=True)]


@demo.step(20)
def families(ctx: demo.DemoContext) -> None:
    """~30 families with realistic history in every demo lab."""
    found = ctx.extra.setdefault("families", {})
    for lab in ctx.labs:
        found[lab.id] = _lab_families(ctx, lab)
