"""Language: bokmål first, English available (and nynorsk on the family's own pages); times shown in
Europe/Oslo."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import format_date, format_datetime, get_locale
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
    return format_date(value, fmt)


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: "Europe/Oslo")
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["languages_here"] = languages_here
    app.jinja_env.filters["nok"] = format_nok
    app.jinja_env.filters["dt"] = local_datetime
    app.jinja_env.filters["d"] = local_date
