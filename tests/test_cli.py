"""The command line: labs, agencies, users, passwords and the demo lab."""

import secrets

import pytest
from sqlalchemy import func, select

from tests.conftest import build_app, make_database_url, migrate_to_head


@pytest.fixture
def cli_app(backend, tmp_root, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    url, remove = make_database_url(backend, tmp_root)
    key = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()).decode()
    app = build_app(url, AUDIT_SIGNING_KEY=key, AUDIT_CHECKPOINT_DIR=str(tmp_path / "checkpoints"))
    migrate_to_head(app)
    yield app
    from velferdslab.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    remove()


def run(app, *args, input=None):
    result = app.test_cli_runner().invoke(args=list(args), input=input)
    return result


@pytest.mark.real_commits
def test_lab_agency_user_lifecycle(cli_app):
    from velferdslab.auth import services
    from velferdslab.auth.models import User
    from velferdslab.extensions import db

    assert run(cli_app, "lab", "create", "--slug", "baerum", "--name", "Bærum velferdslab",
               "--municipality", "Bærum kommune").exit_code == 0
    assert run(cli_app, "agency", "create", "--lab", "baerum", "--name", "NAV Bærum", "--kind", "nav").exit_code == 0
    result = run(cli_app, "user", "create", "--lab", "baerum", "--email", "Kari@Test.example", "--name", "Kari",
                 "--role", "caseworker", "--role", "team_lead", "--agency", "NAV Bærum",
                 "--password", "a long enough password")
    assert result.exit_code == 0, result.output
    with cli_app.app_context():
        user = db.session.scalar(select(User).where(User.email == "kari@test.example"))
        assert user.roles == {"caseworker", "team_lead"} and user.agency.name == "NAV Bærum"

    assert run(cli_app, "user", "disable", "kari@test.example").exit_code == 0
    with cli_app.app_context():
        assert db.session.scalar(select(User.active).where(User.email == "kari@test.example")) is False
    assert run(cli_app, "user", "enable", "kari@test.example").exit_code == 0

    result = run(cli_app, "user", "reset-password", "kari@test.example", "--password", "another long password")
    assert result.exit_code == 0
    with cli_app.app_context():
        assert services.authenticate("kari@test.example", "another long password") is not None


@pytest.mark.real_commits
@pytest.mark.parametrize("args, message", [
    (["user", "create", "--lab", "nope", "--email", "a@b.no", "--name", "A", "--role", "caseworker",
      "--password", "a long enough password"], "no lab with slug 'nope'"),
    (["user", "disable", "ingen@test.example"], "no user with e-mail"),
    (["user", "reset-password", "ingen@test.example", "--password", "a long enough password"], "no user"),
    (["lab", "create", "--slug", "x", "--name", "X", "--municipality", "X", "--consent-age", "30"], "30"),
    (["agency", "create", "--lab", "nope", "--name", "X", "--kind", "nav"], "no lab"),
])
def test_bad_input_is_a_clear_error(cli_app, args, message):
    result = run(cli_app, *args)
    assert result.exit_code != 0
    assert message in result.output


@pytest.mark.real_commits
def test_short_password_and_unknown_agency_kind_are_refused(cli_app):
    assert run(cli_app, "lab", "create", "--slug", "t", "--name", "T", "--municipality", "T").exit_code == 0
    result = run(cli_app, "user", "create", "--lab", "t", "--email", "a@b.no", "--name", "A",
                 "--role", "caseworker", "--password", "short")
    assert result.exit_code != 0 and "minst 12 tegn" in result.output
    result = run(cli_app, "agency", "create", "--lab", "t", "--name", "X", "--kind", "rakett")
    assert result.exit_code != 0 and "Ukjent etatstype" in result.output


