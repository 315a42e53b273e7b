"""*Mine familier* sorted and filtered, and *Mine oppgaver* (issue 13, "My work, across families"):
the queries (sorting, filtering, gated families without content, closed families apart, only the
user's own families), the pages, their audit (one bulk write) and their statement counts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from tests import factories
from tests.budget import factories as money
from velferdslab.audit.models import AuditEvent
from velferdslab.budget import queries as budget_queries
from velferdslab.budget import services as budget_services
from velferdslab.cases.meetings.models import Meeting
from velferdslab.cases.overview import queries
from velferdslab.cases.overview.queries import FamilyListing
from velferdslab.cases.plan.models import Action
from velferdslab.cases.themes import THEMES
from velferdslab.dashboard import tasks
from velferdslab.dashboard.tasks import TaskListing
from velferdslab.extensions import db

KR = 100


def _levels(level: int) -> dict[str, int]:
    return {t.code: level for t in THEMES}


def _action(family, title, owner=None, due=None, status="planned"):
    row = Action(family_id=family.id, title=title, owner_user_id=owner.id if owner else None,
                 owner_is_family=owner is None, due_on=due, status=status)
    db.session.add(row)
    db.session.flush()
    return row


def _meeting(family, held_on, next_on):
    enrolment = factories.current_enrolment(family)
    db.session.add(Meeting(family_id=family.id, enrolment_id=enrolment.id, held_on=held_on, next_meeting_on=next_on))
    db.session.flush()


class Work:
    """The world's families and four more for the caseworker Mona (bolig): one low and falling
    with actions, one rising with a meeting planned, one closed, one without consent for bolig."""

    def __init__(self, world):
        today = self.today = world.today
        self.world = world
        start = today - timedelta(days=200)
        self.low = factories.family(world.lab, name="Familien Aas", agency=world.nav, started_on=start,
                                    referred_on=start - timedelta(days=5))
        self.up = factories.family(world.lab, name="Familien Dahl", agency=world.nav, started_on=start,
                                   referred_on=start - timedelta(days=5))
        self.closed = factories.family(world.lab, name="Familien Lukket", agency=world.nav, started_on=start,
                                       referred_on=start - timedelta(days=5))
        self.gated = factories.family(world.lab, name="Familien Skjult", agency=world.nav, started_on=start,
                                      referred_on=start - timedelta(days=5))
        for family in (self.low, self.up, self.closed, self.gated):
            factories.team_member(family, world.member, start=start)
            factories.consent(family, world.nav, given_on=start)
        for family in (self.low, self.up, self.closed):
            factories.consent(family, world.bolig, given_on=start)
        # world.lead leads two of them as well: Berg (the world's) and Aas.
        factories.team_member(self.low, world.lead, "lead", start=start)
        factories.team_member(self.gated, world.lead, "lead", start=start)
        enrolment = factories.current_enrolment(self.closed)
        enrolment.status, enrolment.closed_on, enrolment.close_reason = "closed", today - timedelta(days=10), "moved"
        factories.assessment(self.low, _levels(2), assessed_on=today - timedelta(days=40))
        factories.assessment(self.low, _levels(1), assessed_on=today - timedelta(days=20))
        factories.assessment(self.up, _levels(2), assessed_on=today - timedelta(days=40))
        factories.assessment(self.up, _levels(3), assessed_on=today - timedelta(days=20))
        factories.assessment(self.gated, _levels(4), assessed_on=today - timedelta(days=20))
        self.overdue = _action(self.low, "Ringe utleier", world.member, today - timedelta(days=5))
        self.coming = _action(self.up, "Søke barnehageplass", world.member, today + timedelta(days=10))
        _action(self.low, "Familiens eget tiltak", None, today - timedelta(days=3))
        _action(self.low, "Ivars tiltak", world.lead, today - timedelta(days=3))
        _action(self.low, "Ferdig tiltak", world.member, today - timedelta(days=30), status="done")
        _action(self.gated, "Hemmelig tiltak", world.member, today - timedelta(days=9))
        _meeting(self.up, today - timedelta(days=20), today + timedelta(days=7))
        _meeting(self.gated, today - timedelta(days=20), today + timedelta(days=3))
        # Another team's family, with an action owned by Mona's namesake-free colleague.
        _action(world.other_family, "Annen families tiltak", world.other_lead, today - timedelta(days=1))
        db.session.flush()


@pytest.fixture
def work(world):
    return Work(world)


def names(rows) -> list[str]:
    return [s.family.household_name for s in rows]


# --- Mine familier: the queries -------------------------------------------------------------------

def test_only_the_users_own_families_are_listed(work):
    listed = queries.arrange_families(queries.my_families(work.world.member), FamilyListing())
    assert set(names(listed[0] + listed[1])) == {"Familien Berg", "Familien Aas", "Familien Dahl",
                                                  "Familien Lukket", "Familien Skjult"}
    assert names(queries.arrange_families(queries.my_families(work.world.outsider), FamilyListing())[0]) == []
    other = queries.arrange_families(queries.my_families(work.world.other_lead), FamilyListing())
    assert names(other[0]) == ["Familien Annen"]


def test_closed_families_are_listed_apart(work):
    active, closed = queries.arrange_families(queries.my_families(work.world.member), FamilyListing())
    assert names(closed) == ["Familien Lukket"]
    assert "Familien Lukket" not in names(active)


@pytest.mark.parametrize("args, expected", [
    ({"sorter": "familie"}, ["Familien Aas", "Familien Berg", "Familien Dahl", "Familien Skjult"]),
    ({"sorter": "familie", "rekkefolge": "synkende"}, ["Familien Skjult", "Familien Dahl", "Familien Berg",
                                                       "Familien Aas"]),
    # Level: Aas 1, Dahl 3; Berg has none yet, and Skjult's (4) is not shown to Mona: both last.
    ({"sorter": "niva"}, ["Familien Aas", "Familien Dahl", "Familien Berg", "Familien Skjult"]),
    ({"sorter": "niva", "rekkefolge": "synkende"}, ["Familien Dahl", "Familien Aas", "Familien Berg",
                                                    "Familien Skjult"]),
    ({"sorter": "trend"}, ["Familien Aas", "Familien Dahl", "Familien Berg", "Familien Skjult"]),
    ({"sorter": "mote"}, ["Familien Skjult", "Familien Dahl", "Familien Aas", "Familien Berg"]),
    # Overdue: Aas 1 action + Berg's regular assessment due; Dahl nothing; Skjult unknown (gated).
    ({"sorter": "forfalt", "rekkefolge": "synkende"}, ["Familien Aas", "Familien Berg", "Familien Dahl",
                                                       "Familien Skjult"]),
])
def test_mine_familier_sorts_by_each_column(work, args, expected):
    active, _closed = queries.arrange_families(queries.my_families(work.world.member),
                                               FamilyListing.from_args(MultiDict(args)))
    assert names(active) == expected


@pytest.mark.parametrize("args, expected_active, expected_closed", [
    ({"niva": "1"}, ["Familien Aas"], []),
    ({"niva": "4"}, [], []),  # Skjult is at 4, but Mona may not see its level: the filter never reveals it
    ({"trend": "opp"}, ["Familien Dahl"], []),
    ({"trend": "ned"}, ["Familien Aas"], []),
    ({"forfalt": "1"}, ["Familien Aas", "Familien Berg"], []),
    ({"mote": "planlagt"}, ["Familien Dahl", "Familien Skjult"], []),
    ({"mote": "ingen", "sorter": "familie"}, ["Familien Aas", "Familien Berg"], ["Familien Lukket"]),
    ({"status": "avsluttet"}, [], ["Familien Lukket"]),
    ({"status": "aktiv", "sorter": "familie"}, ["Familien Aas", "Familien Berg", "Familien Dahl", "Familien Skjult"],
     []),
    ({"niva": "9", "trend": "sideveis", "sorter": "drop table"}, None, ["Familien Lukket"]),  # ignored, not an error
])
def test_mine_familier_filters(work, args, expected_active, expected_closed):
    listing = FamilyListing.from_args(MultiDict(args))
    active, closed = queries.arrange_families(queries.my_families(work.world.member), listing)
    if expected_active is not None:
        assert names(active) == expected_active
    else:
        assert listing == FamilyListing() and len(active) == 4
    assert names(closed) == expected_closed


def test_the_listing_keeps_its_query_string():
    listing = FamilyListing.from_args(MultiDict({"sorter": "niva", "trend": "opp", "forfalt": "1"}))
    assert listing.params(rekkefolge="synkende") == {"sorter": "niva", "rekkefolge": "synkende", "trend": "opp",
                                                    "forfalt": "1"}
    assert FamilyListing().params() == {}


# --- Mine familier: the page ----------------------------------------------------------------------

def test_the_page_sorts_filters_and_marks_the_sorted_column(work, login):
    client = login(work.world.member)
    page = client.get("/familier?sorter=niva&rekkefolge=synkende&forfalt=1").get_data(as_text=True)
    assert page.count('aria-sort="descending"') == 1
    assert re.search(r'<th scope="col" aria-sort="descending">\s*<a class="sort-link" href="[^"]*sorter=niva', page)
    # The other headers keep the filter when they sort.
    assert re.search(r'href="/familier\?[^"]*forfalt=1[^"]*sorter=familie', page) or \
        re.search(r'href="/familier\?[^"]*sorter=familie[^"]*forfalt=1', page)
    body = page.split('id="my-families-h"')[1]
    assert body.index("Familien Aas") < body.index("Familien Berg")
    assert "Familien Dahl" not in body and "Familien Lukket" not in body
    assert 'id="f-forfalt" name="forfalt" value="1" checked' in page


def test_closed_families_have_their_own_table(work, login):
    page = login(work.world.member).get("/familier").get_data(as_text=True)
    active, closed = page.split('id="closed-families-h"')
    assert "Familien Lukket" in closed and "Familien Lukket" not in active.split('id="my-families-h"')[1]
    assert "Familien Aas" not in closed


def test_the_search_is_sorted_and_audited_per_hit(work, login):
    client = login(work.world.member)
    page = client.get("/familier?q=familien&sorter=familie&rekkefolge=synkende").get_data(as_text=True)
    body = page.split('id="my-families-h"')[1]
    assert body.index("Familien Skjult") < body.index("Familien Dahl") < body.index("Familien Aas")
    assert "Familien Annen" not in page  # exists, but Mona is not on its team
    assert 'href="/familier?q=familien&amp;sorter=niva"' in page  # the search is kept when sorting
    hits = db.session.scalars(select(AuditEvent.family_id).where(AuditEvent.action == "family.search_hit",
                                                                 AuditEvent.actor_id == work.world.member.id))
    assert sorted(hits) == sorted([work.world.family.id, work.low.id, work.up.id, work.closed.id, work.gated.id])


def test_the_header_search_is_there_for_family_work_only(work, login):
    page = login(work.world.member).get("/familier").get_data(as_text=True)
    form = re.search(r'<form method="get" action="([^"]+)" role="search" class="header-search"[^>]*>(.*?)</form>',
                     page, re.S)
    assert form is not None and form.group(1) == "/familier"
    assert '<label for="header-q"' in form.group(2) and 'id="header-q" name="q"' in form.group(2)
    manager = login(work.world.manager).get("/").get_data(as_text=True)
    assert 'class="header-search"' not in manager


# --- Mine oppgaver: the queries -------------------------------------------------------------------

def _spends(work):
    """Three spend requests by Mona in Aas: a draft, one in the lead's queue, one for management."""
    world = work.world
    money.delegate(world.lab, world.nav, 2_000_000 * KR)
    budget_services.allocate(world.lab, family_id=work.low.id, agency_id=world.nav.id, year=money.year(),
                             amount=600_000 * KR, actor=None)
    goal = factories.goal(work.low, theme="bolig")
    data = {"payee": "Utleier AS", "purpose": "Depositum", "category": "deposit", "theme": "bolig",
            "goal_id": goal.id, "expected_effect": "Stabil bolig", "level_from": 1, "level_to": 3,
            "wanted_on": work.today + timedelta(days=14)}
    draft = budget_services.create_spend(work.low.id, world.member, {**data, "amount": 1_000 * KR}, submit=False)
    team = budget_services.create_spend(work.low.id, world.member, {**data, "amount": 18_500 * KR}, submit=True)
    big = budget_services.create_spend(work.low.id, world.member, {**data, "amount": 200_000 * KR}, submit=True)
    return draft, team, big


