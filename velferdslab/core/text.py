"""Names and short texts: one normal form, no invisible characters.

A name typed with a decomposed "å" (``a`` + U+030A) or with a zero-width space looks the same on
screen as the plain name but is another string: it slipped past the duplicate-member check, and a
bidi override (U+202E) makes a name display reversed. Every name and short, single-line text is
therefore put in Unicode normal form C and refused when it holds a control or format character
(categories Cc, Cf — bidi controls, zero-width characters, soft hyphen — and the surrogates,
private-use characters and line/paragraph separators).

Longer free texts (notes, reasons, the family's goals) may hold line breaks and are left as typed.
"""

from __future__ import annotations

import unicodedata

from flask_babel import gettext as _

from velferdslab.core.errors import ServiceError

# Texts this long or shorter are single-line: names, titles, payees, references.
SHORT_TEXT_MAX = 300
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})


def forbidden_character(text: str) -> str | None:
    """The first character of ``text`` a name may not hold, or None."""
    for character in text:
        if unicodedata.category(character) in FORBIDDEN_CATEGORIES:
            return character
    return None


def short_text(value: str, field: str) -> str:
    """``value`` in NFC with surrounding whitespace removed; a ServiceError on ``field`` if it holds a
    control or format character (named by its code point, since it cannot be seen)."""
    text = unicodedata.normalize("NFC", value).strip()
    bad = forbidden_character(text)
    if bad is not None:
        code = "%04X" % ord(bad)  # noqa: UP031 - a code point, the way Unicode writes it
        raise ServiceError(_("Teksten inneholder et usynlig tegn eller kontrolltegn (U+%(code)s). "
                             "Skriv den inn på nytt uten det.", code=code), field)
    return text
