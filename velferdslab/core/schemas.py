"""marshmallow building blocks shared by the domains' API schemas: ids and money, defined once."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate

from velferdslab.core.i18n import N_
from velferdslab.core.money import MAX_AMOUNT_ORE
from velferdslab.core.routing import MAX_ID

# Plain strings marked with N_: marshmallow keeps these messages as given (lazy text would not be a
# list of str); core.errors.translate_messages translates them when the 422 is answered.
ORE_MESSAGES = {"invalid": N_("Beløpet må være et helt tall i øre (ikke desimaltall eller tekst)."),
                "required": N_("Feltet må fylles ut."), "null": N_("Feltet må fylles ut.")}
AMOUNT_DOC = {"description": "Amount in øre (1 kr = 100 øre)", "example": 1850000}


def Id(**kwargs: Any) -> fields.Integer:  # noqa: N802 - reads like a field class at the call site
    """A reference to a row: a whole number that a database id column can hold (no floats, no 10**20)."""
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def Money(*, minimum: int = 1, maximum: int = MAX_AMOUNT_ORE, **kwargs: Any) -> fields.Integer:  # noqa: N802
    """An amount in integer øre: a JSON integer (``18500.0``, ``"18500"``, ``true``, NaN and infinity
    are refused) from ``minimum`` up to ``maximum``."""
    kwargs.setdefault("error_messages", ORE_MESSAGES)
    return fields.Integer(strict=True, validate=validate.Range(
        min=minimum, max=maximum, error=_l("Beløpet må være minst {min} øre og høyst {max} øre.")), **kwargs)