def test_mine_oppgaver_lists_own_actions_due_assessments_and_meetings(work):
    page = tasks.read_my_tasks(work.world.member, TaskListing())
    actions = [i for i in page.items if i.kind == "tiltak"]
    assert [(i.title, i.overdue) for i in actions] == [("Ringe utleier", True), ("Søke barnehageplass", False)]
    assert {i.family.household_name for i in page.items if i.kind == "vurdering"} == {"Familien Berg"}
    meetings = [(i.family.household_name, i.on) for i in page.items if i.kind == "mote"]
    assert meetings == [("Familien Skjult", work.today + timedelta(days=3)),
                        ("Familien Dahl", work.today + timedelta(days=7))]
    # Sorted by date by default, overdue first.
    dates = [i.on for i in page.items if i.on]
    assert dates == sorted(dates)


def test_a_gated_family_shows_only_its_meeting(work, count_queries):
    with count_queries() as counter:
        page = tasks.read_my_tasks(work.world.member, TaskListing())
    skjult = [i for i in page.items if i.family.id == work.gated.id]
    assert [i.kind for i in skjult] == ["mote"] and all(i.title is None for i in skjult)
    assert "Hemmelig tiltak" not in {i.title for i in page.items}
    assert [s.family.household_name for s in page.gated_families] == ["Familien Skjult"]
    # The action query never asks for the gated family's actions.
    action_sql = [s for s in counter.statements if "FROM action" in s and "owner_user_id" in s]
    assert len(action_sql) == 1


