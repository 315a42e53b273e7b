"""marshmallow building blocks shared by the domains' API schemas."""

from __future__ import annotations

from marshmallow import fields, validate

from velferdslab.core.routing import MAX_ID


def Id(**kwargs) -> fields.Integer:  # noqa: N802 - reads like a field class at the call site
    """A reference to a row: a whole number that a database id column can hold (no floats, no 10**20)."""
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID), **kwargs)
