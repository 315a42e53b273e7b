"""Closed vocabularies: every code the app stores or shows is a member of one, with a label in both
languages, and the family's access log shows plain words, never a code.

The vocabularies are found, not listed: every subclass of ``core.vocabulary.Vocabulary`` in any
module of the package, so a new one is checked from the day it is written.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from babel.messages.pofile import read_po

import velferdslab
from tests.test_i18n import ENGLISH_PO
from velferdslab.audit.actions import AuditAction, Purpose
from velferdslab.audit.labels import action_label, purpose_label
from velferdslab.cases.themes import LEVEL_NAMES, LEVELS, THEMES
from velferdslab.core.vocabulary import Vocabulary


def _all_vocabularies() -> list[type[Vocabulary]]:
    for module in pkgutil.walk_packages(velferdslab.__path__, "velferdslab."):
        importlib.import_module(module.name)
    found, todo = [], list(Vocabulary.__subclasses__())
    while todo:
        kind = todo.pop()
        found.append(kind)
        todo.extend(kind.__subclasses__())
    return sorted(found, key=lambda k: f"{k.__module__}.{k.__qualname__}")


VOCABULARIES = _all_vocabularies()


@pytest.fixture(scope="module")
def english():
    with ENGLISH_PO.open("rb") as handle:
        return read_po(handle, locale="en")


def test_the_vocabularies_are_found():
    names = {k.__name__ for k in VOCABULARIES}
    assert {"AuditAction", "Purpose", "Role", "Permission", "SpendStatus", "SpendCategory", "AssessmentKind",
            "Perspective", "MemberRole", "EnrolmentStatus", "ActionStatus", "TeamRole"} <= names
    print(f"vocabularies: {len(VOCABULARIES)} with {sum(len(k) for k in VOCABULARIES)} members")


@pytest.mark.parametrize("vocabulary", VOCABULARIES, ids=lambda k: k.__name__)
def test_every_member_has_a_label_in_bokmal_and_english(vocabulary, english):
    for member in vocabulary:
        label = member.lazy_label
        assert label is not None, f"{vocabulary.__name__}.{member.name} has no label"
        msgid = getattr(label, "_args", [None])[0] if hasattr(label, "_args") else str(label)
        assert msgid and msgid.strip(), f"{vocabulary.__name__}.{member.name} has an empty label"
        entry = english.get(msgid)
        assert entry is not None and entry.string and not entry.fuzzy, \
            f"{vocabulary.__name__}.{member.name}: {msgid!r} has no English translation"


@pytest.mark.parametrize("vocabulary", VOCABULARIES, ids=lambda k: k.__name__)
def test_codes_are_unique_and_stable_strings(vocabulary):
    codes = vocabulary.codes()
    assert len(set(codes)) == len(codes)
    assert all(isinstance(code, str) and code == code.strip() and code for code in codes)


def test_themes_and_levels_are_closed_lists_with_labels(english):
    assert len({t.code for t in THEMES}) == len(THEMES) == 7
    for theme in THEMES:
        for text in (theme.name, theme.description):
            assert english.get(text._args[0]).string
    assert set(LEVEL_NAMES) == set(LEVELS) == {1, 2, 3, 4}


def test_the_access_log_shows_plain_words_for_every_action_and_purpose(app):
    with app.test_request_context():
        for action in AuditAction:
            words = action_label(action.value)
            assert words and words != action.value and "." not in words.split()[0], action
            assert purpose_label(None, action.value)  # always a reason, even with none recorded
        for purpose in Purpose:
            assert purpose_label(purpose.value, "family.view") == purpose.label != purpose.value
        # A code from an older version that is no longer a member still reads as words.
        assert action_label("spend.something_retired") == "Utgift"
        assert "." not in action_label("nothing.known")