def test_another_users_families_and_actions_never_appear(work):
    page = tasks.read_my_tasks(work.world.member, TaskListing())
    assert work.world.other_family.id not in {i.family.id for i in page.items}
    assert "Ivars tiltak" not in {i.title for i in page.items}
    assert "Familiens eget tiltak" not in {i.title for i in page.items}
    assert tasks.read_my_tasks(work.world.outsider, TaskListing()).items == []


def test_spend_requests_say_whom_they_wait_for_by_name(work):
    draft, team, big = _spends(work)
    page = tasks.read_my_tasks(work.world.member, TaskListing(kind="utgift"))
    rows = {i.spend.spend.id: i.spend for i in page.items}
    assert set(rows) == {draft.id, team.id, big.id} and all(i.kind == "utgift" for i in page.items)
    assert rows[draft.id].step == "submit" and rows[draft.id].waits_for_you
    assert rows[team.id].step == "decide" and rows[team.id].waits_for == ["Ivar Leder"]
    assert rows[team.id].status_label == "Til godkjenning"
    assert rows[big.id].step == "decide" and rows[big.id].waits_for == ["Lene Ledelse"]
    # Approved by the lead: now it waits for payment, by the lead.
    budget_services.approve_spend(team.id, work.world.lead)
    again = {r.spend.id: r for r in budget_queries.my_spend_requests(work.world.member, [work.low.id])}
    assert again[team.id].step == "pay" and again[team.id].waits_for == ["Ivar Leder"]
    # Nobody else's requests, and nothing from a family the user is gated in.
    assert budget_queries.my_spend_requests(work.world.lead, [work.low.id]) == []


