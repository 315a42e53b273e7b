"""Language: bokmål first, English available (and nynorsk on the family's own pages); times shown in
Europe/Oslo."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import fields, is_dataclass, replace
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import LazyString, format_date, format_datetime, get_locale, get_translations
from flask_login import current_user

from velferdslab.core.models import OSLO
from velferdslab.core.money import format_nok
from velferdslab.extensions import babel


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    """Mark a bokmål msgid for extraction without translating it (pybabel's default keyword).

    For text fixed at import time where lazy text will not do (marshmallow keeps error messages as
    given); whoever shows it translates it then, e.g. ``core.errors.translate_messages``.
    """
    return message


def on_family_pages() -> bool:
    """Whether this request is for the family's own pages (Min side), which speak nynorsk too."""
    path = current_app.config["FAMILY_PATH"]
    return has_request_context() and (request.path == path or request.path.startswith(path + "/"))


def languages_here() -> tuple[str, ...]:
    """The languages this page is offered in: bokmål and English everywhere, nynorsk as well on the
    family's pages (the staff pages have no nynorsk catalogue of their own)."""
    return current_app.config["FAMILY_LANGUAGES" if on_family_pages() else "LANGUAGES"]


def select_locale() -> str:
    if not has_request_context():  # CLI and background jobs speak the configured language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = languages_here()
    chosen = session.get("lang")
    if isinstance(chosen, str) and chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def local_datetime(value: datetime | None, fmt: str = "dd.MM.yyyy HH:mm") -> str:
    if value is None:
        return ""
    return format_datetime(value, fmt)


def local_date(value: date | datetime | None, fmt: str = "dd.MM.yyyy") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(OSLO).date()
    locale = get_locale()
    return format_date(value, fmt) if locale is None else _formatted_date(value, fmt, str(locale))


@lru_cache(maxsize=8192)
def _formatted_date(value: date, fmt: str, language: str) -> str:
    """A day in a pattern and language, formatted once (a family page shows some 70 dates, most of
    them the same few days; Babel's formatting is the cost). ``language`` is the request's locale,
    the one ``format_date`` formats in."""
    return format_date(value, fmt)


def _current_language() -> str:
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


def _translated(value: Any) -> Any:
    """``value`` in the current language: a lazy string as ``str``; a frozen dataclass (a theme) with
    its lazy fields translated; anything else as it is."""
    if is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: str(v) for f in fields(value) if _is_lazy(v := getattr(value, f.name))}
        return replace(value, **changes) if changes else value
    return str(value) if _is_lazy(value) else value


def _is_lazy(value: Any) -> bool:
    return isinstance(value, LazyString)


class TranslatedTable(Mapping):
    """A label table (``{code: lazy label}``, or ``{code: theme}``) translated **once per language**
    and kept, instead of once per table cell (issue 19: a lazy string runs gettext every time it is
    shown, which was a third of the family page's time). Read-only: a lookup of an unknown code
    raises ``KeyError``, so a template's ``labels[code]`` is undefined as with a dict.

    The translations of a language do not change while the app runs (the catalogues are compiled
    files), so keeping them per language is safe."""

    def __init__(self, table: Mapping) -> None:
        self._table = dict(table)
        self._by_language: dict[str, dict] = {}
        self._lock = threading.Lock()

    def _current(self) -> dict:
        language = _current_language()
        found = self._by_language.get(language)
        if found is None:
            found = {code: _translated(value) for code, value in self._table.items()}
            with self._lock:
                self._by_language[language] = found
        return found

    def __getitem__(self, code: Any) -> Any:
        return self._current()[code]

    def __iter__(self) -> Iterator:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def __contains__(self, code: object) -> bool:
        return code in self._table

    def __repr__(self) -> str:
        return f"TranslatedTable({self._table!r})"


def translated_tables(tables: Mapping[str, Any]) -> dict[str, Any]:
    """Template globals with every label table (a mapping of lazy strings or of dataclasses holding
    them) wrapped in a :class:`TranslatedTable`; other values as they are."""
    def is_table(value: Any) -> bool:
        return isinstance(value, Mapping) and not isinstance(value, TranslatedTable) and any(
            _is_lazy(v) or (is_dataclass(v) and any(_is_lazy(getattr(v, f.name)) for f in fields(v)))
            for v in value.values())
    return {name: TranslatedTable(value) if is_table(value) else value for name, value in tables.items()}


def _translations() -> Any:
    """The current language's catalogue, looked up once per request and language.

    Flask-Babel's own template ``_()`` asks :func:`flask_babel.get_translations` every time, which
    walks the request's babel context four or five times (domain, locale, cache) per string: some
    150 strings a family page (issue 19). The catalogue found is kept on that same context next to
    the locale it was found for, and used while the request's locale is that very object;
    ``force_locale`` and ``flask_babel.refresh`` put a new locale object there, so the next string
    finds its catalogue again."""
    ctx = getattr(g, "_flask_babel", None) if g else None
    locale = getattr(ctx, "babel_locale", None)
    kept = getattr(ctx, "velferdslab_translations", None)
    if kept is not None and locale is not None and kept[0] is locale:
        return kept[1]
    translations = get_translations()  # sets the request's locale (and context) when not yet set
    ctx = getattr(g, "_flask_babel", None) if g else None
    if ctx is not None and getattr(ctx, "babel_locale", None) is not None:
        ctx.velferdslab_translations = (ctx.babel_locale, translations)
    return translations


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: "Europe/Oslo")
    # The same callables as Flask-Babel installs, with the catalogue looked up once per request.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]  # added by jinja2.ext.i18n
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True)
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["languages_here"] = languages_here
    app.jinja_env.filters["nok"] = format_nok
    app.jinja_env.filters["dt"] = local_datetime
    app.jinja_env.filters["d"] = local_date
