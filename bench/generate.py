"""The synthetic installation: labs, staff, families with years of history, budgets and the audit
trail, bulk-loaded into PostgreSQL with COPY.

Everything is decided by one seed and the day the run starts (dates are relative to today, so
teams, consents and budgets are *current* when the app reads them). Ids are assigned here, tables
are loaded in dependency order (one transaction per lab, then the audit trail), and the id
sequences are set past the largest id at the end, so the app can go on inserting afterwards.

The invariants the app's own database rules enforce hold because the data is made to satisfy
them, not because the rules are switched off:

* **Ledger.** Accounts are inserted with balance 0 (the ``ledger_account_guard`` trigger insists)
  and every transfer goes in through COPY with the ``ledger_transfer_apply`` trigger *enabled*, so
  PostgreSQL itself derives every balance from the transfers, and the CHECK constraint on the
  balance would abort the load if the generated history ever overspent. Transfers are loaded in
  an order that can never go negative: all delegations, then all allocations, then each spend's
  reserve before its payment or release. Allocations are sized to cover every spend that reserves
  money (and every request still waiting), so the approval benchmark has money to approve.
* **Audit chain.** Events are generated day by day in time order and sealed here exactly as
  ``audit.chain.seal`` would (``chain_seq`` 1, 2, …, ``hash = sha256(prev_hash + canonical)``
  from ``audit.canonical``), and ``audit_chain_head`` is moved to the last event, so
  ``audit verify`` passes and events the app writes later continue the same chain. The trigger
  that refuses pre-sealed inserts is disabled for the COPY (in the same transaction) and enabled
  again after it.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from velferdslab.audit.canonical import GENESIS, chain_hash, event_bytes
from velferdslab.budget.models import account_code
from velferdslab.cases.consent.models import CATEGORY_CODES
from velferdslab.cases.themes import THEMES, suggest_overall_level
from velferdslab.core.models import today_local

BENCH_PASSWORD = "benkemerke-passord-2026"  # noqa: S105 - synthetic bench users only
EMAIL_DOMAIN = "bench.velferdslab.invalid"
KR = 100

AGENCIES = (("NAV", "nav"), ("Barnevernet", "barnevern"), ("Boligkontoret", "bolig"), ("Skole og PPT", "skole"),
            ("Helse og psykisk helse", "helse"), ("Økonomirådgivningen", "okonomi"))
THEME_CODES = tuple(t.code for t in THEMES)
CHILD_THEMES = frozenset(t.code for t in THEMES if t.needs_children)
FIRST_NAMES = ("Kari", "Ola", "Ingrid", "Per", "Aisha", "Mohammed", "Nora", "Jonas", "Sara", "Emil", "Maja",
               "Lucas", "Leah", "Filip", "Amina", "Ali", "Ella", "Noah", "Sofie", "Oskar", "Hanna", "Isak",
               "Emma", "Jakob", "Olivia", "William", "Frida", "Magnus", "Zainab", "Yusuf", "Thea", "Henrik")
LAST_NAMES = ("Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen", "Jensen",
              "Karlsen", "Ahmed", "Ali", "Berg", "Haugen", "Hagen", "Eriksen", "Bakken", "Lie", "Dahl", "Nguyen",
              "Moen", "Solberg", "Strand", "Lund", "Hussein", "Mohamud", "Kowalski", "Halvorsen", "Jakobsen")
MUNICIPALITIES = ("Asker", "Bærum", "Drammen", "Lillestrøm", "Fredrikstad", "Sandnes", "Tromsø", "Bodø",
                  "Ålesund", "Tønsberg", "Sarpsborg", "Skien", "Moss", "Arendal", "Hamar", "Larvik", "Halden",
                  "Gjøvik", "Molde", "Harstad", "Lillehammer", "Kongsberg", "Horten", "Steinkjer")
# Category → (theme it usually serves, smallest and largest amount in kroner).
CATEGORIES = {
    "deposit": ("bolig", 8_000, 30_000), "moving": ("bolig", 3_000, 15_000), "furniture": ("bolig", 2_000, 20_000),
    "debt_settlement": ("okonomi", 5_000, 120_000), "course_licence": ("arbeid", 2_000, 35_000),
    "equipment": ("skole", 1_500, 12_000), "transport": ("arbeid", 500, 6_000),
    "children_leisure": ("oppvekst", 500, 8_000), "childcare": ("arbeid", 2_000, 15_000),
    "other": ("okonomi", 500, 10_000),
}
CATEGORY_WEIGHTS = (12, 6, 10, 8, 10, 8, 14, 14, 8, 10)
DEFAULT_RULES = (("team_lead", 50_000 * KR, 1), ("manager", 250_000 * KR, 1), ("manager", None, 2))


@dataclass(frozen=True)
class Scale:
    name: str
    labs: int
    families: int
    years: int
    theme_ratings: int
    spend_requests: int
    audit_events: int
    # Families of one extra lab, generated only for the one-lab outcome report figure (issues 14/19:
    # the report over 10 000 families in one lab). As many as the regular installation has in all,
    # with the same history per family (the regular labs' cadence and spend rate); not part of the
    # targets above, and without an audit trail of its own (the audit figures stay the regular
    # installation's). 0: no extra lab.
    large_lab: int = 0


SCALES = {
    "default": Scale("default", labs=20, families=10_000, years=3, theme_ratings=3_000_000,
                     spend_requests=200_000, audit_events=5_000_000, large_lab=10_000),
    "small": Scale("small", labs=2, families=600, years=3, theme_ratings=180_000, spend_requests=12_000,
                   audit_events=300_000, large_lab=600),
    "tiny": Scale("tiny", labs=1, families=45, years=2, theme_ratings=6_000, spend_requests=500,
                  audit_events=3_000, large_lab=45),
}
# Families generated and loaded per COPY round within one lab (keeps a large lab's rows out of memory).
CHUNK_FAMILIES = 500


# --- the plan: who is who, and when each family was in the lab -----------------------------------

@dataclass
class FamilyPlan:
    lab_index: int
    index: int
    start: date
    end: date | None  # closed on; None while active
    bench: bool = False  # one of the bench team lead's 40 families
    showcase: bool = False  # the family with exactly three years of history

    def history_days(self, today: date) -> int:
        return max(1, ((self.end or today) - self.start).days)


@dataclass
class BenchUsers:
    """Ids the measurements need, with the password every synthetic user has."""

    lead_id: int = 0  # team lead of exactly 40 current families (lab 1)
    lead_email: str = ""
    showcase_family_id: int = 0  # three years of history, on the bench lead's team
    bench_family_ids: list[int] = field(default_factory=list)
    manager_ids: dict[int, int] = field(default_factory=dict)  # lab id -> manager id
    lead_ids: list[int] = field(default_factory=list)
    large_lab_id: int = 0  # the extra lab of ``Scale.large_lab`` families (0: none)
    large_lab_manager_email: str = ""


@dataclass
class Result:
    counts: Counter
    seconds: dict[str, float]
    users: BenchUsers
    today: date
    scale: Scale
    seed: int
    large_lab_counts: Counter = field(default_factory=Counter)  # rows of the extra lab (in ``counts`` too)


def _at(day: date, rng: random.Random, night: bool = False) -> datetime:
    """A working-hours moment on ``day`` (Oslo office hours, stored in UTC)."""
    seconds = rng.randint(0, 86_399) if night else rng.randint(6 * 3600 + 30 * 60, 15 * 3600)
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=seconds,
                                                                          microseconds=rng.randint(0, 999_999))


def _intake_level(rng: random.Random) -> int:
    roll = rng.random()  # the mission's guess: 35 % uholdbar, 45 % utsatt, 20 % stabil at intake
    return 1 if roll < 0.35 else 2 if roll < 0.80 else 3


def _step(level: int, rng: random.Random) -> int:
    roll = rng.random()  # levels move, mostly up, sometimes back
    if roll < 0.11:
        return min(4, level + 1)
    if roll < 0.145:
        return max(1, level - 1)
    return level


class Generator:
    def __init__(self, connection, scale: Scale, seed: int = 2026, today: date | None = None,
                 log=print) -> None:
        self.conn = connection
        self.scale = scale
        self.seed = seed
        self.today = today or today_local()
        self.rng = random.Random(seed)
        self.ids: Counter = Counter()
        self.counts: Counter = Counter()
        self.seconds: dict[str, float] = {}
        self.users = BenchUsers()
        self.log = log
        # For the audit trail: per family (id, lab id, first day, last day, ((user, agency, role), ...)).
        self.family_staff: list[tuple] = []
        self.lab_staff: dict[int, list[tuple]] = {}

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    # --- loading ---------------------------------------------------------------------------------

    def copy(self, table: str, columns: tuple[str, ...], rows) -> None:
        with self.conn.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:  # noqa: S608
                n = 0
                for row in rows:
                    copy.write_row(row)
                    n += 1
        self.counts[table] += n

    # --- the whole installation -------------------------------------------------------------------

    def run(self, password_hash: str) -> Result:
        started = time.perf_counter()
        plans = self._plan()
        cadence = self._cadence(plans)
        spend_rate = self._spend_rate(plans)
        self.password_hash = password_hash
        by_lab = defaultdict(list)
        for plan in plans:
            by_lab[plan.lab_index].append(plan)
        for lab_index in range(self.scale.labs):
            self._lab(lab_index, by_lab[lab_index], cadence, spend_rate)
            self.conn.commit()
            if lab_index % 5 == 4 or lab_index == self.scale.labs - 1:
                self.log(f"  labs {lab_index + 1}/{self.scale.labs} loaded "
                         f"({time.perf_counter() - started:.0f} s, {self.counts['theme_rating']:,} ratings)")
        self.seconds["families_budgets"] = time.perf_counter() - started
        mark = time.perf_counter()
        large_counts = self._large_lab(cadence, spend_rate) if self.scale.large_lab else Counter()
        self.seconds["large_lab"] = time.perf_counter() - mark
        mark = time.perf_counter()
        self._audit_trail()
        self.conn.commit()
        self.seconds["audit_trail"] = time.perf_counter() - mark
        mark = time.perf_counter()
        self._reset_sequences()
        with self.conn.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.conn.commit()
        self.seconds["sequences_analyze"] = time.perf_counter() - mark
        self.seconds["total"] = time.perf_counter() - started
        return Result(self.counts, self.seconds, self.users, self.today, self.scale, self.seed, large_counts)

    def _plan(self) -> list[FamilyPlan]:
        rng, today, span = self.rng, self.today, self.scale.years * 365
        plans = []
        per_lab = [self.scale.families // self.scale.labs + (1 if i < self.scale.families % self.scale.labs else 0)
                   for i in range(self.scale.labs)]
        for lab_index, count in enumerate(per_lab):
            for index in range(count):
                showcase = lab_index == 0 and index == 0
                bench = lab_index == 0 and index < 40
                if showcase:
                    start, end = today - timedelta(days=span), None
                elif bench:
                    start, end = today - timedelta(days=rng.randint(60, min(span, 700))), None
                else:
                    plans.append(self._family_plan(lab_index, index))
                    continue
                plans.append(FamilyPlan(lab_index, index, start, end, bench=bench, showcase=showcase))
        return plans

    def _large_lab(self, cadence: float, spend_rate: float) -> Counter:
        """The extra lab of ``scale.large_lab`` families, for the one-lab outcome report figure.

        The same generator as every lab (families, teams, assessments, meetings, goals, actions,
        spends and their ledger, enrolments spread over the same years) with the regular labs'
        cadence and spend rate, so a family has the same history here as anywhere. It draws from
        its own random stream and takes its ids after the regular labs', so the regular installation
        is exactly what the seed made it without this lab; its families get no audit trail (the
        trail's size is the scale's, spread over the regular families)."""
        main_rng, before, staff = self.rng, Counter(self.counts), len(self.family_staff)
        self.rng = random.Random(f"{self.seed}:large-lab")
        started = time.perf_counter()
        try:
            lab_index = self.scale.labs
            plans = [self._family_plan(lab_index, index) for index in range(self.scale.large_lab)]
            self._lab(lab_index, plans, cadence, spend_rate)
            self.conn.commit()
        finally:
            self.rng = main_rng
            del self.family_staff[staff:]
        self.users.large_lab_id = self.ids["lab"]
        self.users.large_lab_manager_email = f"leder1.lab{lab_index + 1}@{EMAIL_DOMAIN}"
        counts = Counter({table: n - before[table] for table, n in self.counts.items() if n - before[table]})
        self.log(f"  large lab: {self.scale.large_lab:,} families loaded ({time.perf_counter() - started:.0f} s, "
                 f"{counts['theme_rating']:,} ratings, {counts['spend_request']:,} spend requests)")
        return counts

    def _family_plan(self, lab_index: int, index: int) -> FamilyPlan:
        """An ordinary family's enrolment (as for every family of ``_plan`` but the bench lead's)."""
        rng, today, span = self.rng, self.today, self.scale.years * 365
        start = today - timedelta(days=rng.randint(20, span - 10))
        # Enrolment 12–30 months (the mission); most families still there were enrolled lately.
        closes = start + timedelta(days=rng.randint(365, 900))
        return FamilyPlan(lab_index, index, start, closes if closes < today - timedelta(days=3) else None)

    def _cadence(self, plans: list[FamilyPlan]) -> float:
        """Days between assessments, chosen so the ratings come out near the scale's target."""
        # ratings per day of history: ~6.3 applicable themes × ~2.15 perspectives, and the gaps between
        # assessments are drawn around the cadence (observed: 1.22 times the naive estimate)
        per_day = sum(p.history_days(self.today) for p in plans) * 6.3 * 2.15 * 1.22
        return min(63.0, max(21.0, per_day / self.scale.theme_ratings))

    def _spend_rate(self, plans: list[FamilyPlan]) -> float:
        """Spend requests per family-year of history, chosen to meet the scale's target."""
        years = sum(p.history_days(self.today) for p in plans) / 365
        return self.scale.spend_requests / max(years, 1)

    # --- one lab ---------------------------------------------------------------------------------

    def _lab(self, lab_index: int, plans: list[FamilyPlan], cadence: float, spend_rate: float) -> None:
        rng, today = self.rng, self.today
        t: dict[str, list] = defaultdict(list)
        lab_id = self.next_id("lab")
        created = _at(today - timedelta(days=self.scale.years * 365 + 30), rng)
        municipality = MUNICIPALITIES[lab_index % len(MUNICIPALITIES)]
        t["lab"].append((lab_id, f"bench-{lab_index + 1}", f"Velferdslab {municipality} {lab_index + 1}",
                         municipality, 15, created))
        agencies = []
        for name, kind in AGENCIES:
            agency_id = self.next_id("agency")
            agencies.append(agency_id)
            t["agency"].append((agency_id, lab_id, name, kind, True))

        def user(role: str, number: int, agency_id: int | None, roles: tuple[str, ...]) -> int:
            user_id = self.next_id("user_account")
            email = f"{role}{number}.lab{lab_index + 1}@{EMAIL_DOMAIN}"
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            t["user_account"].append((user_id, lab_id, agency_id, name, email, self.password_hash, True, None,
                                      created, created))
            t["user_role"].extend((user_id, r) for r in roles)
            return user_id

        admin = user("admin", 1, None, ("admin",))
        managers = [user("leder", n + 1, agencies[n % len(agencies)], ("manager",)) for n in range(2)]
        self.users.manager_ids[lab_id] = managers[0]
        others = [p for p in plans if not p.bench]
        n_leads = max(2, math.ceil(len(others) / 40))
        lead_agencies = [rng.choice(agencies) for _ in range(n_leads)]
        leads = [(user("teamleder", n + 1, a, ("team_lead",)), a) for n, a in enumerate(lead_agencies)]
        bench_lead = None
        if lab_index == 0:
            bench_lead = (user("benkeleder", 1, agencies[0], ("team_lead",)), agencies[0])
            self.users.lead_id = bench_lead[0]
            self.users.lead_email = f"benkeleder1.lab1@{EMAIL_DOMAIN}"
        self.users.lead_ids.extend(uid for uid, _a in leads)
        per_agency = max(3, math.ceil(len(plans) * 4 / len(agencies) / 25))
        caseworkers = {a: [user("saksbehandler", n + 1 + i * per_agency, a, ("caseworker",))
                           for n in range(per_agency)] for i, a in enumerate(agencies)}
        self.lab_staff[lab_id] = [(admin, None, "admin")] + [(m, None, "manager") for m in managers]

        rule_set = self.next_id("authority_rule_set")
        t["authority_rule_set"].append((rule_set, lab_id, 1, "Standardregler", None, created))
        rules = []
        for role, limit, approvals in DEFAULT_RULES:
            rule_id = self.next_id("authority_rule")
            rules.append(rule_id)
            t["authority_rule"].append((rule_id, rule_set, role, None, limit, None, approvals))

        ledger = _Ledger(self, lab_id, t)
        started = time.perf_counter()
        for n, plan in enumerate(plans, start=1):
            if plan.bench:
                lead = bench_lead
            else:
                lead = leads[plan.index % n_leads]
            self._family(lab_id, plan, lead, agencies, caseworkers, managers, rules, cadence, spend_rate, t,
                         ledger)
            if n % CHUNK_FAMILIES == 0 and n < len(plans):
                # Every row so far refers only to rows of earlier tables or earlier rounds; the
                # ledger's transfers (and the delegations) wait for ``finish``, as in one round.
                self._flush(t)
                self.log(f"    lab {lab_index + 1}: {n:,}/{len(plans):,} families loaded "
                         f"({time.perf_counter() - started:.0f} s)")
        ledger.finish(agencies, managers[0])
        self._flush(t)
        if len(plans) > CHUNK_FAMILIES:
            self.log(f"    lab {lab_index + 1}: ledger and the rest loaded ({time.perf_counter() - started:.0f} s)")

    def _flush(self, t: dict[str, list]) -> None:
        for table, columns in TABLES:
            if t.get(table):
                self.copy(table, columns, t[table])
                t[table].clear()

    # --- one family ------------------------------------------------------------------------------

    def _family(self, lab_id, plan: FamilyPlan, lead, agencies, caseworkers, managers, rules, cadence, spend_rate,
                t, ledger) -> None:
        rng = self.rng
        family_id = self.next_id("family")
        if plan.showcase:
            self.users.showcase_family_id = family_id
        if plan.bench:
            self.users.bench_family_ids.append(family_id)
        last_name = rng.choice(LAST_NAMES)
        created = _at(plan.start - timedelta(days=rng.randint(7, 60)), rng)
        language = rng.choice((None, None, None, "norsk", "arabisk", "somali", "polsk", "tigrinja"))
        t["family"].append((family_id, lab_id, f"Familien {last_name}", language,
                            language not in (None, "norsk") and rng.random() < 0.5, created, None, None))
        members = self._members(t, family_id, last_name, plan, created)
        contact = members[0][0]
        has_children = any(role in ("child", "young_person") for _m, role in members)
        themes = [c for c in THEME_CODES if has_children or c not in CHILD_THEMES]
        perspectives = ["team", "family"] + (["young_person"] if any(r == "young_person" for _m, r in members)
                                             else [])
        enrolment_id, staff, team_agencies = self._team(t, lab_id, family_id, plan, lead, agencies, caseworkers,
                                                        created)
        self._consents(t, family_id, plan, team_agencies, contact, staff[0][0], created)
        goals_by_theme, goal_ids = self._goals(t, family_id, plan, themes, staff[0][0])
        last_day = self._meetings(t, family_id, enrolment_id, plan, staff, contact, goal_ids, themes, perspectives,
                                  cadence)
        members_only = [s for s in staff if s[2] == "member"]
        self._spends(t, ledger, lab_id, family_id, plan, staff, members_only, managers, rules, goals_by_theme,
                     goal_ids, themes, spend_rate, team_agencies)
        self.family_staff.append((family_id, lab_id, plan.start.toordinal(), last_day.toordinal(),
                                  tuple((s[0], s[1], "team_lead" if s[2] == "lead" else "caseworker")
                                        for s in staff)))

    def _members(self, t, family_id, last_name, plan, created) -> list[tuple[int, str]]:
        """A single young person, or one or two parents with children; the first is the contact."""
        rng, year = self.rng, self.today.year
        members, names = [], set()

        def member(role: str, birth_year: int, contact: bool) -> None:
            first = rng.choice(FIRST_NAMES)
            while (first, birth_year) in names:
                first = rng.choice(FIRST_NAMES)
            names.add((first, birth_year))
            member_id = self.next_id("family_member")
            t["family_member"].append((member_id, family_id, first, last_name, birth_year, role, contact, created))
            members.append((member_id, role))

        if rng.random() < 0.15 and not plan.showcase:
            member("young_person", year - rng.randint(17, 24), True)
            return members
        member("parent", year - rng.randint(26, 52), True)
        if rng.random() < 0.45:
            member("parent", year - rng.randint(26, 55), False)
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 4)) or (2 if plan.showcase else 0)):
            age = rng.randint(1, 19)
            member("young_person" if age >= 16 else "child", year - age, False)
        return members

    def _team(self, t, lab_id, family_id, plan, lead, agencies, caseworkers, created):
        """The enrolment and its investment team: the lead plus caseworkers from 2–4 more agencies."""
        rng = self.rng
        enrolment_id = self.next_id("enrolment")
        referred = plan.start - timedelta(days=rng.randint(5, 45))
        status, close_reason = ("active", None) if plan.end is None else \
            ("closed", rng.choices(("goals_reached", "moved", "withdrew", "other"), (60, 15, 15, 10))[0])
        t["enrolment"].append((enrolment_id, family_id, lab_id, status, referred, rng.choice(agencies),
                               "Sammensatte behov på flere områder", plan.start, plan.end, close_reason, created))
        team_id = self.next_id("investment_team")
        t["investment_team"].append((team_id, lab_id, family_id, enrolment_id, created))
        lead_id, lead_agency = lead
        team_agencies = [lead_agency] + rng.sample([a for a in agencies if a != lead_agency], rng.randint(2, 4))
        staff = [(lead_id, lead_agency, "lead")]
        staff.extend((rng.choice(caseworkers[agency_id]), agency_id, "member") for agency_id in team_agencies[1:])
        if rng.random() < 0.5:
            staff.append((rng.choice(caseworkers[lead_agency]), lead_agency, "member"))
        for user_id, agency_id, role in staff:
            t["team_membership"].append((self.next_id("team_membership"), team_id, family_id, user_id, agency_id, role,
                                         plan.start, plan.end, created))
        return enrolment_id, staff, team_agencies

    def _consents(self, t, family_id, plan, team_agencies, contact, lead_id, created) -> None:
        """Consent for every agency on the team; now and then a withdrawal (a superseding row)."""
        rng = self.rng
        for agency_id in dict.fromkeys(team_agencies):
            consent_id = self.next_id("consent")
            t["consent"].append((consent_id, family_id, agency_id, "Samarbeid i velferdslabet", contact, plan.start,
                                 None, None, None, lead_id, created))
            # Every kind of information (issue 15): without categories the gate hides the family's
            # spends, goals and notes from the team, and every approval would be a 403.
            t["consent_category"].extend((consent_id, category) for category in CATEGORY_CODES)
            withdrawn = plan.start + timedelta(days=rng.randint(30, 200))
            if agency_id != team_agencies[0] and not plan.bench and rng.random() < 0.02 and withdrawn < self.today:
                withdrawal_id = self.next_id("consent")
                t["consent"].append((withdrawal_id, family_id, agency_id, "Samarbeid i velferdslabet",
                                     contact, plan.start, None, withdrawn, consent_id, lead_id, _at(withdrawn, rng)))
                t["consent_category"].extend((withdrawal_id, category) for category in CATEGORY_CODES)

    def _goals(self, t, family_id, plan, themes, lead_id):
        """The plan (*duken*): one or two goals per theme, in the family's own words."""
        rng = self.rng
        goals_by_theme: dict[str, list[int]] = defaultdict(list)
        goal_ids = []
        for theme in themes:
            for horizon in rng.sample(("short", "long", "dream"), rng.randint(1, 2)):
                goal_id = self.next_id("goal")
                status = "reached" if plan.end and rng.random() < 0.5 else "open"
                at = _at(plan.start, rng)
                t["goal"].append((goal_id, family_id, theme, horizon, GOAL_TEXT[theme][horizon], status, lead_id,
                                  at, at))
                goals_by_theme[theme].append(goal_id)
                goal_ids.append(goal_id)
        return goals_by_theme, goal_ids

    def _meeting_days(self, plan, cadence, last_day) -> list[tuple[date, bool]]:
        """(day, with an assessment) for every meeting; the showcase family gets the issue's three
        years: 36 monthly assessments and 40 meetings."""
        if plan.showcase:
            days = [plan.start + timedelta(days=round(i * 365 * 3 / 36)) for i in range(36)]
            extra = [plan.start + timedelta(days=round(i * 365 * 3 / 36) + 14) for i in range(4)]
            return sorted([(d, True) for d in days] + [(d, False) for d in extra])
        days, day = [], plan.start
        while day <= last_day:
            days.append((day, True))
            day += timedelta(days=max(14, round(self.rng.gauss(cadence, cadence * 0.2))))
        return days

    def _meetings(self, t, family_id, enrolment_id, plan, staff, contact, goal_ids, themes, perspectives,
                  cadence) -> date:
        """Meetings with the day's assessment and new actions, then the follow-ups after closure."""
        rng, today = self.rng, self.today
        lead_id = staff[0][0]
        members_only = [s for s in staff if s[2] == "member"]
        last_day = min(plan.end or today, today)
        meeting_days = self._meeting_days(plan, cadence, last_day)
        levels = {theme: _intake_level(rng) for theme in themes}
        actions_per_meeting = 5 if plan.showcase else None  # 5 × 40 meetings: the 200 actions
        for n, (day, with_assessment) in enumerate(meeting_days):
            meeting_id = self.next_id("meeting")
            next_on = day + timedelta(days=round(cadence)) if n == len(meeting_days) - 1 else meeting_days[n + 1][0]
            at = _at(day, rng)
            t["meeting"].append((meeting_id, family_id, enrolment_id, day, "Gjennomgang av planen.",
                                 "Fortsetter arbeidet.", next_on, lead_id, at))
            attending = [lead_id] + [s[0] for s in rng.sample(members_only, min(2, len(members_only)))]
            for user_id in dict.fromkeys(attending):
                t["meeting_attendee"].append((self.next_id("meeting_attendee"), meeting_id, user_id, None))
            t["meeting_attendee"].append((self.next_id("meeting_attendee"), meeting_id, None, contact))
            if with_assessment:
                if n:
                    levels = {theme: _step(level, rng) for theme, level in levels.items()}
                self._assessment(t, family_id, enrolment_id, meeting_id, day, "intake" if n == 0 else "regular",
                                 levels, perspectives, lead_id, at)
            for _ in range(actions_per_meeting or rng.choice((0, 1, 1, 2))):
                self._action(t, family_id, meeting_id, goal_ids, staff, day, lead_id)
        if plan.end is not None:
            for kind, months in (("follow_up_6", 6), ("follow_up_12", 12)):
                day = plan.end + timedelta(days=round(months * 30.4))
                if day <= today:
                    levels = {theme: _step(level, rng) for theme, level in levels.items()}
                    self._assessment(t, family_id, enrolment_id, None, day, kind, levels, ["team"], lead_id,
                                     _at(day, rng))
        return last_day

    def _assessment(self, t, family_id, enrolment_id, meeting_id, day, kind, levels, perspectives, lead_id,
                    at) -> None:
        rng = self.rng
        suggested = suggest_overall_level(list(levels.values()))
        corrected = kind == "regular" and rng.random() < 0.01
        versions = [1, 2] if corrected else [1]
        previous = None
        for version in versions:
            assessment_id = self.next_id("journey_assessment")
            overall, override = suggested, None
            if rng.random() < 0.03:
                overall = max(1, min(4, suggested + rng.choice((-1, 1))))
                override = None if overall == suggested else "Teamets helhetsvurdering"
            current = version == versions[-1]
            t["journey_assessment"].append((
                assessment_id, family_id, enrolment_id, meeting_id, day, kind, version, previous, current, overall,
                suggested, override, "Rettet tastefeil" if version > 1 else None, lead_id, at))
            for theme, level in levels.items():
                for perspective in perspectives:
                    rated = level if perspective == "team" or rng.random() < 0.7 else \
                        max(1, min(4, level + rng.choice((-1, 1))))
                    note = "Følges opp i neste møte" if rng.random() < 0.1 else None
                    t["theme_rating"].append((self.next_id("theme_rating"), assessment_id, theme, perspective, rated,
                                              note))
            previous = assessment_id

    def _action(self, t, family_id, meeting_id, goal_ids, staff, day, lead_id) -> None:
        rng, today = self.rng, self.today
        due = day + timedelta(days=rng.randint(10, 60))
        if due < today - timedelta(days=30):
            status = rng.choices(("done", "dropped", "in_progress"), (80, 10, 10))[0]
        else:
            status = rng.choice(("planned", "in_progress"))
        owner = None if rng.random() < 0.3 else rng.choice(staff)[0]
        at = _at(day, rng)
        t["action"].append((self.next_id("action"), family_id, rng.choice(goal_ids) if goal_ids else None, meeting_id,
                            rng.choice(ACTION_TITLES), owner, owner is None, due, due + timedelta(days=14), status,
                            lead_id, at, at))

    # --- spend requests and the ledger ------------------------------------------------------------

    def _spends(self, t, ledger, lab_id, family_id, plan, staff, members_only, managers, rules, goals_by_theme,
                goal_ids, themes, spend_rate, team_agencies) -> None:
        rng, today = self.rng, self.today
        last_day = min(plan.end or today, today)
        expected = spend_rate * plan.history_days(today) / 365
        count = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
        lead_id = staff[0][0]
        requesters = [s[0] for s in members_only] or [lead_id]
        spends = []
        span = max(1, (last_day - plan.start).days)
        for _ in range(count):
            category = rng.choices(tuple(CATEGORIES), CATEGORY_WEIGHTS)[0]
            theme, low, high = CATEGORIES[category]
            if theme not in themes:
                theme = rng.choice(themes)
            amount = round(math.exp(rng.uniform(math.log(low), math.log(high)))) * KR
            if rng.random() < 0.03:
                amount = rng.randint(50_001, 200_000) * KR  # above the lead's limit: management decides
            wanted = plan.start + timedelta(days=rng.randint(0, span))
            created = _at(wanted - timedelta(days=rng.randint(1, 14)), rng)
            recent = (today - wanted).days < 45 and plan.end is None
            if recent:
                status = rng.choices(("requested", "approved", "paid", "draft", "rejected"), (40, 20, 25, 10, 5))[0]
            else:
                status = rng.choices(("paid", "rejected", "cancelled", "approved", "draft"), (82, 8, 6, 2, 2))[0]
            spends.append((created, wanted, amount, category, theme, status))
        spends.sort()
        now = datetime.now(UTC) - timedelta(minutes=2)
        for created, wanted, amount, category, theme, status in spends:
            spend_id = self.next_id("spend_request")
            route = "management" if amount > 50_000 * KR else "team"
            approver, role, rule = (lead_id, "team_lead", rules[0]) if route == "team" else \
                (rng.choice(managers), "manager", rules[1])
            requester = rng.choice(requesters)
            goal_id = rng.choice(goals_by_theme.get(theme) or goal_ids)
            cancelled_after_approval = status == "cancelled" and rng.random() < 0.5
            reserves = status in ("approved", "paid") or cancelled_after_approval
            decides = status in ("approved", "paid", "rejected") or cancelled_after_approval
            submitted = None if status == "draft" else min(now, created + timedelta(hours=rng.randint(1, 48)))
            decided = min(now, submitted + timedelta(hours=rng.randint(2, 120))) if decides else None
            paid_on = min(today, max(wanted, decided.date())) if status == "paid" else None
            cancelled_at = min(now, (decided or submitted or created) + timedelta(days=rng.randint(1, 20))) \
                if status == "cancelled" else None
            level_to = rng.randint(2, 4)
            t["spend_request"].append((
                spend_id, lab_id, family_id, wanted.year, requester, amount, rng.choice(PAYEES[category]),
                PURPOSES[category], category, theme, goal_id, "Mer stabil situasjon for familien",
                rng.choice((None, max(1, level_to - 1))), level_to, wanted, status,
                None if submitted is None else route, role if reserves else None, created, submitted, decided,
                "Ikke innenfor familiens mål" if status == "rejected" else None, paid_on,
                f"BILAG-{spend_id}" if paid_on else None, approver if paid_on else None, cancelled_at,
                "Behovet falt bort" if status == "cancelled" else None, requester if status == "cancelled" else None,
                1))
            if decides:
                decision = "reject" if status == "rejected" else "approve"
                t["spend_decision"].append((self.next_id("spend_decision"), spend_id, decision, approver, role,
                                            rule if decision == "approve" else None,
                                            1 if decision == "approve" else None, True,
                                            "Ikke innenfor familiens mål" if decision == "reject" else None, decided))
            ledger.categories[spend_id] = category
            ledger.spend(family_id, wanted.year, spend_id, amount, status, reserves, cancelled_after_approval,
                         decided, paid_on, cancelled_at, approver)
        ledger.close_family(family_id, plan, team_agencies, lead_id)

    # --- the audit trail -------------------------------------------------------------------------

    def _audit_trail(self) -> None:
        """``scale.audit_events`` events over the history, day by day, sealed into one chain."""
        rng, today = self.rng, self.today
        first = today - timedelta(days=self.scale.years * 365)
        days = [first + timedelta(days=n) for n in range((today - first).days)]
        weights = [1.0 if d.weekday() < 5 else 0.08 for d in days]
        per_weight = self.scale.audit_events / sum(weights)
        staff = self.family_staff
        actions = (("family.view", "familieside", 46), ("family.list", "mine familier", 30),
                   ("family.view", "api", 6), ("assessment.read", None, 4), ("spend.read", "budsjett", 4),
                   ("meeting.create", None, 2), ("action.update", None, 3), ("spend.queue_view", "godkjenning", 2),
                   ("auth.login", None, 3))
        names = [a[0] for a in actions]
        weights_a = [a[2] for a in actions]
        seq, prev, carry = 0, GENESIS, 0.0
        columns = ("id", "occurred_at", "lab_id", "actor_id", "actor_role", "agency_id", "family_id", "action",
                   "object_type", "object_id", "purpose", "request_id", "address", "summary", "chain_seq",
                   "prev_hash", "hash")
        started = time.perf_counter()
        with self.conn.cursor() as cursor:
            # The app refuses pre-sealed inserts (it seals at commit); this load seals the chain itself,
            # so the owner switches that one trigger off for the load, in the load's transaction.
            cursor.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_presealed")
            with cursor.copy(f"COPY audit_event ({', '.join(columns)}) FROM STDIN") as copy:  # noqa: S608
                for day, weight in zip(days, weights, strict=True):
                    carry += weight * per_weight
                    n, carry = int(carry), carry - int(carry)
                    ordinal = day.toordinal()
                    events = []
                    tries = 0
                    while len(events) < n and tries < n * 20:
                        tries += 1
                        family_id, lab_id, start, end, team = staff[rng.randrange(len(staff))]
                        if not start <= ordinal <= end + 400:
                            continue
                        index = rng.choices(range(len(names)), weights_a)[0]
                        action = names[index]
                        purpose = actions[index][1]
                        actor, agency, role = team[rng.randrange(len(team))]
                        moment = _at(day, rng, night=rng.random() < 0.01)
                        if action == "auth.login":
                            events.append((moment, lab_id, actor, role, agency, None, action, "user", str(actor),
                                           None, None))
                        else:
                            summary = '{"gated":false}' if action.startswith("family.") else None
                            events.append((moment, lab_id, actor, role, agency, family_id, action, "family",
                                           str(family_id), purpose, summary))
                    carry += n - len(events)  # a day with too few active families passes its share on
                    events.sort(key=lambda e: e[0])
                    for moment, lab_id, actor, role, agency, family_id, action, object_type, object_id, purpose, \
                            summary in events:
                        seq += 1
                        request_id = f"{rng.getrandbits(128):032x}"
                        address = f"10.{lab_id % 250}.{actor % 250}.{actor // 250 % 250}"
                        stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                        digest = chain_hash(prev, event_bytes((seq, seq, stamp, lab_id, actor, role, agency,
                                                              family_id, action, object_type, object_id, purpose,
                                                              request_id, address, summary)))
                        copy.write_row((seq, moment, lab_id, actor, role, agency, family_id, action, object_type,
                                        object_id, purpose, request_id, address, summary, seq, prev, digest))
                        prev = digest
                    if day.day == 1 and day.month in (1, 7):
                        self.log(f"  audit trail: {seq:,} events up to {day} ({time.perf_counter() - started:.0f} s)")
        self.counts["audit_event"] = seq
        self.ids["audit_event"] = seq
        with self.conn.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_presealed")
            cursor.execute("UPDATE audit_chain_head SET seq = %s, hash = %s WHERE id = 1 AND seq < %s",
                           (seq, prev, seq))

    def _reset_sequences(self) -> None:
        with self.conn.cursor() as cursor:
            for table, columns in TABLES + (("audit_event", ("id",)),):
                if columns[0] != "id":
                    continue
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table,))
                sequence = cursor.fetchone()[0]
                if sequence:
                    cursor.execute(f"SELECT setval(%s, GREATEST(COALESCE((SELECT max(id) FROM {table}), 0), 1))",  # noqa: S608
                                   (sequence,))


