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


def env_seconds_list(name: str, default: str) -> list[int]:
    """A comma-separated list of whole seconds (``60,300,1800``)."""
    raw = env(name, default)
    try:
        values = [int(x) for x in raw.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"{PREFIX}{name} must be whole seconds separated by commas, got {raw!r}") from None
    if any(v < 0 for v in values):
        raise ConfigError(f"{PREFIX}{name} must not be negative, got {raw!r}")
    return values


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


def _dev_secret(instance_path: Path, name: str = "secret_key") -> str:
    """A secret generated once and kept in instance/, so dev sessions survive restarts."""
    path = instance_path / name
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


SMTP_SECURITY = ("starttls", "tls", "none")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def smtp_settings(environment: str, instance: Path) -> dict:
    """Where notification e-mail goes (``VELFERDSLAB_SMTP_*``).

    Without ``SMTP_HOST``, development and testing write each mail to the console and to
    ``instance/mail/``; production sends nothing (every delivery is reported failed,
    ``not_configured``) — there is no working default outside development. With a host, the sender
    is required, a user needs its password, and plain SMTP (``SMTP_SECURITY=none``) is allowed only
    to a relay on this machine.
    """
    host = env("SMTP_HOST")
    mail_dir = env("MAIL_DIR", str(instance / "mail"))
    if host is None:
        backend = "disabled" if environment == "production" else "console"
        return {"backend": backend, "mail_dir": mail_dir, "sender": env("SMTP_SENDER", "velferdslab@localhost")}
    security = env("SMTP_SECURITY", "starttls")
    if security not in SMTP_SECURITY:
        raise ConfigError(f"{PREFIX}SMTP_SECURITY must be one of {', '.join(SMTP_SECURITY)}, got {security!r}")
    if security == "none" and host not in LOCAL_HOSTS and environment == "production":
        raise ConfigError(f"{PREFIX}SMTP_SECURITY=none is allowed only to a relay on this machine; use starttls or tls")
    sender = env("SMTP_SENDER")
    if sender is None:
        raise ConfigError(f"{PREFIX}SMTP_SENDER is not set (the From address of notification e-mail)")
    user, password = env("SMTP_USER"), env("SMTP_PASSWORD")
    if user is not None and password is None:
        raise ConfigError(f"{PREFIX}SMTP_PASSWORD is not set for {PREFIX}SMTP_USER")
    port = env_positive_int("SMTP_PORT", 465 if security == "tls" else 587 if security == "starttls" else 25)
    return {"backend": "smtp", "host": host, "port": port, "security": security, "user": user,
            "password": password, "sender": sender, "timeout": env_positive_int("SMTP_TIMEOUT", 10),
            "mail_dir": mail_dir}


def _public_url(environment: str, smtp: dict) -> str:
    """The address links in e-mail and calendar feeds start with (``VELFERDSLAB_PUBLIC_URL``)."""
    url = env("PUBLIC_URL")
    if url is None:
        if environment == "production" and smtp["backend"] == "smtp":
            raise ConfigError(f"{PREFIX}PUBLIC_URL is not set; e-mail links need the app's address "
                              "(https://velferdslab.example.kommune.no)")
        return "http://127.0.0.1:5000"
    if not url.startswith(("https://", "http://")):
        raise ConfigError(f"{PREFIX}PUBLIC_URL must start with https:// or http://")
    return url.rstrip("/")
# OpenID Connect sign-in (docs/signin.md): "family" is ID-porten in production, "staff" the
# municipality's Entra ID or another provider. A provider is on when its issuer is set.
OIDC_PROVIDERS = ("family", "staff")
OIDC_DEFAULT_ACR = {"family": "idporten-loa-high", "staff": ""}


