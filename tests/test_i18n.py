"""The English catalogue: every string in the sources is translated, it compiles, and the app speaks it.

Bokmål is the source language (the msgids). The catalogue is compiled here, into a temporary
directory, so these tests check the ``.po`` in the tree whether or not ``make translations`` ran.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from babel.support import Translations

from tests import factories

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "velferdslab" / "translations"
ENGLISH_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
# What scripts/update_translations.sh passes with -k; babel.cfg names them too.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}")


def read_english() -> Catalog:
    with ENGLISH_PO.open("rb") as handle:
        return read_po(handle, locale="en")


def extract_sources() -> Catalog:
    """The messages the sources hold today, extracted the way pybabel does with babel.cfg."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle, filename="babel.cfg")
    template = Catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def _text(msgid) -> str:
    return msgid[0] if isinstance(msgid, tuple) else msgid


def _translated(message) -> bool:
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return bool(strings) and all(s and s.strip() for s in strings)


@pytest.fixture(scope="module")
def english() -> Catalog:
    return read_english()


# --- the catalogue --------------------------------------------------------------------------------

def test_every_message_in_the_sources_is_translated(english):
    sources = extract_sources()
    assert len(sources) > 500, "extraction found almost nothing: is babel.cfg right?"
    missing, untranslated, fuzzy = [], [], []
    for message in sources:
        if not message.id:
            continue
        entry = english.get(message.id, message.context)
        where = ", ".join(sorted({f for f, _ in message.locations}))
        line = f"{_text(message.id)!r}  ({where})"
        if entry is None:
            missing.append(line)
        elif entry.fuzzy:
            fuzzy.append(line)
        elif not _translated(entry):
            untranslated.append(line)
    problems = [("not in the English catalogue", missing), ("empty in the English catalogue", untranslated),
                ("fuzzy in the English catalogue", fuzzy)]
    report = "\n".join(f"{len(lines)} {label}:\n  " + "\n  ".join(lines) for label, lines in problems if lines)
    assert not report, (report + "\n\nRun scripts/update_translations.sh (or make translations-update), translate "
                        "what it lists in velferdslab/translations/en/LC_MESSAGES/messages.po, drop the fuzzy flags.")


def test_translations_keep_every_placeholder(english):
    wrong = []
    for message in english:
        if not message.id or not _translated(message):
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for index, msgstr in enumerate(strings):
            msgid = ids[min(index, len(ids) - 1)]  # plural forms follow msgid_plural
            if set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(msgstr)):
                wrong.append(f"{msgid!r} -> {msgstr!r}")
    checked = [f"{_text(m.id)!r}: {'; '.join(map(str, errors))}" for m, errors in english.check()]
    assert not wrong and not checked, "\n".join(wrong + checked)


def test_english_catalogue_compiles(compiled, english):
    translations = Translations.load(str(compiled), ["en"])
    assert isinstance(translations, Translations), "the compiled catalogue did not load"
    assert translations.gettext("Logg inn") == "Sign in"
    assert translations.ngettext("%(num)d treff for «%(q)s»", "%(num)d treff for «%(q)s»", 2) == \
        "%(num)d matches for “%(q)s”"
    # every translated message made it into the .mo
    assert len(translations._catalog) >= sum(1 for m in english if m.id and _translated(m))


def test_messages_pot_in_the_tree_is_a_template_of_the_catalogue(english):
    """The .pot is committed for translators; it must be the one the catalogue was updated from."""
    with (TRANSLATIONS / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    template_ids = {m.id for m in template if m.id}
    assert template_ids == {m.id for m in english if m.id}


# --- the app in English and in bokmål ---------------------------------------------------------------

def test_login_page_in_english(client, in_catalogue):
    response = client.get("/sprak/en?next=/logg-inn")
    assert response.status_code == 302 and response.headers["Location"].endswith("/logg-inn")
    page = client.get("/logg-inn").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Sign in" in page
    assert "Logg inn" not in page
    assert 'href="/sprak/nb' in page  # the way back to bokmål


def test_login_page_in_bokmal_by_default(client, in_catalogue):
    page = client.get("/logg-inn").get_data(as_text=True)
    assert '<html lang="nb">' in page
    assert "Logg inn" in page
    assert "Sign in" not in page


def test_signed_in_start_page_follows_the_chosen_language(login, lab, in_catalogue):
    user = factories.user(lab, roles=("caseworker",), name="Kari Nordmann")
    client = login(user)
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="nb">' in page and "Hei, Kari Nordmann" in page and "Logg ut" in page

    assert client.get("/sprak/en").status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Hello, Kari Nordmann" in page and "Sign out" in page and "My families" in page
    assert "Hei, " not in page and "Logg ut" not in page

    assert client.get("/sprak/nb").status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="nb">' in page and "Hei, Kari Nordmann" in page


def test_chosen_language_survives_sign_in_and_sign_out(client, lab, in_catalogue):
    user = factories.user(lab, roles=("caseworker",), name="Ola Nordmann")
    client.get("/sprak/en")
    assert factories.login_client(client, user.email, factories.PASSWORD).status_code == 302
    start = client.get("/").get_data(as_text=True)
    assert "Hello, Ola Nordmann" in start

    token = factories.csrf_from(start)
    response = client.post("/logg-ut", data={"csrf_token": token}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert '<html lang="en">' in page and "You are signed out." in page and "Sign in" in page


def test_unknown_language_is_refused(client):
    assert client.get("/sprak/xx").status_code == 404


def test_api_validation_messages_follow_the_language(login, lab, in_catalogue):
    """Schema messages (``N_``-marked and lazy) and the error status text are translated per request."""
    admin = factories.user(lab, roles=("admin",))
    client = login(admin)
    body = {"agency_id": 1, "year": 2026, "amount": "18500", "decision_reference": "x", "decided_on": "2026-01-05"}

    norwegian = client.post("/api/v1/delegations", json=body)
    assert norwegian.status_code == 422
    assert norwegian.json["errors"]["amount"] == ["Beløpet må være et helt tall i øre (ikke desimaltall eller tekst)."]
    assert norwegian.json["message"] == "Noen av feltene er ikke gyldige."

    client.get("/sprak/en")
    english = client.post("/api/v1/delegations", json={**body, "amount": 0})
    assert english.status_code == 422
    assert english.json["errors"]["amount"] == ["The amount must be at least 1 øre and at most 10000000000 øre."]
    assert english.json["message"] == "Some of the fields are not valid."
    missing = client.post("/api/v1/delegations", json={k: v for k, v in body.items() if k != "amount"})
    assert missing.json["errors"]["amount"] == ["This field is required."]


def test_error_page_in_english(client, in_catalogue):
    client.get("/sprak/en")
    response = client.get("/finnes-ikke")
    assert response.status_code == 404
    assert "The page does not exist." in response.get_data(as_text=True)
