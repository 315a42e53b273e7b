"""Issue 19: what the family page reads on a second visit, and that it shows the same.

- the journey section is kept per (assessments, reader's scope, language): on a second visit the
  ratings are not read again, and the page — the hidden reasons of a consent-limited reader
  included — is byte for byte the one the first visit rendered; a new assessment is seen at once;
- the budget panel is one statement (balance and requests with their goals), shows the same
  figures as the family's budget page, and still hides what the reader's consents do not cover.
"""

from __future__ import annotations

import re

from tests import factories
from tests.cases.test_consent_per_person import content, nav  # noqa: F401 - fixtures
from tests.cases.test_consent_writes import skole  # noqa: F401 - fixture
from tests.reports import factories as rf
from velferdslab.cases.journey import section

CSRF = re.compile(r'(name="csrf_token"[^>]*value=")[^"]*|(<meta name="csrf-token" content=")[^"]*')


def _page(client, family_id: int, count_queries) -> tuple[str, list[str]]:
    with count_queries() as counter:
        response = client.get(f"/familier/{family_id}")
    assert response.status_code == 200
    html = CSRF.sub(lambda m: (m.group(1) or m.group(2)) + "X", response.get_data(as_text=True))
    return html, [" ".join(s.split()) for s in counter.statements]


def _rating_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if "FROM theme_rating" in s]


def test_a_second_visit_reads_no_ratings_and_shows_the_same(world, nav, content, login, count_queries):  # noqa: F811
    section.clear()
    for user in (world.lead, nav.user):  # the lead sees everything; NAV only Jonas's work and school
        client = login(user)
        first, first_statements = _page(client, world.family.id, count_queries)
        second, second_statements = _page(client, world.family.id, count_queries)
        assert len(_rating_reads(first_statements)) == 1
        assert _rating_reads(second_statements) == []
        assert second == first
        assert len(second_statements) == len(first_statements) - 1
    nav_page, _ = _page(login(nav.user), world.family.id, count_queries)
    assert "Skjult: mangler samtykke" in nav_page and "Gjeld-HEMMELIG" not in nav_page


def test_a_new_assessment_is_seen_on_the_next_visit(world, login, count_queries):
    section.clear()
    client = login(world.lead)
    before, _ = _page(client, world.family.id, count_queries)
    factories.assessment(world.family, {"bolig": 4}, assessed_on=world.today)
    after, statements = _page(client, world.family.id, count_queries)
    assert len(_rating_reads(statements)) == 1  # a new key: read and rendered again
    journey = after[after.index('id="family-journey"'):].split("</section>")[0]
    assert journey != before[before.index('id="family-journey"'):].split("</section>")[0]


def test_the_budget_panel_is_one_statement_with_the_budget_pages_figures(world, skole, login,  # noqa: F811
                                                                           count_queries):
    rf.paid_spend(world.lab, world.family, world.nav, 5_000 * rf.KR, theme="helse", category="equipment")
    rf.paid_spend(world.lab, world.family, world.nav, 1_250 * rf.KR, theme="skole", category="equipment")
    lead = login(world.lead)
    lead.get(f"/familier/{world.family.id}")
    page, statements = _page(lead, world.family.id, count_queries)
    spend_reads = [s for s in statements if "spend_request" in s or "ledger_account" in s]
    assert len(spend_reads) == 1, spend_reads
    assert not [s for s in statements if "spend_funding" in s or "spend_decision" in s]
    panel = page[page.index('class="budget-panel"'):].split("</section>")[0]
    budget_page = lead.get(f"/familier/{world.family.id}/budsjett").get_data(as_text=True)
    summary = re.compile(r'<table class="budget-summary">.*?</table>', re.S)
    assert summary.search(panel).group(0) == summary.search(budget_page).group(0)
    assert 'data-ore="625000"' in panel and panel.count("Leverandør AS") == 2
    # Skolen's consent covers school, not health: the health spend shows without payee or goal.
    siri = login(skole.user).get(f"/familier/{world.family.id}").get_data(as_text=True)
    siri_panel = siri[siri.index('class="budget-panel"'):].split("</section>")[0]
    assert siri_panel.count("Leverandør AS") == 1 and "Skjult: mangler samtykke fra husstanden til Skolen" in siri_panel