def _oidc_provider(name: str, environment: str) -> dict | None:
    key = f"OIDC_{name.upper()}_"
    issuer = env(key + "ISSUER")
    if issuer is None:
        return None
    production = environment == "production"
    if production and not issuer.startswith("https://"):
        raise ConfigError(f"{PREFIX}{key}ISSUER must be an https:// address in production")
    client_id = env(key + "CLIENT_ID")
    if client_id is None:
        raise ConfigError(f"{PREFIX}{key}CLIENT_ID is not set; it is the client id from the provider's registration")
    client_secret = env(key + "CLIENT_SECRET")
    if client_secret is None and environment != "testing":
        raise ConfigError(f"{PREFIX}{key}CLIENT_SECRET is not set; it is the secret from the provider's registration")
    if production and client_secret is not None and len(client_secret) < 16:
        raise ConfigError(f"{PREFIX}{key}CLIENT_SECRET is too short for a real client registration")
    acr = env(key + "ACR", OIDC_DEFAULT_ACR[name])
    return {
        "issuer": issuer.rstrip("/"),
        "client_id": client_id,
        "client_secret": client_secret or "",
        "scope": env(key + "SCOPE", "openid profile" if name == "family" else "openid profile email"),
        # The assurance levels accepted (the ID token's ``acr`` must be one); empty: any.
        "acr_values": [a.strip() for a in acr.split(",") if a.strip()],
        # Where the provider sends the browser after its own sign-out; empty: the app's own page.
        "post_logout_redirect_uri": env(key + "POST_LOGOUT_REDIRECT_URI"),
    }


def _role_map(raw: str | None) -> dict[str, str]:
    """``claim-value=role,claim-value=role`` (VELFERDSLAB_OIDC_STAFF_ROLE_MAP) as a mapping; the roles
    are checked against the known ones when the app starts (``auth.oidc``: config may not import core)."""
    mapping = {}
    for item in (raw or "").split(","):
        if not item.strip():
            continue
        value, _sep, role = item.partition("=")
        if not _sep or not value.strip() or not role.strip():
            raise ConfigError(f"{PREFIX}OIDC_STAFF_ROLE_MAP must be claim-value=role pairs; got {item.strip()!r}")
        mapping[value.strip()] = role.strip()
    return mapping


