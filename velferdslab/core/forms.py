"""Helpers for server-rendered forms."""

from __future__ import annotations

from flask import render_template, request
from wtforms.fields.choices import SelectChoice


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
