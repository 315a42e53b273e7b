"""Settings from environment variables, all prefixed ``VELFERDSLAB_``.

Development gets an embedded SQLite database and a secret generated once into ``instance/``.
Production refuses to start without a real secret and a real (PostgreSQL) database.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import overload

from zxcvbn import zxcvbn

PREFIX = "VELFERDSLAB_"
ENVIRONMENTS = ("development", "production", "testing")


class ConfigError(SystemExit):
    """A setting that makes it unsafe to start; the message is one line for the operator."""

    def __init__(self, message: str) -> None:
        super().__init__(f"velferdslab: configuration error: {message}")


@overload
def env(name: str, default: str) -> str: ...
@overload
def env(name: str, default: str | None = None) -> str | None: ...
def env(name: str, default: str | None = None) -> str | None:
    """The variable ``VELFERDSLAB_<name>``; ``default`` when it is unset or empty."""
    value = os.environ.get(PREFIX + name)
    return value if value not in (None, "") else default


def env_positive_int(name: str, default: int) -> int:
    value = env_int(name, default)
    if value < 1:
        raise ConfigError(f"{PREFIX}{name} must be at least 1, got {value}")
    return value


def env_int(name: str, default: int) -> int:
    raw = env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{PREFIX}{name} must be a whole number, got {raw!r}") from None


def env_bool(name: str, default: bool) -> bool:
    raw = env(name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{PREFIX}{name} must be true or false, got {raw!r}")


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever driver the URL names (or none)."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


# Database time limits (see docs/reliability.md, items 5 and 6). Every default is far below
# gunicorn's worker time-out (30 s, the README's command does not change it), so a request that
# cannot get the database answers 503 itself instead of being killed by gunicorn.
DATABASE_TIMEOUT_DEFAULTS = {
    "statement_timeout_ms": ("DB_STATEMENT_TIMEOUT_MS", 10_000),
    "lock_timeout_ms": ("DB_LOCK_TIMEOUT_MS", 3_000),
    "idle_in_transaction_timeout_ms": ("DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", 15_000),
    "connect_timeout": ("DB_CONNECT_TIMEOUT", 5),  # seconds; libpq counts at least 2
    "pool_timeout": ("DB_POOL_TIMEOUT", 5),  # seconds waiting for a free pooled connection
    "keepalives_idle": ("DB_KEEPALIVES_IDLE", 30),  # seconds of silence before the first probe
    "keepalives_interval": ("DB_KEEPALIVES_INTERVAL", 10),
    "keepalives_count": ("DB_KEEPALIVES_COUNT", 3),
    "tcp_user_timeout_ms": ("DB_TCP_USER_TIMEOUT_MS", 20_000),  # unacknowledged data this long: dead
}


def database_timeouts() -> dict[str, int]:
    """The database time limits from the environment; 0 turns a server-side limit off."""
    timeouts = {}
    for key, (name, default) in DATABASE_TIMEOUT_DEFAULTS.items():
        value = env_int(name, default)
        if value < 0:
            raise ConfigError(f"{PREFIX}{name} must not be negative, got {value}")
        timeouts[key] = value
    return timeouts


def postgresql_connect_args(timeouts: dict[str, int]) -> dict:
    """psycopg/libpq connection parameters: server-side limits sent at connect (``options``), the
    connect time-out and TCP keepalives, so a dead peer is noticed in seconds, not hours."""
    options = " ".join([
        f"-c statement_timeout={timeouts['statement_timeout_ms']}",
        f"-c lock_timeout={timeouts['lock_timeout_ms']}",
        f"-c idle_in_transaction_session_timeout={timeouts['idle_in_transaction_timeout_ms']}",
    ])
    return {"options": options, "connect_timeout": timeouts["connect_timeout"], "keepalives": 1,
            "keepalives_idle": timeouts["keepalives_idle"], "keepalives_interval": timeouts["keepalives_interval"],
            "keepalives_count": timeouts["keepalives_count"], "tcp_user_timeout": timeouts["tcp_user_timeout_ms"]}


def ratelimit_storage_uri(redis_url: str | None) -> str:
    """Where the sign-in limits are counted: Redis through ``core.ratelimit``'s storage, which
    falls back to per-process counting while Redis is down; in memory when no Redis is set."""
    if not redis_url:
        return "memory://"
    if redis_url.startswith("unix://"):
        redis_url = "redis+" + redis_url
    if not redis_url.startswith(("redis://", "rediss://", "redis+unix://")):
        raise ConfigError(f"{PREFIX}REDIS_URL must start with redis://, rediss:// or unix://")
    return "velferdslab+" + redis_url


def secret_is_weak(secret: str) -> bool:
    """Too predictable to sign sessions: few distinct characters (``"a" * 32``) or, by zxcvbn's
    estimate, fewer than 10**24 guesses (~80 bits: ``"changeme" * 4``, sequences, words)."""
    return len(set(secret)) < 10 or zxcvbn(secret[:72])["guesses_log10"] < 24


def _secret_key(environment: str, instance: Path) -> str:
    """``VELFERDSLAB_SECRET_KEY``; in production it must exist and be long and unpredictable."""
    secret = env("SECRET_KEY")
    production = environment == "production"
    if secret is None:
        if production:
            raise ConfigError(f"{PREFIX}SECRET_KEY is not set; generate one with `python -c "
                              "'import secrets; print(secrets.token_urlsafe(48))'`")
        secret = _dev_secret(instance) if environment == "development" else "testing-only-secret"
    elif production and len(secret) < 32:
        raise ConfigError(f"{PREFIX}SECRET_KEY is too short; use at least 32 random characters")
    elif production and secret_is_weak(secret):
        raise ConfigError(f"{PREFIX}SECRET_KEY is too predictable (repeated or guessable characters); generate "
                          "one with `python -c 'import secrets; print(secrets.token_urlsafe(48))'`")
    return secret


def _dev_secret(instance_path: Path) -> str:
    """A secret generated once and kept in instance/, so dev sessions survive restarts."""
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def load(instance_path: str, overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from the environment (and test overrides)."""
    overrides = dict(overrides or {})
    environment = overrides.pop("ENV", None) or env("ENV", "development")
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"{PREFIX}ENV must be one of {', '.join(ENVIRONMENTS)}, got {environment!r}")
    instance = Path(instance_path)
    production = environment == "production"

    database_url = env("DATABASE_URL")
    if database_url is None:
        if production:
            raise ConfigError(f"{PREFIX}DATABASE_URL is not set; production needs PostgreSQL")
        instance.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{instance / 'velferdslab.sqlite3'}"
    database_url = normalise_database_url(overrides.pop("SQLALCHEMY_DATABASE_URI", None) or database_url)
    if production and database_url.startswith("sqlite"):
        raise ConfigError("production refuses SQLite; set VELFERDSLAB_DATABASE_URL to a PostgreSQL URL")

    secret = _secret_key(environment, instance)
    redis_url = env("REDIS_URL")
    trusted_proxies = env_int("TRUSTED_PROXIES", 0)
    if not 0 <= trusted_proxies <= 10:
        raise ConfigError(f"{PREFIX}TRUSTED_PROXIES is the number of proxy hops in front of the app (0-10), "
                          f"got {trusted_proxies}")
    report_database_url = env("REPORT_DATABASE_URL")
    timeouts = database_timeouts()
    # hide_parameters keeps personal data out of the SQL errors that reach the logs.
    engine_options: dict = {"pool_pre_ping": True, "hide_parameters": True,
                            "pool_timeout": timeouts["pool_timeout"],
                            "connect_args": postgresql_connect_args(timeouts)}
    if database_url.startswith("sqlite"):
        engine_options = {"connect_args": {"timeout": 30}, "hide_parameters": True}

    config = {
        "VELFERDSLAB_ENV": environment,
        "DEBUG": False,
        "TESTING": environment == "testing",
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "DATABASE_TIMEOUTS": timeouts,
        "DATABASE_RETRY_AFTER": env_int("DB_RETRY_AFTER_SECONDS", 5),
        # A request still holding database connections this long has them cut (core.database): it
        # answers 503 before gunicorn's 30 s worker time-out. 0 turns the deadline off.
        "DATABASE_REQUEST_DEADLINE": env_int("DB_REQUEST_DEADLINE_SECONDS", 25),
        "SQLALCHEMY_BINDS": {"reports": normalise_database_url(report_database_url)}
        if report_database_url else {},
        "REDIS_URL": redis_url,
        # Sessions: cookie holds only a random session id; the session itself lives in the database.
        "SESSION_COOKIE_NAME": "velferdslab_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "SESSION_IDLE_TIMEOUT": timedelta(minutes=env_int("SESSION_IDLE_MINUTES", 30)),
        "SESSION_ABSOLUTE_TIMEOUT": timedelta(hours=env_int("SESSION_MAX_HOURS", 12)),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=env_int("SESSION_MAX_HOURS", 12)),
        # API tokens end after this many days, and after this many days unused (issue 12, item 12).
        "API_TOKEN_LIFETIME": timedelta(days=env_int("API_TOKEN_DAYS", 90)),
        "API_TOKEN_IDLE_TIMEOUT": timedelta(days=env_int("API_TOKEN_IDLE_DAYS", 30)),
        # A browser-session cookie (gone when the browser closes: shared PCs in family homes) unless
        # asked for; the server-side idle and absolute limits above hold either way.
        "SESSION_PERSISTENT": env_bool("SESSION_PERSISTENT", False),
        # Strict-Transport-Security, production only by default (development runs on plain http).
        "HSTS_SECONDS": env_int("HSTS_SECONDS", 365 * 24 * 3600 if production else 0),
        "REMEMBER_COOKIE_DURATION": timedelta(seconds=0),
        "MAX_CONTENT_LENGTH": env_int("MAX_CONTENT_LENGTH", 1024 * 1024),
        "BABEL_DEFAULT_LOCALE": env("LANGUAGE", "nb"),
        "BABEL_DEFAULT_TIMEZONE": "Europe/Oslo",
        "LANGUAGES": ("nb", "en"),
        "SUPPRESSION_THRESHOLD": env_int("SUPPRESSION_THRESHOLD", 5),
        # The outcome report's cell-key perturbation (reports.cellkey); off only for tests of exact figures.
        "REPORT_CELL_KEY": env_bool("REPORT_CELL_KEY", True),
        # How long the team lead may undo ending a membership, handing over the lead or withdrawing a
        # consent (issue 13), provided nothing has come to depend on the change since.
        "UNDO_MINUTES": env_positive_int("UNDO_MINUTES", 10),
        "LOGIN_LIMITS": env("LOGIN_LIMITS", "10 per 15 minutes"),
        "LOGIN_ADDRESS_LIMITS": env("LOGIN_ADDRESS_LIMITS", "30 per 15 minutes"),
        # Every page and API call (issue 12, item 17): per signed-in user, and per address (an
        # office behind one NAT address shares it, so it is the wider of the two).
        "REQUEST_LIMIT_PER_USER": env("REQUEST_LIMIT_PER_USER", "300 per minute"),
        "REQUEST_LIMIT_PER_ADDRESS": env("REQUEST_LIMIT_PER_ADDRESS", "1200 per minute"),
        "RATELIMIT_STORAGE_URI": ratelimit_storage_uri(redis_url),
        # Reverse proxies in front of the app whose X-Forwarded-For / X-Forwarded-Proto are believed:
        # 0 (the default) believes none, so a client cannot choose its own address.
        "TRUSTED_PROXIES": trusted_proxies,
        "RATELIMIT_KEY_PREFIX": env("RATELIMIT_PREFIX", "velferdslab"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session, which has its own limits
        "WTF_CSRF_CHECK_DEFAULT": False,  # checked in core.security, which exempts bearer-token API calls
        "WTF_CSRF_SSL_STRICT": production,
        "AUDIT_SIGNING_KEY": env("AUDIT_SIGNING_KEY"),
        "AUDIT_CHECKPOINT_DIR": env("AUDIT_CHECKPOINT_DIR", str(instance / "audit-checkpoints")),
        "AUDIT_MANY_FAMILIES_PER_DAY": env_int("AUDIT_MANY_FAMILIES_PER_DAY", 20),
        "AUDIT_CHECKPOINT_MAX_AGE_HOURS": env_positive_int("AUDIT_CHECKPOINT_MAX_AGE_HOURS", 25),
        "API_TITLE": "Velferdslab API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
    }
    config.update(overrides)
    return config
