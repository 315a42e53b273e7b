"""Issue 19: what a read costs the reader's own loading, counted in statements (no timing).

For the family page, the family API read and *Mine familier*: who is asking (session or token,
user, roles, lab) is one statement; other users on the page (team, attendees, owners) do not cost a
roles query each; and the reasons a consent-limited reader sees for what is hidden cost no
statement per hidden item or per family (the reader's agency is read once)."""

from datetime import timedelta

import pytest

from tests import factories
from velferdslab.cases.themes import THEMES
from velferdslab.extensions import db


def _limited_family(world, n: int, user):
    """A family whose consent for the reader's agency covers housing only: every other theme's
    ratings are hidden from the reader, each with its reason."""
    family = factories.family(world.lab, name=f"Familien Del{n}", agency=world.nav,
                              referred_on=world.today - timedelta(days=200),
                              started_on=world.today - timedelta(days=190))
    factories.team_member(family, user, start=world.today - timedelta(days=195))
    factories.team_member(family, world.member, start=world.today - timedelta(days=195))
    factories.consent(family, world.nav, categories=["bolig"], given_on=world.today - timedelta(days=190))
    for i in range(3):
        factories.assessment(family, {t.code: 1 + i for t in THEMES},
                             family_levels={t.code: 2 for t in THEMES},
                             assessed_on=world.today - timedelta(days=60 * (3 - i)))
    return family


@pytest.fixture
def limited(world):
    user = factories.user(world.lab, ("caseworker",), world.nav, name="Kari Begrenset")
    families = [_limited_family(world, n, user) for n in range(4)]
    db.session.flush()
    return user, families


def _statements(count_queries, client, url: str, headers=None) -> list[str]:
    assert client.get(url, headers=headers).status_code == 200  # warm up: session, CSRF, caches
    with count_queries() as counter:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return [" ".join(s.split()) for s in counter.statements]


def _token(app, user) -> str:
    from velferdslab.auth import services

    _row, plain = services.create_api_token(user, "test")
    db.session.flush()
    return plain


def _check_reader_loading(statements: list[str], via: str) -> None:
    # The session (or token), the user, the roles and the lab: one statement.
    who = [s for s in statements if f"FROM {via}" in s]
    assert len(who) == 1, who
    assert "user_account" in who[0] and "user_role" in who[0] and "lab" in who[0], who[0]
    assert not [s for s in statements if s.startswith("SELECT user_role.")], statements  # nobody else's roles
    assert not [s for s in statements if s.startswith("SELECT lab.")], statements
    # The reader's agency, if read at all, once.
    assert len([s for s in statements if s.startswith("SELECT agency.id")]) <= 1, statements


@pytest.mark.parametrize("path", ["/familier/{id}", "/familier"])
def test_the_pages_load_the_reader_in_one_statement(limited, login, count_queries, path):
    user, families = limited
    statements = _statements(count_queries, login(user), path.format(id=families[0].id))
    _check_reader_loading(statements, "auth_session")


def test_the_api_read_loads_the_reader_in_one_statement(app, limited, count_queries):
    user, families = limited
    headers = {"Authorization": f"Bearer {_token(app, user)}"}
    statements = _statements(count_queries, app.test_client(), f"/api/v1/families/{families[0].id}", headers)
    _check_reader_loading(statements, "api_token")


def test_hidden_reasons_cost_no_statement_per_family(world, login, count_queries):
    """*Mine familier* with one consent-limited family and with four: the same statements."""
    def statements(n: int) -> int:
        user = factories.user(world.lab, ("caseworker",), world.nav, name=f"Per Begrenset{n}")
        for i in range(n):
            _limited_family(world, 10 * n + i, user)
        db.session.flush()
        found = _statements(count_queries, login(user), "/familier")
        # The audit's one bulk write is one INSERT on PostgreSQL, a row at a time on SQLite.
        return len([s for s in found if not s.upper().startswith("INSERT INTO AUDIT_EVENT")])

    assert statements(4) == statements(1)


def test_the_family_page_hides_with_its_reasons(limited, login):
    user, families = limited
    page = login(user).get(f"/familier/{families[0].id}").get_data(as_text=True)
    assert "Skjult: mangler samtykke fra husstanden til NAV for" in page


def test_the_family_page_looks_the_team_access_up_once(world, login, count_queries):
    """The gate's lookup serves the panels too (the lead still gets the privacy link)."""
    statements = _statements(count_queries, login(world.lead), f"/familier/{world.family.id}")
    lookups = [s for s in statements if s.startswith("SELECT family.id") and "JOIN team_membership" in s]
    assert len(lookups) == 1, lookups
    page = login(world.lead).get(f"/familier/{world.family.id}").get_data(as_text=True)
    assert f'href="/familier/{world.family.id}/personvern"' in page
