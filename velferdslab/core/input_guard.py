"""One guard for hostile input, in front of every route.

Before any view, form or schema sees a request, this looks at everything a client typed — the query
string, the form body and a JSON body, keys as well as values — and refuses what no field of the
app can store or compute with:

* a NUL byte or a lone UTF-16 surrogate (``"\\ud800"`` in JSON): PostgreSQL refuses NUL in text and
  the driver cannot encode a surrogate, so either would end in a 500 deep inside a service;
* JSON nested deeper than :data:`MAX_JSON_DEPTH` (1 000 levels exhausted Python's recursion limit
  in the JSON decoder);
* an ISO date (``YYYY-MM-DD``, with or without a time) outside :data:`MIN_YEAR`–:data:`MAX_YEAR`:
  ``0001-01-01`` minus a day, or ``9999-12-31`` plus one, overflows Python's date arithmetic;
* a whole number no 64-bit integer column holds: in the query string (``family_id=99999999999999999999``)
  or as a JSON number.

Each refusal answers 422 (400 for a body that is too deep to read) with the field named, as JSON
under ``/api`` and as the Norwegian error page elsewhere, and nothing reaches the database. Bounds
that depend on the field (a 32-bit id, a level from 1 to 4) stay with the field: ``core.schemas.Id``
and ``core.forms.IdField``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from flask import Flask, request
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from velferdslab.core.errors import error_response

MAX_JSON_DEPTH = 32
MIN_YEAR, MAX_YEAR = 1900, 2100
MAX_INTEGER = 2**63 - 1  # PostgreSQL BIGINT

_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")
# An ISO 8601 date (or date and time), the form every date field is sent in. Only this exact shape:
# free text such as a reference "15-3-2024" is not a date to refuse. Other forms a parser might still
# read (``00010101``, week dates) are refused by the date fields themselves (core.schemas, core.forms).
_DATE = re.compile(r"\s*(\d{4})-\d{2}-\d{2}(?:[T ][0-9:.,+\-Z]*)?\s*", re.ASCII)
_INTEGER = re.compile(r"\s*[+-]?\d+\s*", re.ASCII)


class TooDeep(ValueError):
    pass


def field_name(key: str) -> str:
    """A key fit to show back: a hostile key is shown with its bad characters escaped."""
    return _BAD_CHARACTER.sub(lambda m: f"\\u{ord(m.group()):04x}", key) or "_schema"


def text_problem(value: str, *, numbers: bool = False) -> str | None:
    """Why a typed value cannot be accepted by any field, or None.

    With ``numbers`` (query strings: ids, pages, years) a whole number beyond 64 bits is refused as
    well; in a body a long string of digits may be text (a 25-digit payment reference, KID)."""
    if _BAD_CHARACTER.search(value):
        return _("Feltet inneholder et tegn som ikke kan lagres (for eksempel en NUL-byte).")
    date = _DATE.fullmatch(value)
    if date and not MIN_YEAR <= int(date.group(1)) <= MAX_YEAR:
        return _("Datoen må være mellom år %(min)d og %(max)d.", min=MIN_YEAR, max=MAX_YEAR)
    # The length first: int() of more than 4 300 digits raises (CPython's limit) instead of answering.
    if numbers and _INTEGER.fullmatch(value) and (len(value.strip().lstrip("+-").lstrip("0")) > 19
                                      or abs(int(value)) > MAX_INTEGER):
        return _("Tallet er for stort.")
    return None


def _number_problem(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INTEGER:
        return _("Tallet er for stort.")
    return None


def _walk_json(document: Any) -> Iterator[tuple[str, Any, bool]]:
    """(field path, value, is_key) for every key and scalar value, without recursion.

    Raises :class:`TooDeep` past :data:`MAX_JSON_DEPTH`.
    """
    stack: list[tuple[str, Any, int]] = [("", document, 0)]
    while stack:
        path, value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise TooDeep(path)
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, child in items:
                child_path = f"{path}.{key}" if path else str(key)
                if isinstance(key, str):
                    yield child_path, key, True
                stack.append((child_path, child, depth + 1))
        else:
            yield path or "_schema", value, False


def _form_problems(values: MultiDict, *, numbers: bool = False) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for key, value in values.items(multi=True):
        for text in (key, value):
            problem = text_problem(text, numbers=numbers) if isinstance(text, str) else None
            if problem:
                errors.setdefault(field_name(key), []).append(problem)
                break
    return errors


def _json_problems() -> tuple[int, dict[str, list[str]]] | None:
    body = request.get_data(cache=True)
    if not body:
        return None
    try:
        document = json.loads(body)
    except RecursionError:
        return 400, {"_schema": [_too_deep()]}
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None  # not JSON at all: the API's parser answers 400 for that
    except ValueError:
        # A number of more than 4 300 digits: the decoder refuses it, and the API's parser would not
        # catch that refusal (it expects only malformed JSON).
        return 400, {"_schema": [_("Tallet er for stort.")]}
    errors: dict[str, list[str]] = {}
    try:
        for path, value, is_key in _walk_json(document):
            if is_key:  # a key is a name, not a date or a number: only its characters matter
                problem = text_problem(value) if _BAD_CHARACTER.search(value) else None
            elif isinstance(value, str):
                problem = text_problem(value)
            else:
                problem = _number_problem(value)
            if problem:
                errors.setdefault(field_name(path), []).append(problem)
    except TooDeep as deep:
        return 400, {field_name(str(deep)): [_too_deep()]}
    return (422, errors) if errors else None


def _too_deep() -> str:
    return _("Innholdet er nestet for dypt (høyst %(max)d nivåer).", max=MAX_JSON_DEPTH)


def refuse_hostile_input():
    """before_request: answer 422/400 naming the field, or let the request through."""
    errors = _form_problems(request.args, numbers=True)
    status = 422
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        if request.is_json:
            found = _json_problems()
            if found:
                status = found[0] if found[0] == 400 else status
                errors.update(found[1])
        elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            errors.update(_form_problems(request.form))
    return error_response(status, errors) if errors else None


def init_app(app: Flask) -> None:
    app.before_request(refuse_hostile_input)