@pytest.mark.parametrize("args, kinds", [
    ({"type": "tiltak"}, {"tiltak"}),
    ({"type": "mote"}, {"mote"}),
    ({"type": "vurdering"}, {"vurdering"}),
    ({"forfalt": "1"}, {"tiltak", "vurdering"}),
])
def test_mine_oppgaver_filters(work, args, kinds):
    page = tasks.read_my_tasks(work.world.member, TaskListing.from_args(MultiDict(args)))
    assert page.items and {i.kind for i in page.items} == kinds
    if args.get("forfalt"):
        assert all(i.overdue for i in page.items)


@pytest.mark.parametrize("args, key", [
    ({"sorter": "familie"}, lambda i: i.family.household_name),
    ({"sorter": "familie", "rekkefolge": "synkende"}, lambda i: "".join(chr(0x10FFFF - ord(c))
                                                                         for c in i.family.household_name)),
    ({"sorter": "type"}, lambda i: tasks.TASK_KINDS.index(i.kind)),
    ({"sorter": "frist", "rekkefolge": "synkende"}, lambda i: -(i.on.toordinal() if i.on else 0)),
])
def test_mine_oppgaver_sorts(work, args, key):
    _spends(work)
    items = tasks.read_my_tasks(work.world.member, TaskListing.from_args(MultiDict(args))).items
    assert len(items) >= 6 and items == sorted(items, key=key)


