"""Closed vocabularies: every code the app stores or shows is a member of one, with its label.

A vocabulary is a :class:`enum.StrEnum`, so its members are the very strings stored in the
database and sent by the API (``AuditAction.FAMILY_VIEW == "family.view"``), and each member
carries a label in the interface's language (a lazy gettext string, translated when shown)::

    class GoalStatus(Vocabulary):
        OPEN = "open", _l("Åpent")
        REACHED = "reached", _l("Nådd")

``tests/core/test_vocabularies.py`` finds every vocabulary in the package and fails when a member
has no label, or a label has no English translation.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Self


class Vocabulary(StrEnum):
    """A set of codes with labels. Define members as ``NAME = "code", _l("Label")``."""

    _label: Any

    def __new__(cls, code: str, label: Any = None) -> Self:
        member = str.__new__(cls, code)
        member._value_ = code
        member._label = label
        return member

    @property
    def label(self) -> str:
        """The member's label in the current language (the code itself if it has none)."""
        return str(self._label) if self._label is not None else self.value

    @property
    def lazy_label(self) -> Any:
        """The untranslated label object (for tables evaluated later, such as form choices)."""
        return self._label

    @classmethod
    def codes(cls) -> tuple[str, ...]:
        return tuple(member.value for member in cls)

    @classmethod
    def labels(cls) -> dict[str, str]:
        """``{code: label}`` in the current language."""
        return {member.value: member.label for member in cls}

    @classmethod
    def lazy_labels(cls) -> dict[str, Any]:
        """``{code: lazy label}``: for module-level tables that are translated when shown."""
        return {member.value: member._label for member in cls}

    @classmethod
    def choices(cls) -> list[tuple[str, Any]]:
        """``[(code, lazy label)]`` for a select field."""
        return [(member.value, member._label) for member in cls]

    @classmethod
    def get(cls, code: str | None) -> Self | None:
        """The member for ``code``, or None for None or an unknown code."""
        try:
            return cls(code) if code is not None else None
        except ValueError:
            return None
