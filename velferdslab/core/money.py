"""Money is integer øre everywhere; it becomes "12 500,00 kr" only at the edge."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _

NBSP = "\u00a0"
MAX_AMOUNT_ORE = 100_000_000_00  # 100 million kroner: far above any single delegation


def format_nok(ore: int | None, *, symbol: bool = True) -> str:
    """Format øre as Norwegian kroner: 1250000 -> '12 500,00 kr' (with non-breaking spaces)."""
    if ore is None:
        return ""
    if isinstance(ore, bool) or not isinstance(ore, int):
        raise TypeError("money is integer øre")
    sign = "−" if ore < 0 else ""
    kroner, rest = divmod(abs(ore), 100)
    grouped = f"{kroner:,}".replace(",", NBSP)
    text = f"{sign}{grouped},{rest:02d}"
    return f"{text}{NBSP}kr" if symbol else text


# "18 500", "18 500,50", "18.500,5 kr", and as people write prices: "18 500,-", "kr 18 500", "kr. 18 500,-".
_KRONER = re.compile(r"^\s*(?:kr\.?\s*)?(-)?\s*(?:kr\.?\s*)?(\d{1,3}(?:[ \u00a0.]\d{3})+|\d+)"
                     r"(?:[,.](\d{1,2})|[,.]\s?[-\u2013]{1,2})?\s*(?:kr\.?|nok)?\s*$", re.IGNORECASE)


def parse_kroner(text: str) -> int:
    """Parse what a person types in a form ('18 500', '18500,50', '18.500,5 kr', '18 500,-',
    'kr 18 500') into øre.

    Raises ValueError with a message in the current language for anything that is not an exact amount.
    """
    if text is None or not str(text).strip():
        raise ValueError(_("Beløp mangler."))
    match = _KRONER.match(str(text))
    if not match:
        raise ValueError(_("Beløpet må være et tall i kroner, med høyst to desimaler."))
    negative, whole, fraction = match.groups()
    whole = re.sub(r"[ \u00a0.]", "", whole)
    try:
        value = Decimal(whole) * 100 + Decimal((fraction or "0").ljust(2, "0"))
    except InvalidOperation:  # pragma: no cover - the regex admits only digits
        raise ValueError(_("Beløpet må være et tall i kroner.")) from None
    ore = int(value)
    return -ore if negative else ore
