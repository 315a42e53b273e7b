"""Small rules the sub-packages' services share: a date that may not lie ahead, a bounded text, an
agency of the lab, and month arithmetic (follow-ups, report periods)."""

from __future__ import annotations

import calendar
from datetime import date
from typing import Literal, overload

from flask_babel import gettext as _

from velferdslab.auth.models import Agency
from velferdslab.core.errors import ServiceError
from velferdslab.core.models import today_local
from velferdslab.core.text import SHORT_TEXT_MAX, short_text
from velferdslab.extensions import db


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has fewer days)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _not_future(day: date | None, field: str, message: str) -> date:
    if day is None:
        raise ServiceError(_("Datoen mangler."), field)
    if day > today_local():
        raise ServiceError(message, field)
    return day


@overload
def _text(value: str | None, field: str, *, max_length: int, required: Literal[True],
          label_missing: str | None = None) -> str: ...
@overload
def _text(value: str | None, field: str, *, max_length: int, required: bool = False,
          label_missing: str | None = None) -> str | None: ...
def _text(value: str | None, field: str, *, max_length: int, required: bool = False,
          label_missing: str | None = None) -> str | None:
    """``value`` stripped, or None when it is blank (a refusal instead when ``required``)."""
    value = (value or "").strip()
    if not value:
        if required:
            raise ServiceError(label_missing or _("Feltet må fylles ut."), field)
        return None
    if len(value) > max_length:
        raise ServiceError(_("Teksten kan ha høyst %(n)s tegn.", n=max_length), field)
    return short_text(value, field) if max_length <= SHORT_TEXT_MAX else value


@overload
def _check_agency(lab_id: int, agency_id: int, field: str) -> int: ...
@overload
def _check_agency(lab_id: int, agency_id: int | None, field: str) -> int | None: ...
def _check_agency(lab_id: int, agency_id: int | None, field: str) -> int | None:
    """The agency's id when it belongs to the lab (None stays None); a refusal otherwise."""
    if agency_id is None:
        return None
    agency = db.session.get(Agency, agency_id)
    if agency is None or agency.lab_id != lab_id:
        raise ServiceError(_("Etaten finnes ikke i dette laboratoriet."), field)
    return agency.id
