"""The family's own pages in nynorsk (issue 16): every message Min side shows has a nynorsk
translation, the page says so in its ``lang``, and the staff pages stay in bokmål (they have no
nynorsk catalogue of their own)."""

from __future__ import annotations

import pathlib

import pytest
from babel.messages.pofile import read_po
from babel.support import Translations

from tests.cases.test_minside_content import family_client, setup  # noqa: F401 - the fixture
from velferdslab.cases.plan.models import Action, Goal
from velferdslab.extensions import db

NYNORSK_PO = pathlib.Path(__file__).parents[2] / "velferdslab" / "translations" / "nn" / "LC_MESSAGES" / "messages.po"
FAMILY_PAGES = ("/min-side", "/min-side/vurdering", "/min-side/samtykker", "/min-side/innsyn")


@pytest.fixture
def nynorsk():
    with NYNORSK_PO.open("rb") as handle:
        catalogue = read_po(handle, locale="nn")
    return {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalogue if m.id}


@pytest.fixture
def shown(monkeypatch):
    """Every msgid looked up while a page renders (Python code and templates both end in the
    catalogue's ``ugettext``/``ungettext``)."""
    seen: set[str] = set()
    gettext, ngettext = Translations.ugettext, Translations.ungettext

    def record(self, message):
        seen.add(str(message))
        return gettext(self, message)

    def record_n(self, singular, plural, n):
        seen.add(str(singular))
        return ngettext(self, singular, plural, n)

    monkeypatch.setattr(Translations, "ugettext", record)
    monkeypatch.setattr(Translations, "ungettext", record_n)
    return seen


def test_every_message_on_the_family_pages_has_a_nynorsk_translation(setup, nynorsk, shown):  # noqa: F811
    family = setup["family"]
    goal = Goal(family_id=family.id, theme="bolig", horizon="short", text="Større leilighet")
    db.session.add(goal)
    db.session.flush()
    db.session.add(Action(family_id=family.id, goal_id=goal.id, title="Søke om bostøtte", owner_is_family=True,
                          status="planned"))
    db.session.flush()
    for member in (setup["parent"], setup["young"], setup["child"]):
        client = family_client(setup["app"], member)
        assert client.get("/sprak/nn?next=/min-side").status_code == 302
        for path in FAMILY_PAGES:
            page = client.get(path)
            assert page.status_code == 200, path
            assert '<html lang="nn">' in page.get_data(as_text=True), path
    assert len(shown) > 50  # the recorder saw the pages' messages
    missing = sorted(m for m in shown if not (nynorsk.get(m) and (all(nynorsk[m].string) if isinstance(
        nynorsk[m].string, tuple) else nynorsk[m].string)))
    assert not missing, "no nynorsk in velferdslab/translations/nn for:\n" + "\n".join(missing)


def test_nynorsk_is_offered_on_the_family_pages_and_staff_pages_stay_in_bokmal(setup):  # noqa: F811
    client = family_client(setup["app"], setup["parent"])
    page = client.get("/min-side").get_data(as_text=True)
    assert 'lang="nn">Nynorsk</a>' in page and 'lang="en">English</a>' in page
    client.get("/sprak/nn?next=/min-side")
    page = client.get("/min-side").get_data(as_text=True)
    assert "Kva nivåa tyder" in page and "Hva nivåene betyr" not in page and 'lang="nb">Bokmål</a>' in page
    staff = setup["login"](setup["lead"])
    staff.get("/sprak/nn?next=/")
    start = staff.get("/").get_data(as_text=True)
    assert '<html lang="nb">' in start and "Nynorsk" not in start
