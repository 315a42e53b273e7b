"""The password policy: long enough, not common, not made of the person's own name or e-mail.

Common passwords are judged by zxcvbn (Dropbox's estimator, maintained on PyPI), which knows the
leaked-password lists, keyboard walks, dates, repeats and sequences; a short list of Norwegian words
that such lists miss ("passord", "sommer", …) and the demo password are given to it as well. A
context password — one built from the user's name or e-mail address, or the demo password — is
refused outright, whatever its estimated strength.
"""

from __future__ import annotations

import re

from flask_babel import gettext as _
from zxcvbn import zxcvbn

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
# zxcvbn's score: 3 = "safely unguessable: moderate protection from an offline slow-hash scenario".
MIN_SCORE = 3
DEMO_PASSWORD = "velferdslab-demo"  # noqa: S105 - printed by `demo logins`; refused as a real password
NORWEGIAN_WORDS = ("passord", "hemmelig", "sommer", "vinter", "høst", "vår", "velferdslab", "velferd",
                   "kommune", "asker", "nav", "barnevern", "norge", "oslo", "qwertyuiopå", "heisann")
_ZXCVBN_MAX = 72  # zxcvbn refuses longer input; the first 72 characters decide its score
_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")
_MIN_LEFTOVER = MIN_PASSWORD_LENGTH // 2  # letters a password must have besides known words and digits


def _compact(text: str) -> str:
    return _NOT_ALPHANUMERIC.sub("", text.casefold())


def context_words(name: str | None, email: str | None) -> list[str]:
    """The words a password must not be built from: the name, its parts, the e-mail and its parts."""
    words = []
    for text in (name or "", (email or "").split("@")[0]):
        words.append(_compact(text))
        words.extend(_compact(part) for part in re.split(r"[\s._\-+]+", text))
    return [word for word in dict.fromkeys(words) if len(word) >= 3]


def password_problem(password: str, *, name: str | None = None, email: str | None = None) -> str | None:
    """Why ``password`` may not be used (a Norwegian sentence), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("Passordet må ha minst %(count)s tegn.", count=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        return _("Passordet kan ha høyst %(count)s tegn.", count=MAX_PASSWORD_LENGTH)
    compact = _compact(password)
    if _compact(DEMO_PASSWORD) in compact:
        return _("Demopassordet kan ikke brukes som passord.")
    words = context_words(name, email)
    whole = [word for word in (_compact(name or ""), _compact((email or "").split("@")[0])) if len(word) >= 4]
    if any(word in compact for word in whole) or _built_from(compact, words):
        return _("Passordet kan ikke bygge på brukerens navn eller e-postadresse.")
    if _built_from(compact, NORWEGIAN_WORDS):
        return _weak()
    inputs = [*words, email or "", DEMO_PASSWORD, *NORWEGIAN_WORDS]
    if zxcvbn(password[:_ZXCVBN_MAX], user_inputs=inputs)["score"] < MIN_SCORE:
        return _weak()
    return None


def _built_from(compact: str, words) -> bool:
    """Whether a password is little more than some of ``words`` and digits: taking them out of
    "Sommer2024" leaves nothing, and of "Kari1985Nordmann" nothing of Kari Nordmann's."""
    found = sorted((word for word in words if word in compact), key=len, reverse=True)
    if not found:
        return False
    for word in found:
        compact = compact.replace(word, "")
    return len(re.sub(r"\d+", "", compact)) < _MIN_LEFTOVER


def _weak() -> str:
    return _("Passordet er for lett å gjette. Bruk gjerne flere vanlige ord som ikke hører sammen, "
             "eller en passordgenerator.")

