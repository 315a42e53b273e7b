"""marshmallow building blocks shared by the domains' API schemas: ids and money, defined once."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate

from velferdslab.core.i18n import N_
from velferdslab.core.input_guard import MAX_YEAR, MIN_YEAR
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


DATE_RANGE_MESSAGE = N_("Datoen må være mellom år 1900 og 2100.")


def _sane_year(value: date | datetime) -> None:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValidationError(DATE_RANGE_MESSAGE)


def _with_year_bound(kwargs: dict[str, Any]) -> dict[str, Any]:
    given = kwargs.pop("validate", None)
    given = [] if given is None else list(given) if isinstance(given, list | tuple) else [given]
    return {**kwargs, "validate": [_sane_year, *given]}


def Date(**kwargs: Any) -> fields.Date:  # noqa: N802 - reads like a field class at the call site
    """A date from 1900 to 2100, in any form marshmallow reads (``2026-01-01``, ``20260101``,
    ``2026-W01-4``): ``0001-01-01`` or ``99991231`` would overflow date arithmetic further on."""
    return fields.Date(**_with_year_bound(kwargs))


def DateTime(**kwargs: Any) -> fields.DateTime:  # noqa: N802
    """A date and time from 1900 to 2100 (see :func:`Date`)."""
    return fields.DateTime(**_with_year_bound(kwargs))
