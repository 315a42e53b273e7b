"""Issue 19: label tables are translated once per language and kept (``core.i18n.TranslatedTable``)."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from velferdslab.cases.themes import LEVEL_NAMES, THEME_BY_CODE
from velferdslab.core import i18n
from velferdslab.core.i18n import TranslatedTable, translated_tables


def test_a_table_is_translated_once_per_language(app, monkeypatch):
    table = TranslatedTable(LEVEL_NAMES)
    calls = []
    real = i18n._translated
    monkeypatch.setattr(i18n, "_translated", lambda value: calls.append(value) or real(value))
    with app.test_request_context("/"):
        with force_locale("nb"):
            assert [table[k] for k in (1, 2, 3, 4)] * 50 and table[1] == "Uholdbar"
            assert isinstance(table[1], str)
        with force_locale("en"):
            assert table[1] == str(LEVEL_NAMES[1]) and table[4] != "Bærekraftig"
            assert dict(table.items())[2] == table[2]
        with force_locale("nb"):
            assert table[4] == "Bærekraftig"
    assert len(calls) == 2 * len(LEVEL_NAMES)  # each label once in each of the two languages
    with pytest.raises(KeyError), app.test_request_context("/"):
        table[None]  # an unknown code is undefined in a template, as with a dict
    assert None not in table and 1 in table and len(table) == 4


def test_themes_keep_their_shape_with_names_translated(app):
    themes = TranslatedTable(THEME_BY_CODE)
    with app.test_request_context("/"), force_locale("en"):
        theme = themes["bolig"]
        assert theme.code == "bolig" and theme.name == "Housing" and isinstance(theme.description, str)


def test_only_label_tables_are_wrapped():
    wrapped = translated_tables({"level_names": LEVEL_NAMES, "codes": {1: "uholdbar"}, "steps": 2})
    assert isinstance(wrapped["level_names"], TranslatedTable)
    assert wrapped["codes"] == {1: "uholdbar"} and wrapped["steps"] == 2



def test_template_strings_follow_the_locale_with_the_catalogue_looked_up_once(app, monkeypatch):
    """Templates' ``_()`` finds the request's catalogue once (``core.i18n._translations``) and follows
    ``force_locale`` in and out, and a change of language in the same request."""
    import flask_babel
    from flask import render_template_string

    looked_up = []
    real = flask_babel.get_translations
    monkeypatch.setattr(i18n, "get_translations", lambda: looked_up.append(1) or real())
    source = "{% for _i in range(40) %}{{ _('Uholdbar') }};{% endfor %}"
    with app.test_request_context("/"):
        with force_locale("nb"):
            assert render_template_string(source) == "Uholdbar;" * 40
        assert len(looked_up) == 1  # forty strings, one lookup
        with force_locale("en"):
            english = render_template_string(source)
            assert english == f"{LEVEL_NAMES[1]};" * 40 and "Uholdbar" not in english
        with force_locale("nb"):
            assert render_template_string("{{ _('Uholdbar') }}") == "Uholdbar"
        flask_babel.refresh()  # e.g. the user chose another language: the locale is chosen again
        assert render_template_string("{{ _('Uholdbar') }}") == "Uholdbar"
    assert len(looked_up) == 4
    with app.test_request_context("/"):  # a new request starts afresh
        assert render_template_string("{{ _('%(n)s familier', n=3) }}") == "3 familier"


def test_days_are_formatted_in_the_language_of_the_request(app):
    from datetime import date

    day = date(2026, 5, 17)
    with app.test_request_context("/"):
        with force_locale("nb"):
            assert i18n.local_date(day, "d. MMMM yyyy") == "17. mai 2026"
            assert i18n.local_date(day) == "17.05.2026"
        with force_locale("en"):
            assert i18n.local_date(day, "d MMMM yyyy") == "17 May 2026"
            assert i18n.local_date(day, "d. MMMM yyyy") == "17. May 2026"  # the same pattern, kept apart
        with force_locale("nb"):
            assert i18n.local_date(day, "d. MMMM yyyy") == "17. mai 2026"
