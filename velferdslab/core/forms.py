"""Helpers for server-rendered forms."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from wtforms import DateField as _DateField
from wtforms import IntegerField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3+, newer than the stubs
from wtforms.validators import NumberRange, Optional, ValidationError

from velferdslab.core.input_guard import MAX_YEAR, MIN_YEAR
from velferdslab.core.routing import MAX_ID


def render_form(template: str, form, status: int | None = None, **context):
    """Render a form page; a rejected submission answers 422 so the request's transaction rolls back.

    That makes "nothing is half-changed" hold for every form: whatever a service flushed before it
    refused is undone with the rest of the request.
    """
    if status is None:
        status = 422 if request.method == "POST" and form.errors else 200
    return render_template(template, form=form, **context), status


def add_error(form, error, default_field: str) -> None:
    """Attach a ServiceError to the form field it names (or ``default_field``)."""
    field = getattr(form, error.field, None) or getattr(form, default_field)
    field.errors = list(field.errors) + [error.message]


def choices(pairs) -> list[SelectChoice]:
    """WTForms 3.3+ wants ``SelectChoice`` objects rather than (value, label) tuples."""
    return [SelectChoice(value, label) for value, label in pairs]


def IdField(label, validators=None, message=None, **kwargs) -> IntegerField:  # noqa: N802 - a field class
    """A row's number typed into a form: a whole number an id column can hold (1 … 2**31 − 1).

    A larger number cannot name a row, and compared with or written to a 32-bit column on
    PostgreSQL it raised "integer out of range" (a 500); here it is a form error on the field.
    """
    bound = NumberRange(min=1, max=MAX_ID, message=message or _l("Ugyldig nummer."))
    return IntegerField(label, validators=[*(validators or [Optional()]), bound], **kwargs)


class DateField(_DateField):
    """WTForms' date field, bounded to the years 1900–2100 for every form of the app: a date in year
    1 or 9999 overflowed the date arithmetic further on (a 500)."""

    def pre_validate(self, form) -> None:
        super().pre_validate(form)
        if self.data is not None and not MIN_YEAR <= self.data.year <= MAX_YEAR:
            raise ValidationError(_l("Datoen må være mellom år %(min)d og %(max)d.", min=MIN_YEAR, max=MAX_YEAR))
