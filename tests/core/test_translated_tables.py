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