@pytest.mark.real_commits
def test_demo_loads_once_and_prints_a_login_per_role(cli_app):
    from velferdslab.auth.models import User
    from velferdslab.extensions import db

    first = run(cli_app, "demo", "load", "--if-empty")
    assert first.exit_code == 0, first.output
    for label in ("Teammedlem", "Investeringsleder", "Ledelse", "Administrator"):
        assert label in first.output
    assert "velferdslab-demo" in first.output
    # The demo signs its audit trail, so `audit verify` passes right after `make run`.
    assert "Revisjonssporet er signert" in first.output
    verified = run(cli_app, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    with cli_app.app_context():
        staff = db.session.scalar(select(func.count()).select_from(User))
    assert 20 <= staff <= 30
    again = run(cli_app, "demo", "load", "--if-empty")
    assert again.exit_code == 0 and "lastes ikke på nytt" in again.output
    with cli_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == staff
    assert run(cli_app, "demo", "load").exit_code != 0  # never over existing data


def test_demo_is_refused_in_production(monkeypatch, tmp_path):
    from velferdslab import create_app

    monkeypatch.setenv("VELFERDSLAB_ENV", "production")
    monkeypatch.setenv("VELFERDSLAB_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("VELFERDSLAB_SECRET_KEY", secrets.token_urlsafe(48))
    app = create_app()
    with app.app_context():  # the test's own app context must not stand in for this app
        result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code != 0, result.output
    assert "never loaded in production" in result.output


@pytest.mark.real_commits
def test_common_and_context_passwords_are_refused(cli_app):
    """Item 23: the command line sets passwords through the same policy as the forms and the API."""
    assert run(cli_app, "lab", "create", "--slug", "t", "--name", "T", "--municipality", "T").exit_code == 0
    base = ["user", "create", "--lab", "t", "--email", "kari.nordmann@b.no", "--name", "Kari Nordmann",
            "--role", "caseworker", "--password"]
    result = run(cli_app, *base, "passord123456")
    assert result.exit_code != 0 and "for lett å gjette" in result.output
    result = run(cli_app, *base, "Kari Nordmann 1985")
    assert result.exit_code != 0 and "navn eller e-postadresse" in result.output
    assert run(cli_app, *base, "Tre blå sykler under brua").exit_code == 0
    result = run(cli_app, "user", "reset-password", "kari.nordmann@b.no", "--password", "velferdslab-demo")
    assert result.exit_code != 0 and "Demopassordet" in result.output


def test_the_development_oidc_provider_refuses_production(app):
    from velferdslab.dev.cli import oidc_provider

    runner = app.test_cli_runner()
    app.config["VELFERDSLAB_ENV"] = "production"
    try:
        result = runner.invoke(oidc_provider, [])
    finally:
        app.config["VELFERDSLAB_ENV"] = "testing"
    assert result.exit_code != 0 and "refuses to start in production" in result.output


@pytest.mark.real_commits
def test_report_access_grants_lists_and_revokes_labs_of_a_region_user(cli_app):
    from velferdslab.audit.models import AuditEvent
    from velferdslab.extensions import db

    for slug in ("fylke", "asker", "baerum"):
        assert run(cli_app, "lab", "create", "--slug", slug, "--name", slug.title(),
                   "--municipality", slug.title()).exit_code == 0
    assert run(cli_app, "user", "create", "--lab", "fylke", "--email", "region@test.example", "--name", "R",
               "--role", "region", "--password", "a long enough password").exit_code == 0
    assert run(cli_app, "user", "create", "--lab", "asker", "--email", "leder@test.example", "--name", "L",
               "--role", "manager", "--password", "a long enough password").exit_code == 0

    result = run(cli_app, "report-access", "grant", "region@test.example", "--lab", "asker", "--lab", "baerum")
    assert result.exit_code == 0, result.output
    listed = run(cli_app, "report-access", "list", "region@test.example").output
    assert "asker" in listed and "baerum" in listed

    again = run(cli_app, "report-access", "grant", "region@test.example", "--lab", "asker")
    assert again.exit_code != 0 and "leser allerede" in again.output
    not_region = run(cli_app, "report-access", "grant", "leder@test.example", "--lab", "baerum")
    assert not_region.exit_code != 0 and "region" in not_region.output
    unknown = run(cli_app, "report-access", "grant", "region@test.example", "--lab", "nope")
    assert unknown.exit_code != 0 and "no lab with slug 'nope'" in unknown.output
    nobody = run(cli_app, "report-access", "list", "ingen@test.example")
    assert nobody.exit_code != 0 and "no user" in nobody.output

    result = run(cli_app, "report-access", "revoke", "region@test.example", "--lab", "baerum")
    assert result.exit_code == 0, result.output
    listed = run(cli_app, "report-access", "list", "region@test.example").output
    assert "asker" in listed and "baerum" not in listed
    missing = run(cli_app, "report-access", "revoke", "region@test.example", "--lab", "baerum")
    assert missing.exit_code != 0 and "leser ikke" in missing.output

    with cli_app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("reports.lab_access%"))
                                     .order_by(AuditEvent.id)).all()
        assert actions == ["reports.lab_access_grant"] * 2 + ["reports.lab_access_revoke"]
