"""Configuration: a working development default, and a production that refuses unsafe settings."""

import secrets

import pytest

from velferdslab import config


def _clear(monkeypatch):
    for name in ("ENV", "DATABASE_URL", "SECRET_KEY", "REDIS_URL"):
        monkeypatch.delenv(config.PREFIX + name, raising=False)


def test_development_defaults_to_sqlite_and_a_secret_made_once(monkeypatch, tmp_path):
    _clear(monkeypatch)
    first = config.load(str(tmp_path))
    assert first["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'velferdslab.sqlite3'}"
    assert len(first["SECRET_KEY"]) >= 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert config.load(str(tmp_path))["SECRET_KEY"] == first["SECRET_KEY"]
    assert first["SESSION_COOKIE_SECURE"] is False
    assert first["RATELIMIT_STORAGE_URI"] == "memory://"


@pytest.mark.parametrize("env, message", [
    ({}, "VELFERDSLAB_DATABASE_URL is not set"),
    ({"DATABASE_URL": "sqlite:////tmp/x.sqlite3", "SECRET_KEY": "s" * 40}, "production refuses SQLite"),
    ({"DATABASE_URL": "postgresql://db/velferdslab"}, "VELFERDSLAB_SECRET_KEY is not set"),
    ({"DATABASE_URL": "postgresql://db/velferdslab", "SECRET_KEY": "short"}, "too short"),
    # Item 23: long enough but predictable.
    ({"DATABASE_URL": "postgresql://db/velferdslab", "SECRET_KEY": "a" * 32}, "too predictable"),
    ({"DATABASE_URL": "postgresql://db/velferdslab", "SECRET_KEY": "changeme" * 4}, "too predictable"),
    ({"DATABASE_URL": "postgresql://db/velferdslab", "SECRET_KEY": "p" * 48}, "too predictable"),
    ({"DATABASE_URL": "postgresql://db/velferdslab", "SECRET_KEY": "abcdefghijklmnopqrstuvwxyz0123456789"},
     "too predictable"),
    ({"DATABASE_URL": "postgresql://db/velferdslab", "SECRET_KEY": "passwordpasswordpasswordpassword"},
     "too predictable"),
])
def test_production_refuses_to_start(monkeypatch, tmp_path, env, message):
    _clear(monkeypatch)
    monkeypatch.setenv("VELFERDSLAB_ENV", "production")
    for name, value in env.items():
        monkeypatch.setenv(config.PREFIX + name, value)
    with pytest.raises(SystemExit) as raised:
        config.load(str(tmp_path))
    text = str(raised.value)
    assert message in text
    assert "\n" not in text  # one line for the operator
    assert not (tmp_path / "secret_key").exists()


def test_production_with_postgresql_and_a_secret(monkeypatch, tmp_path):
    _clear(monkeypatch)
    monkeypatch.setenv("VELFERDSLAB_ENV", "production")
    monkeypatch.setenv("VELFERDSLAB_DATABASE_URL", "postgresql://app@db/velferdslab")
    monkeypatch.setenv("VELFERDSLAB_SECRET_KEY", secrets.token_urlsafe(48))
    monkeypatch.setenv("VELFERDSLAB_REDIS_URL", "redis://cache:6379/0")
    loaded = config.load(str(tmp_path))
    assert loaded["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://app@db/velferdslab"
    assert loaded["SESSION_COOKIE_SECURE"] is True
    # Redis through the storage that falls back to per-process counting (core.ratelimit, item 7).
    assert loaded["RATELIMIT_STORAGE_URI"] == "velferdslab+redis://cache:6379/0"


def test_bad_numbers_and_unknown_environment_are_refused(monkeypatch, tmp_path):
    _clear(monkeypatch)
    monkeypatch.setenv("VELFERDSLAB_SESSION_IDLE_MINUTES", "thirty")
    with pytest.raises(SystemExit, match="SESSION_IDLE_MINUTES must be a whole number"):
        config.load(str(tmp_path))
    monkeypatch.delenv("VELFERDSLAB_SESSION_IDLE_MINUTES")
    monkeypatch.setenv("VELFERDSLAB_ENV", "staging")
    with pytest.raises(SystemExit, match="VELFERDSLAB_ENV must be one of"):
        config.load(str(tmp_path))


def test_settings_are_read_from_the_environment(monkeypatch, tmp_path):
    _clear(monkeypatch)
    monkeypatch.setenv("VELFERDSLAB_SESSION_IDLE_MINUTES", "15")
    monkeypatch.setenv("VELFERDSLAB_SUPPRESSION_THRESHOLD", "10")
    monkeypatch.setenv("VELFERDSLAB_LANGUAGE", "en")
    loaded = config.load(str(tmp_path))
    assert loaded["SESSION_IDLE_TIMEOUT"].total_seconds() == 15 * 60
    assert loaded["SUPPRESSION_THRESHOLD"] == 10
    assert loaded["BABEL_DEFAULT_LOCALE"] == "en"


@pytest.mark.parametrize("make", [lambda: secrets.token_urlsafe(48), lambda: secrets.token_hex(16),
                                  lambda: secrets.token_urlsafe(24)])
def test_random_secrets_are_accepted_in_production(monkeypatch, tmp_path, make):
    """The entropy check refuses only predictable keys: 50 random ones of each generator pass."""
    _clear(monkeypatch)
    monkeypatch.setenv("VELFERDSLAB_ENV", "production")
    monkeypatch.setenv("VELFERDSLAB_DATABASE_URL", "postgresql://app@db/velferdslab")
    for _ in range(50):
        secret = make()
        assert not config.secret_is_weak(secret), secret


def _production(monkeypatch):
    monkeypatch.setenv("VELFERDSLAB_ENV", "production")
    monkeypatch.setenv("VELFERDSLAB_DATABASE_URL", "postgresql://app@db/velferdslab")
    monkeypatch.setenv("VELFERDSLAB_SECRET_KEY", secrets.token_urlsafe(48))


@pytest.mark.parametrize(("env", "message"), [
    ({"SMTP_HOST": "smtp.kommune.no", "SMTP_USER": "vl", "SMTP_PASSWORD": "x"}, "SMTP_SENDER is not set"),
    ({"SMTP_HOST": "smtp.kommune.no", "SMTP_SENDER": "vl@kommune.no", "SMTP_USER": "vl"}, "SMTP_PASSWORD is not set"),
    ({"SMTP_HOST": "smtp.kommune.no", "SMTP_SENDER": "vl@kommune.no", "SMTP_SECURITY": "none",
      "PUBLIC_URL": "https://vl.kommune.no"}, "SMTP_SECURITY=none is allowed only"),
    ({"SMTP_HOST": "smtp.kommune.no", "SMTP_SENDER": "vl@kommune.no", "SMTP_SECURITY": "ssl"}, "SMTP_SECURITY must"),
    ({"SMTP_HOST": "smtp.kommune.no", "SMTP_SENDER": "vl@kommune.no"}, "PUBLIC_URL is not set"),
    ({"NOTIFY_RETRY_INTERVALS": "1,a"}, "NOTIFY_RETRY_INTERVALS must be whole seconds"),
])
def test_production_mail_settings_have_no_working_default(monkeypatch, tmp_path, env, message):
    _production(monkeypatch)
    for name, value in env.items():
        monkeypatch.setenv(config.PREFIX + name, value)
    with pytest.raises(config.ConfigError, match=message):
        config.load(str(tmp_path))


def test_mail_settings(monkeypatch, tmp_path):
    development = config.load(str(tmp_path))
    assert development["SMTP"]["backend"] == "console"
    assert development["SMTP"]["mail_dir"] == str(tmp_path / "mail")
    _production(monkeypatch)
    assert config.load(str(tmp_path))["SMTP"]["backend"] == "disabled"  # sends nothing, reports it failed
    for name, value in {"SMTP_HOST": "smtp.kommune.no", "SMTP_SENDER": "vl@kommune.no", "SMTP_USER": "vl",
                        "SMTP_PASSWORD": "hemmelig", "PUBLIC_URL": "https://vl.kommune.no/"}.items():
        monkeypatch.setenv(config.PREFIX + name, value)
    loaded = config.load(str(tmp_path))
    assert loaded["SMTP"] | {"password": "…"} == {
        "backend": "smtp", "host": "smtp.kommune.no", "port": 587, "security": "starttls", "user": "vl",
        "password": "…", "sender": "vl@kommune.no", "timeout": 10, "mail_dir": str(tmp_path / "mail")}
    assert loaded["PUBLIC_URL"] == "https://vl.kommune.no"
    monkeypatch.setenv("VELFERDSLAB_SMTP_SECURITY", "tls")
    assert config.load(str(tmp_path))["SMTP"]["port"] == 465
FAMILY_OIDC = {"OIDC_FAMILY_ISSUER": "https://idporten.no", "OIDC_FAMILY_CLIENT_ID": "velferdslab"}


@pytest.mark.parametrize("env, message", [
    ({**FAMILY_OIDC}, "VELFERDSLAB_OIDC_FAMILY_CLIENT_SECRET is not set"),
    ({**FAMILY_OIDC, "OIDC_FAMILY_CLIENT_SECRET": "short"}, "CLIENT_SECRET is too short"),
    ({**FAMILY_OIDC, "OIDC_FAMILY_ISSUER": "http://idporten.no"}, "must be an https:// address"),
    ({**FAMILY_OIDC, "OIDC_FAMILY_CLIENT_SECRET": secrets.token_urlsafe(32)}, "VELFERDSLAB_IDENTITY_KEY is not set"),
    ({**FAMILY_OIDC, "OIDC_FAMILY_CLIENT_SECRET": secrets.token_urlsafe(32), "IDENTITY_KEY": "k" * 40},
     "IDENTITY_KEY is too short or too predictable"),
])
def test_production_refuses_family_sign_in_without_real_secrets(monkeypatch, tmp_path, env, message):
    """Issue 16: the OpenID Connect client secret and the identity key have no working default."""
    _clear(monkeypatch)
    monkeypatch.setenv("VELFERDSLAB_ENV", "production")
    monkeypatch.setenv("VELFERDSLAB_DATABASE_URL", "postgresql://app@db/velferdslab")
    monkeypatch.setenv("VELFERDSLAB_SECRET_KEY", secrets.token_urlsafe(48))
    for name, value in env.items():
        monkeypatch.setenv(config.PREFIX + name, value)
    with pytest.raises(SystemExit) as raised:
        config.load(str(tmp_path))
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_family_sign_in_settings(monkeypatch, tmp_path):
    _clear(monkeypatch)
    monkeypatch.setenv("VELFERDSLAB_ENV", "production")
    monkeypatch.setenv("VELFERDSLAB_DATABASE_URL", "postgresql://app@db/velferdslab")
    monkeypatch.setenv("VELFERDSLAB_SECRET_KEY", secrets.token_urlsafe(48))
    for name, value in FAMILY_OIDC.items():
        monkeypatch.setenv(config.PREFIX + name, value)
    monkeypatch.setenv("VELFERDSLAB_OIDC_FAMILY_CLIENT_SECRET", secrets.token_urlsafe(32))
    monkeypatch.setenv("VELFERDSLAB_IDENTITY_KEY", secrets.token_urlsafe(48))
    monkeypatch.setenv("VELFERDSLAB_FAMILY_SESSION_IDLE_MINUTES", "10")
    loaded = config.load(str(tmp_path))
    assert loaded["OIDC_PROVIDERS"]["family"]["acr_values"] == ["idporten-loa-high"]  # the default
    assert "staff" not in loaded["OIDC_PROVIDERS"] and loaded["PASSWORD_LOGIN"] is True
    assert loaded["FAMILY_SESSION_IDLE_TIMEOUT"].total_seconds() == 600


def test_development_makes_an_identity_key_once(monkeypatch, tmp_path):
    _clear(monkeypatch)
    first = config.load(str(tmp_path))["IDENTITY_KEY"]
    assert len(first) >= 40 and (tmp_path / "identity_key").stat().st_mode & 0o077 == 0
    assert config.load(str(tmp_path))["IDENTITY_KEY"] == first