def test_a_team_lead_sees_the_caseload_and_the_queue(work):
    _spends(work)
    page = tasks.read_my_tasks(work.world.lead, TaskListing())
    caseload = page.caseload
    assert caseload is not None and caseload.queue_count == 1  # the 18 500 kr request; the big one is management's
    rows = {r.family.household_name: r for r in caseload.rows}
    assert set(rows) == {"Familien Berg", "Familien Aas", "Familien Skjult"}  # the families Ivar leads
    assert rows["Familien Berg"].consent_gaps == 2   # Gro (barnevern, no consent) and Nils (no agency)
    assert rows["Familien Skjult"].consent_gaps == 1  # Mona: no consent for bolig
    assert rows["Familien Aas"].consent_gaps == 0
    assert rows["Familien Aas"].budget_left == 600_000 * KR  # requests waiting for a decision reserve nothing yet
    assert rows["Familien Skjult"].budget_left is not None and rows["Familien Berg"].budget_left == 0
    assert caseload.by_level == {1: 1, 4: 1, None: 1}
    assert caseload.by_trend == {"down": 1, None: 2}
    assert caseload.with_consent_gaps == 2
    # A caseworker has no caseload section.
    assert tasks.read_my_tasks(work.world.member, TaskListing()).caseload is None


# --- Mine oppgaver: the page, its audit and its statements ----------------------------------------

def test_the_page_is_in_the_menu_for_caseworkers_and_team_leads_only(work, login):
    for user in (work.world.member, work.world.lead):
        page = login(user).get("/").get_data(as_text=True)
        assert '<a href="/oppgaver">Mine oppgaver</a>' in page
    manager = login(work.world.manager)
    assert 'href="/oppgaver"' not in manager.get("/").get_data(as_text=True)
    assert manager.get("/oppgaver").status_code in (403, 404)