class _Ledger:
    """The lab's ledger, kept in Python while the lab is generated and loaded in a safe order."""

    def __init__(self, gen: Generator, lab_id: int, t) -> None:
        self.gen, self.lab_id, self.t = gen, lab_id, t
        self.accounts: dict[tuple, int] = {}
        self.balance: dict[int, int] = defaultdict(int)
        self.delegation_transfers: list = []
        self.allocation_transfers: list = []
        self.spend_transfers: list = []
        # One voucher line per payment transfer (issue 17), numbered once the transfers are.
        self.vouchers: list = []
        self.categories: dict[int, str] = {}
        self.pool_use: Counter = Counter()  # (agency, year) -> allocated
        self.family_years: dict[tuple[int, int], list] = defaultdict(list)  # pending spends per family-year

    def account(self, kind: str, year: int, agency_id: int, family_id: int | None, at: datetime) -> int:
        key = (kind, year, agency_id, family_id)
        found = self.accounts.get(key)
        if found is None:
            found = self.accounts[key] = self.gen.next_id("ledger_account")
            self.t["ledger_account"].append((found, self.lab_id, year, kind, agency_id, family_id,
                                             account_code(kind, year, agency_id, family_id), 0, at))
        return found

    def transfer(self, bucket: list, kind: str, debit: int, credit: int, amount: int, at: datetime,
                 spend_id: int | None = None, delegation_id: int | None = None, actor: int | None = None) -> None:
        bucket.append([None, self.lab_id, kind, debit, credit, amount, spend_id, delegation_id, actor, at])

    def spend(self, family_id, year, spend_id, amount, status, reserves, cancelled_after_approval, decided, paid_on,
              cancelled_at, approver) -> None:
        self.family_years[(family_id, year)].append((spend_id, amount, status, reserves, cancelled_after_approval,
                                                     decided, paid_on, cancelled_at, approver))

    def close_family(self, family_id: int, plan: FamilyPlan, team_agencies: list[int], lead_id: int) -> None:
        """Allocate each budget year enough for the family's spends, then reserve, pay and release."""
        rng = self.gen.rng
        last = (plan.end or self.gen.today).year
        for year in range(plan.start.year, last + 1):
            spends = self.family_years.pop((family_id, year), [])
            needed = sum(s[1] for s in spends if s[3] or s[2] == "requested")
            total = max(rng.randint(50, 250) * 1000 * KR, math.ceil(needed * 1.15 / 100_000) * 100_000)
            split = [team_agencies[0]] if rng.random() < 0.6 else team_agencies[:2]
            when = datetime(year, 1, 2, 9, tzinfo=UTC) if year > plan.start.year else \
                datetime.combine(plan.start - timedelta(days=20), datetime.min.time(), UTC) + timedelta(hours=9)
            allocations = {}
            for i, agency_id in enumerate(split):
                part = total // len(split) + (total % len(split) if i == 0 else 0)
                pool = self.account("pool", year, agency_id, None, when)
                allocation = self.account("allocation", year, agency_id, family_id, when)
                self.transfer(self.allocation_transfers, "allocation", pool, allocation, part, when)
                self.pool_use[(agency_id, year)] += part
                self.balance[allocation] += part
                allocations[agency_id] = allocation
            largest = max(allocations, key=lambda agency_id: self.balance[allocations[agency_id]])
            for spend_id, amount, _status, reserves, cancelled, decided, paid_on, cancelled_at, approver in spends:
                if not reserves:
                    # Never reserved: funded in full by the agency of the family's largest allocation.
                    self.t["spend_funding"].append((self.gen.next_id("spend_funding"), spend_id, largest, amount))
                    continue
                parts = []
                remaining = amount
                for agency_id, allocation in sorted(allocations.items(), key=lambda kv: (-self.balance[kv[1]], kv[0])):
                    take = min(remaining, self.balance[allocation])
                    if take <= 0:
                        break
                    committed = self.account("committed", year, agency_id, family_id, decided)
                    self.transfer(self.spend_transfers, "reserve", allocation, committed, take, decided, spend_id,
                                  actor=approver)
                    self.balance[allocation] -= take
                    parts.append((agency_id, allocation, committed, take))
                    remaining -= take
                assert remaining == 0, "generated spend exceeds the family's allocation"
                for agency_id, allocation, committed, take in parts:
                    # The funding names what was reserved from each agency.
                    self.t["spend_funding"].append((self.gen.next_id("spend_funding"), spend_id, agency_id, take))
                    if paid_on is not None:
                        paid = self.account("paid", year, agency_id, family_id, decided)
                        at = max(decided, datetime.combine(paid_on, datetime.min.time(), UTC) + timedelta(hours=12))
                        self.transfer(self.spend_transfers, "payment", committed, paid, take, at, spend_id,
                                      actor=approver)
                        self.vouchers.append((self.spend_transfers[-1], agency_id, spend_id, year, paid_on, take,
                                              at))
                    elif cancelled:
                        self.transfer(self.spend_transfers, "release", committed, allocation, take, cancelled_at,
                                      spend_id, actor=approver)
                        self.balance[allocation] += take

    def finish(self, agencies: list[int], manager_id: int) -> None:
        """Delegations that cover what was allocated from each pool, then every transfer in a safe order."""
        for (agency_id, year), used in sorted(self.pool_use.items()):
            amount = math.ceil(used * 1.1 / 100_000_000) * 100_000_000  # rounded up to a million kroner
            decided = date(year, 1, 5)
            at = datetime(year, 1, 5, 9, tzinfo=UTC)
            delegation_id = self.gen.next_id("budget_delegation")
            self.t["budget_delegation"].append((delegation_id, self.lab_id, agency_id, year, amount,
                                                f"Vedtak {year}/{agency_id}", decided, manager_id, at))
            delegation = self.account("delegation", year, agency_id, None, at)
            pool = self.account("pool", year, agency_id, None, at)
            self.transfer(self.delegation_transfers, "delegation", delegation, pool, amount, at,
                          delegation_id=delegation_id, actor=manager_id)
        for bucket in (self.delegation_transfers, self.allocation_transfers, self.spend_transfers):
            for row in bucket:
                row[0] = self.gen.next_id("ledger_transfer")
                self.t["ledger_transfer"].append(tuple(row))
        for row, agency_id, spend_id, year, paid_on, amount, at in self.vouchers:
            # No accounting codes yet: a lab sets them (budget.books.save_codes), which fills the lines.
            self.t["voucher_line"].append((self.gen.next_id("voucher_line"), self.lab_id, agency_id, spend_id, row[0],
                                           "payment", year, f"{paid_on:%Y-%m}", paid_on, amount,
                                           self.categories[spend_id], None, None, None, None, at))


