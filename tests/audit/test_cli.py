"""`velferdslab audit verify | checkpoint | public-key | privileges`, end to end on a database of
their own (the CLI opens its own connections, so it needs committed data), and key handling."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from tests.conftest import build_app, make_database_url, migrate_to_head
from velferdslab.audit import checkpoints
from velferdslab.audit import services as audit
from velferdslab.core.models import utcnow
from velferdslab.extensions import db


def _pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture
def own_app(backend, tmp_path):
    url, remove = make_database_url(backend, tmp_path)
    key = Ed25519PrivateKey.generate()
    app = build_app(url, AUDIT_SIGNING_KEY=_pem(key), AUDIT_CHECKPOINT_DIR=str(tmp_path / "checkpoints"))
    migrate_to_head(app)
    yield app
    with app.app_context():
        db.engine.dispose()
    remove()


def _write(app, n: int) -> None:
    with app.app_context():
        for i in range(n):
            audit.record("test.cli", object_id=i)
        db.session.commit()


def _as_superuser(app, sql: str) -> None:
    with app.app_context(), db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(sql))


@pytest.mark.real_commits
def test_verify_and_checkpoint_end_to_end(own_app):
    runner = own_app.test_cli_runner()
    _write(own_app, 5)
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    assert "Checkpoint written" in result.output and "seq 5" in result.output
    _write(own_app, 3)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "Checked 8 events" in result.output and "OK" in result.output
    report = json.loads(runner.invoke(args=["audit", "verify", "--json"]).output)
    assert report["ok"] and report["head_seq"] == 8 and report["checkpoints_checked"] == 1

    _as_superuser(own_app, "DELETE FROM audit_event WHERE chain_seq = 3")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "first broken event: gap" in result.output and "seq 3 missing" in result.output
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code != 0 and "no checkpoint written" in result.output


@pytest.mark.real_commits
def test_a_cut_off_tail_fails_verify_through_the_cli(own_app):
    runner = own_app.test_cli_runner()
    _write(own_app, 6)
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    _as_superuser(own_app, "DELETE FROM audit_event WHERE chain_seq > 4")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "truncated" in result.output
    # Item 12.8: the chain head catches the cut without any checkpoint.
    result = runner.invoke(args=["audit", "verify", "--no-checkpoints"])
    assert result.exit_code == 1 and "truncated" in result.output and "chain head is at seq 6" in result.output


@pytest.mark.real_commits
def test_verify_fails_while_there_is_no_checkpoint(own_app):
    """Item 12.8: no checkpoint is a failure with a clear message, not "0 checkpoint(s)"."""
    runner = own_app.test_cli_runner()
    _write(own_app, 3)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1, result.output
    assert "checkpoint-missing" in result.output and "velferdslab audit checkpoint" in result.output
    assert json.loads(runner.invoke(args=["audit", "verify", "--json"]).output)["breaks"][0]["kind"] == \
        "checkpoint-missing"
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0  # signing does not need an earlier one
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output


@pytest.mark.real_commits
def test_verify_fails_when_the_newest_checkpoint_is_too_old(own_app, monkeypatch):
    runner = own_app.test_cli_runner()
    _write(own_app, 3)
    with own_app.app_context(), db.engine.connect() as connection:
        key = checkpoints.signing_key()
        directory = checkpoints.checkpoint_dir()
        checkpoints.write(connection, key, directory, now=utcnow() - timedelta(hours=50))
        checkpoints.write(connection, key, directory, now=utcnow() - timedelta(hours=26))
    assert own_app.config["AUDIT_CHECKPOINT_MAX_AGE_HOURS"] == 25  # the default
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1, result.output
    assert "checkpoint-stale" in result.output and "26.0 hours old" in result.output
    assert "VELFERDSLAB_AUDIT_CHECKPOINT_MAX_AGE_HOURS" in result.output
    monkeypatch.setitem(own_app.config, "AUDIT_CHECKPOINT_MAX_AGE_HOURS", 30)
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    monkeypatch.setitem(own_app.config, "AUDIT_CHECKPOINT_MAX_AGE_HOURS", 25)
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_the_checkpoint_age_setting_must_be_positive(monkeypatch, tmp_path):
    from velferdslab import config

    monkeypatch.setenv("VELFERDSLAB_AUDIT_CHECKPOINT_MAX_AGE_HOURS", "12")
    assert config.load(str(tmp_path), {"ENV": "testing"})["AUDIT_CHECKPOINT_MAX_AGE_HOURS"] == 12
    monkeypatch.setenv("VELFERDSLAB_AUDIT_CHECKPOINT_MAX_AGE_HOURS", "0")
    with pytest.raises(config.ConfigError, match="at least 1"):
        config.load(str(tmp_path), {"ENV": "testing"})


@pytest.mark.real_commits
def test_an_auditor_verifies_with_the_public_key_alone(own_app, tmp_path):
    runner = own_app.test_cli_runner()
    _write(own_app, 2)
    assert runner.invoke(args=["audit", "checkpoint"]).exit_code == 0
    pem = runner.invoke(args=["audit", "public-key"]).output
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    (tmp_path / "public.pem").write_text(pem)
    wrong = tmp_path / "wrong.pem"
    wrong.write_bytes(Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    assert runner.invoke(args=["audit", "verify", "--public-key", str(tmp_path / "public.pem")]).exit_code == 0
    result = runner.invoke(args=["audit", "verify", "--public-key", str(wrong)])
    assert result.exit_code == 1 and "signature does not verify" in result.output


def test_privileges_are_printed_for_a_plain_role_name(app):
    result = app.test_cli_runner().invoke(args=["audit", "privileges", "--app-role", "velferdslab_app"])
    assert result.exit_code == 0
    assert 'GRANT SELECT, INSERT ON audit_event TO "velferdslab_app";' in result.output
    assert "DELETE" not in result.output and "TRUNCATE" not in result.output
    assert app.test_cli_runner().invoke(args=["audit", "privileges", "--app-role", "x; DROP"]).exit_code != 0


def test_the_key_may_be_pem_base64_or_a_file(app, monkeypatch, tmp_path):
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    (tmp_path / "key.pem").write_text(_pem(key))
    expected = checkpoints.key_id(key.public_key())
    for value in (_pem(key), base64.b64encode(raw).decode(), str(tmp_path / "key.pem")):
        assert checkpoints.key_id(checkpoints.parse_private_key(value).public_key()) == expected
    with pytest.raises(checkpoints.SigningKeyError):
        checkpoints.parse_private_key("not a key")


def test_production_refuses_to_sign_without_a_key_and_development_makes_one_once(app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY", None)
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    with app.app_context():
        monkeypatch.setitem(app.config, "VELFERDSLAB_ENV", "production")
        with pytest.raises(checkpoints.SigningKeyError, match="not set"):
            checkpoints.signing_key()
        assert not (tmp_path / checkpoints.DEV_KEY_FILE).exists()
        monkeypatch.setitem(app.config, "VELFERDSLAB_ENV", "development")
        first = checkpoints.key_id(checkpoints.signing_key().public_key())
        assert (tmp_path / checkpoints.DEV_KEY_FILE).stat().st_mode & 0o777 == 0o600
        assert checkpoints.key_id(checkpoints.signing_key().public_key()) == first