def _identity_key(environment: str, instance: Path, family_oidc: bool) -> str:
    """``VELFERDSLAB_IDENTITY_KEY``: the key of the HMAC that stands in for a person's identifier."""
    key = env("IDENTITY_KEY")
    if key is None:
        if environment == "production":
            if family_oidc:
                raise ConfigError(f"{PREFIX}IDENTITY_KEY is not set; family sign-in needs it (generate one with "
                                  "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`)")
            return ""
        return _dev_secret(instance, "identity_key") if environment == "development" else "testing-only-identity"
    if environment == "production" and (len(key) < 32 or secret_is_weak(key)):
        raise ConfigError(f"{PREFIX}IDENTITY_KEY is too short or too predictable; use at least 32 random characters")
    return key


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
    smtp = smtp_settings(environment, instance)
    timeouts = database_timeouts()
    # hide_parameters keeps personal data out of the SQL errors that reach the logs.
    engine_options: dict = {"pool_pre_ping": True, "hide_parameters": True,
                            "pool_timeout": timeouts["pool_timeout"],
                            "connect_args": postgresql_connect_args(timeouts)}
    if database_url.startswith("sqlite"):
        engine_options = {"connect_args": {"timeout": 30}, "hide_parameters": True}

    oidc = {name: provider for name in OIDC_PROVIDERS if (provider := _oidc_provider(name, environment))}
    password_login = env_bool("PASSWORD_LOGIN", True)
    if not password_login and "staff" not in oidc:
        raise ConfigError(f"{PREFIX}PASSWORD_LOGIN=off needs staff sign-in with OpenID Connect "
                          f"({PREFIX}OIDC_STAFF_ISSUER); otherwise nobody can sign in")

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
        # The family's own pages (Min side, under FAMILY_PATH) also speak nynorsk (issue 16).
        "FAMILY_LANGUAGES": ("nb", "nn", "en"),
        "FAMILY_PATH": "/min-side",
        "SUPPRESSION_THRESHOLD": env_int("SUPPRESSION_THRESHOLD", 5),
        # Outcomes per person (issue 15): the ages of the young people an outcome contract pays for.
        "OUTCOME_PERSON_MIN_AGE": env_int("OUTCOME_PERSON_MIN_AGE", 16),
        "OUTCOME_PERSON_MAX_AGE": env_int("OUTCOME_PERSON_MAX_AGE", 25),
        # The outcome report's cell-key perturbation (reports.cellkey); off only for tests of exact figures.
        "REPORT_CELL_KEY": env_bool("REPORT_CELL_KEY", True),
        # With the cell key on, the report publishes closed quarters only (reports.releases): a
        # quarter is published this many days after it ended, computed as recorded at that moment,
        # and held back while fewer than REPORT_RELEASE_MIN_CHANGES of its families changed since
        # the quarter before.
        "REPORT_RELEASE_LAG_DAYS": env_positive_int("REPORT_RELEASE_LAG_DAYS", 14),
        # The outcome report's statements (on PostgreSQL) get this statement timeout instead of the
        # pages' DB_STATEMENT_TIMEOUT_MS: its aggregates over a large lab take longer.
        "REPORT_STATEMENT_TIMEOUT_MS": env_positive_int("REPORT_STATEMENT_TIMEOUT_MS", 60_000),
        "REPORT_RELEASE_MIN_CHANGES": env_positive_int("REPORT_RELEASE_MIN_CHANGES", 5),
        # A published report's statement rows are kept once computed (reports.snapshots): later
        # readings read them back. Kept only once the release instant is this many seconds old.
        "REPORT_SNAPSHOTS": env_bool("REPORT_SNAPSHOTS", True),
        "REPORT_SNAPSHOT_SETTLE_SECONDS": env_int("REPORT_SNAPSHOT_SETTLE_SECONDS", 300),
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
        # Notifications (issue 18): e-mail, its links, when an action's deadline is "soon".
        "SMTP": smtp,
        "PUBLIC_URL": _public_url(environment, smtp),
        "NOTIFY_ACTION_DAYS": env_positive_int("NOTIFY_ACTION_DAYS", 3),
        "NOTIFY_RETRY_INTERVALS": env_seconds_list("NOTIFY_RETRY_INTERVALS", "60,300,1800"),
        "OIDC_PROVIDERS": oidc,
        "PASSWORD_LOGIN": password_login,
        # The staff claim matched against a user's e-mail, and the claim whose values map to roles
        # (unset: the roles stay as the app has them).
        "OIDC_STAFF_EMAIL_CLAIM": env("OIDC_STAFF_EMAIL_CLAIM", "email"),
        "OIDC_STAFF_ROLES_CLAIM": env("OIDC_STAFF_ROLES_CLAIM"),
        "OIDC_STAFF_ROLE_MAP": _role_map(env("OIDC_STAFF_ROLE_MAP")),
        "IDENTITY_KEY": _identity_key(environment, instance, "family" in oidc),
        # The family's own session (Min side): its own cookie, shorter limits than staff's.
        "FAMILY_SESSION_COOKIE": "velferdslab_familie",
        "FAMILY_SESSION_IDLE_TIMEOUT": timedelta(minutes=env_positive_int("FAMILY_SESSION_IDLE_MINUTES", 15)),
        "FAMILY_SESSION_ABSOLUTE_TIMEOUT": timedelta(hours=env_positive_int("FAMILY_SESSION_MAX_HOURS", 2)),
        "FAMILY_INVITATION_LIFETIME": timedelta(hours=env_positive_int("FAMILY_INVITATION_HOURS", 72)),
        "API_TITLE": "Velferdslab API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
    }
    config.update(overrides)
    return config