GOAL_TEXT = {
    "bolig": {"short": "Finne en leilighet vi har råd til", "long": "Bo trygt i samme bolig i flere år",
              "dream": "Eget hus med hage"},
    "arbeid": {"short": "Fullføre kurset", "long": "Fast jobb", "dream": "Starte egen bedrift"},
    "skole": {"short": "Møte på skolen hver dag", "long": "Bestå tiende klasse", "dream": "Bli sykepleier"},
    "nettverk": {"short": "Bli med i en forening", "long": "Ha noen å ringe", "dream": "Mange gode venner"},
    "okonomi": {"short": "Lage et budsjett", "long": "Bli gjeldfri", "dream": "Spare til ferie"},
    "helse": {"short": "Fastlege og time", "long": "Sove godt om natten", "dream": "Løpe et maraton"},
    "oppvekst": {"short": "Barna på fotball", "long": "Trygg hverdag for barna", "dream": "Familietur til Syden"},
}
ACTION_TITLES = ("Ringe utleier", "Søke barnehageplass", "Melde på kurs", "Avtale time hos fastlege",
                 "Lage budsjett sammen", "Søke om startlån", "Kontakte skolen", "Finne fritidsaktivitet",
                 "Følge opp NAV-søknad", "Skaffe busskort")
PAYEES = {c: (f"{c.replace('_', ' ').title()} AS", "Kommunen", "Leverandør AS") for c in CATEGORIES}
PURPOSES = {
    "deposit": "Depositum for leilighet", "moving": "Flyttebil og hjelp", "furniture": "Seng og bord",
    "debt_settlement": "Nedbetaling av inkassogjeld", "course_licence": "Førerkort klasse B",
    "equipment": "PC til skolearbeid", "transport": "Månedskort buss", "children_leisure": "Fotballkontingent",
    "childcare": "Barnepass under kurs", "other": "Annet tiltak",
}

TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("lab", ("id", "slug", "name", "municipality", "consent_age", "created_at")),
    ("agency", ("id", "lab_id", "name", "kind", "active")),
    ("user_account", ("id", "lab_id", "agency_id", "name", "email", "password_hash", "active", "locale",
                      "password_changed_at", "created_at")),
    ("user_role", ("user_id", "role")),
    ("family", ("id", "lab_id", "household_name", "language", "interpreter_needed", "created_at", "restricted_at",
                "erased_at")),
    ("family_member", ("id", "family_id", "first_name", "last_name", "birth_year", "role", "is_contact",
                       "created_at")),
    ("enrolment", ("id", "family_id", "lab_id", "status", "referred_on", "referred_by_agency_id", "referral_reason",
                   "started_on", "closed_on", "close_reason", "created_at")),
    ("investment_team", ("id", "lab_id", "family_id", "enrolment_id", "created_at")),
    ("team_membership", ("id", "team_id", "family_id", "user_id", "agency_id", "role", "start_date", "end_date",
                         "created_at")),
    ("consent", ("id", "family_id", "agency_id", "purpose", "given_by_member_id", "given_on", "expires_on",
                 "withdrawn_on", "supersedes_id", "recorded_by_id", "recorded_at")),
    ("consent_category", ("consent_id", "category")),
    ("goal", ("id", "family_id", "theme", "horizon", "text", "status", "created_by_id", "created_at", "updated_at")),
    ("meeting", ("id", "family_id", "enrolment_id", "held_on", "notes", "decisions", "next_meeting_on",
                 "created_by_id", "created_at")),
    ("meeting_attendee", ("id", "meeting_id", "user_id", "member_id")),
    ("journey_assessment", ("id", "family_id", "enrolment_id", "meeting_id", "assessed_on", "kind", "version",
                            "supersedes_id", "is_current", "overall_level", "suggested_level", "override_reason",
                            "correction_reason", "created_by_id", "created_at")),
    ("theme_rating", ("id", "assessment_id", "theme", "perspective", "level", "note")),
    ("action", ("id", "family_id", "goal_id", "meeting_id", "title", "owner_user_id", "owner_is_family", "due_on",
                "review_on", "status", "created_by_id", "created_at", "updated_at")),
    ("authority_rule_set", ("id", "lab_id", "version", "note", "created_by_id", "created_at")),
    ("authority_rule", ("id", "rule_set_id", "role", "agency_id", "max_per_spend", "max_per_family_year",
                        "approvals_required")),
    ("ledger_account", ("id", "lab_id", "year", "kind", "agency_id", "family_id", "code", "balance", "created_at")),
    ("budget_delegation", ("id", "lab_id", "agency_id", "year", "amount", "decision_reference", "decided_on",
                           "created_by_id", "created_at")),
    ("spend_request", ("id", "lab_id", "family_id", "budget_year", "requester_id", "amount", "payee", "purpose",
                       "category", "theme", "goal_id", "expected_effect", "level_from", "level_to", "wanted_on",
                       "status", "route", "approved_role", "created_at", "submitted_at", "decided_at",
                       "rejection_reason", "paid_on", "payment_reference", "paid_by_id", "cancelled_at",
                       "cancellation_reason", "cancelled_by_id", "version")),
    ("spend_funding", ("id", "spend_request_id", "agency_id", "amount")),
    ("spend_decision", ("id", "spend_request_id", "decision", "user_id", "role", "rule_id", "rule_version", "final",
                        "reason", "created_at")),
    ("ledger_transfer", ("id", "lab_id", "kind", "debit_account_id", "credit_account_id", "amount",
                         "spend_request_id", "delegation_id", "created_by_id", "created_at")),
    ("voucher_line", ("id", "lab_id", "agency_id", "spend_request_id", "transfer_id", "kind", "budget_year", "period",
                      "voucher_date", "amount", "category", "ansvar", "funksjon", "art", "prosjekt", "created_at")),
)