def test_the_page_shows_the_work_and_audits_it_in_one_write(work, login, count_queries):
    _spends(work)
    client = login(work.world.member)
    client.get("/oppgaver")
    with count_queries() as counter:
        response = client.get("/oppgaver?sorter=familie&type=tiltak")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Ringe utleier" in page and "Forfalt" in page and "Søke barnehageplass" in page
    assert "Hemmelig tiltak" not in page and "Utleier AS" not in page  # filtered to actions
    assert 'aria-sort="ascending"' in page and 'href="/oppgaver?type=tiltak"' in page
    inserts = [s for s in counter.statements if s.lstrip().upper().startswith("INSERT INTO AUDIT_EVENT")]
    # One bulk write (``audit.record_for_families``): one multi-row INSERT on PostgreSQL; SQLite's
    # driver sends the rows of that one write one by one.
    assert len(inserts) == (1 if db.session.get_bind().dialect.name == "postgresql" else 3)
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "family.list",
                                                              AuditEvent.actor_id == work.world.member.id)
                                     .order_by(AuditEvent.id.desc())))
    last = [e for e in events if e.request_id == events[0].request_id]
    assert {e.family_id for e in last} == {work.low.id, work.up.id, work.gated.id}
    assert {e.family_id: (e.summary or {}).get("gated") for e in last}[work.gated.id] is True
    spends = client.get("/oppgaver?type=utgift").get_data(as_text=True)
    assert "Venter på godkjenning fra Ivar Leder" in spends and "Venter på godkjenning fra Lene Ledelse" in spends
    assert "Venter på deg" in spends


def test_the_team_leads_page_has_the_caseload_and_the_queue_link(work, login):
    _spends(work)
    page = login(work.world.lead).get("/oppgaver").get_data(as_text=True)
    assert "Familiene du leder" in page and 'href="/budsjett/godkjenning"' in page
    assert "1 utgift venter på din godkjenning" in page


def _more_work(world, n: int):
    """``n`` more families for a fresh caseworker, each with actions, a meeting and a spend."""
    user = factories.user(world.lab, ("caseworker",), world.nav, name="Tor Travel")
    today = world.today
    money.delegate(world.lab, world.nav, 10_000_000 * KR)
    for i in range(n):
        family = factories.family(world.lab, name=f"Familien Mange{i}", agency=world.nav)
        factories.team_member(family, user)
        factories.team_member(family, world.lead, "lead")
        factories.consent(family, world.nav)
        factories.assessment(family, _levels(2), assessed_on=today - timedelta(days=30))
        factories.assessment(family, _levels(3), assessed_on=today - timedelta(days=10))
        for j in range(3):
            _action(family, f"Tiltak {i}.{j}", user, today + timedelta(days=j - 1))
        _meeting(family, today - timedelta(days=5), today + timedelta(days=i + 1))
        budget_services.allocate(world.lab, family_id=family.id, agency_id=world.nav.id, year=money.year(),
                                 amount=100_000 * KR, actor=None)
        goal = factories.goal(family, theme="bolig")
        budget_services.create_spend(family.id, user, {
            "amount": 1_000 * KR, "payee": "Butikk", "purpose": "Utstyr", "category": "equipment",
            "theme": "bolig", "goal_id": goal.id, "expected_effect": "Bedre", "level_from": 2, "level_to": 3,
            "wanted_on": today}, submit=True)
    db.session.flush()
    return user


@pytest.mark.parametrize("path", ["/oppgaver", "/oppgaver?sorter=familie&type=utgift", "/familier?sorter=niva",
                                  "/familier?q=familien&forfalt=1"])
def test_statements_do_not_grow_with_the_number_of_families(world, login, count_queries, path):
    def statements(user) -> int:
        client = login(user)
        assert client.get(path).status_code == 200
        with count_queries() as counter:
            assert client.get(path).status_code == 200
        # The audit's one bulk write is one INSERT on PostgreSQL, a row at a time on SQLite.
        return len([s for s in counter.statements if not s.lstrip().upper().startswith("INSERT INTO AUDIT_EVENT")])

    few = statements(_more_work(world, 1))
    many = statements(_more_work(world, 8))
    assert many <= few, (path, few, many)
    assert few < 40
    # The team lead's page (caseload, budget, queue) is bounded as well.
    lead = statements(world.lead)
    assert lead < 45
