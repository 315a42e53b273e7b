"""URL converters shared by every blueprint."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

# Ids are 32-bit integer columns; a larger path id cannot name a row.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:…>`` that matches only values a database id column can hold.

    Werkzeug's converter accepts any length of digits, and a 20-digit id reached the database
    driver (SQLite raises OverflowError on it). Out-of-range ids simply do not match: 404.
    """

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter


def is_safe_redirect(target: str | None) -> bool:
    """Only same-site paths: '/x', never '//host', 'http://…', backslashes or control characters."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    return not any(c in target for c in ("\\", "\r", "\n", "\t")) and ":" not in target.split("?")[0]
