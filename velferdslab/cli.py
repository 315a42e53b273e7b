"""Command line: `velferdslab …` (or `flask --app velferdslab …`).

Commands change data through the same services as the web, then commit once.
"""

from __future__ import annotations

from typing import NoReturn

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from velferdslab.audit.cli import audit as audit_commands
from velferdslab.batch import cli as batch_cli
from velferdslab.budget.cli import budget as budget_commands
from velferdslab.core.permissions import ROLES
from velferdslab.dev.cli import dev as dev_commands
from velferdslab.extensions import db
from velferdslab.notify import cli as notify_cli

# Commands are not requests: a verify of a long audit trail, a migration or a batch job may
# rightly run for minutes, and no gunicorn worker time-out stands behind them. Unless the operator
# sets them, they run without the per-statement and idle-in-transaction limits (the lock and
# connect time-outs still hold). `velferdslab run` serves requests and keeps every limit.
UNLIMITED_FOR_COMMANDS = ("DB_STATEMENT_TIMEOUT_MS", "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS")


def main() -> None:
    import os
    import sys

    from velferdslab import create_app
    from velferdslab.config import PREFIX

    if sys.argv[1:2] != ["run"]:
        for name in UNLIMITED_FOR_COMMANDS:
            os.environ.setdefault(PREFIX + name, "0")
    FlaskGroup(create_app=create_app, help="Velferdslab administration.")()


def _fail(message: str) -> NoReturn:
    raise click.ClickException(message)


def _lab(slug: str):
    from velferdslab.auth.models import Lab

    lab = db.session.scalar(select(Lab).where(Lab.slug == slug))
    if lab is None:
        _fail(f"no lab with slug {slug!r}")
    return lab


def _user(email: str, lab_slug: str | None = None):
    """The user with this e-mail (unique per lab); ``--lab`` says which when several labs have one."""
    from velferdslab.auth.models import Lab, User
    from velferdslab.auth.services import normalise_email

    query = select(User).where(User.email == normalise_email(email))
    if lab_slug:
        query = query.join(Lab, Lab.id == User.lab_id).where(Lab.slug == lab_slug)
    users = db.session.scalars(query).all()
    if not users:
        _fail(f"no user with e-mail {email!r}" + (f" in lab {lab_slug!r}" if lab_slug else ""))
    if len(users) > 1:
        _fail(f"users with e-mail {email!r} exist in several labs: name the lab with --lab")
    return users[0]


def _commit_or_fail(work) -> object:
    from velferdslab.core.errors import ServiceError

    try:
        result = work()
        db.session.commit()
        return result
    except ServiceError as error:
        db.session.rollback()
        _fail(f"{error.field}: {error.message}")


# --- demo ----------------------------------------------------------------------------------------

@click.group()
def demo():
    """The demo lab."""


@demo.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has a lab.")
@click.option("--size", default=1, show_default=True, help="Number of labs (benchmarks use more).")
@click.option("--seed", default=2026, show_default=True, help="Random seed; same seed, same data.")
@with_appcontext
def demo_load(if_empty: bool, size: int, seed: int):
    """Load the demo lab into the database."""
    from velferdslab import demo as demo_data

    if current_app.config["VELFERDSLAB_ENV"] == "production":
        _fail("demo data is never loaded in production")
    if not demo_data.is_empty():
        if if_empty:
            click.echo("Databasen har allerede data; demodata lastes ikke på nytt.")
            click.echo(demo_data.logins_text())
            return
        _fail("the database is not empty; the demo loads only into an empty database")
    demo_data.load(seed=seed, size=size)
    db.session.commit()
    _demo_checkpoint()
    click.echo(demo_data.logins_text())


def _demo_checkpoint() -> None:
    """Sign the demo's audit trail once (development key), so `audit verify` passes right after
    `make run`; a real installation schedules `audit checkpoint` instead."""
    from velferdslab.audit import checkpoints

    with db.engine.connect() as connection:
        path = checkpoints.write(connection, checkpoints.signing_key(), checkpoints.checkpoint_dir())
    click.echo(f"Revisjonssporet er signert: {path}")


@demo.command("logins")
@with_appcontext
def demo_logins():
    """Print the demo logins, one per role."""
    from velferdslab import demo as demo_data

    click.echo(demo_data.logins_text())


# --- labs, agencies, users ----------------------------------------------------------------------

@click.group()
def lab():
    """Labs."""


@lab.command("create")
@click.option("--slug", required=True)
@click.option("--name", required=True)
@click.option("--municipality", required=True)
@click.option("--consent-age", default=15, show_default=True, type=click.IntRange(12, 18))
@with_appcontext
def lab_create(slug, name, municipality, consent_age):
    """Create a lab."""
    from velferdslab.auth import services

    _commit_or_fail(lambda: services.create_lab(slug=slug, name=name, municipality=municipality,
                                                consent_age=consent_age))
    click.echo(f"Lab {slug} created.")


@click.group()
def agency():
    """Agencies."""


@agency.command("create")
@click.option("--lab", "lab_slug", required=True)
@click.option("--name", required=True)
@click.option("--kind", required=True)
@with_appcontext
def agency_create(lab_slug, name, kind):
    """Create an agency in a lab."""
    from velferdslab.auth import services

    target = _lab(lab_slug)
    _commit_or_fail(lambda: services.create_agency(target, name=name, kind=kind))
    click.echo(f"Agency {name} created.")


@click.group()
def user():
    """Users."""


@user.command("create")
@click.option("--lab", "lab_slug", required=True)
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(ROLES))
@click.option("--agency", "agency_name", default=None, help="Agency name in the lab.")
@click.password_option(help="Prompted for when not given.")
@with_appcontext
def user_create(lab_slug, email, name, roles, agency_name, password):
    """Create a user."""
    from velferdslab.auth import services
    from velferdslab.auth.models import Agency

    target = _lab(lab_slug)
    agency_id = None
    if agency_name:
        found = db.session.scalar(select(Agency).where(Agency.lab_id == target.id, Agency.name == agency_name))
        if found is None:
            _fail(f"no agency {agency_name!r} in lab {lab_slug!r}")
        agency_id = found.id
    _commit_or_fail(lambda: services.create_user(target, name=name, email=email, password=password,
                                                 roles=set(roles), agency_id=agency_id))
    click.echo(f"User {email} created.")


@user.command("disable")
@click.argument("email")
@click.option("--lab", "lab_slug", help="The lab's slug, when the address is in use in several labs.")
@with_appcontext
def user_disable(email, lab_slug):
    """Disable a user: ends every session and API token."""
    from velferdslab.auth import services

    target = _user(email, lab_slug)
    _commit_or_fail(lambda: services.set_active(target, False))
    click.echo(f"User {email} disabled.")


@user.command("enable")
@click.argument("email")
@click.option("--lab", "lab_slug", help="The lab's slug, when the address is in use in several labs.")
@with_appcontext
def user_enable(email, lab_slug):
    """Enable a disabled user."""
    from velferdslab.auth import services

    target = _user(email, lab_slug)
    _commit_or_fail(lambda: services.set_active(target, True))
    click.echo(f"User {email} enabled.")


@user.command("reset-password")
@click.argument("email")
@click.option("--lab", "lab_slug", help="The lab's slug, when the address is in use in several labs.")
@click.password_option(help="Prompted for when not given.")
@with_appcontext
def user_reset_password(email, lab_slug, password):
    """Set a new password; the user's sessions end."""
    from velferdslab.auth import services

    target = _user(email, lab_slug)
    _commit_or_fail(lambda: services.set_password(target, password))
    click.echo(f"Password for {email} changed.")


# --- the published outcome report, computed ahead ---------------------------------------------------

@click.command("report-publish")
@click.option("--lab", "lab_slugs", multiple=True, help="Only this lab (repeat for several; default: every lab).")
@with_appcontext
def report_publish(lab_slugs):
    """Compute each lab's default outcome report of the last published quarter ahead, so that the
    first manager to open it reads it back (for cron, daily; idempotent: a report already kept is
    read back, not computed again)."""
    from flask import current_app

    from velferdslab.auth.models import Lab
    from velferdslab.core.models import today_local
    from velferdslab.reports import reading

    labs = [_lab(slug) for slug in lab_slugs] or list(db.session.scalars(select(Lab).order_by(Lab.id)))
    ready = 0
    for lab in labs:
        with current_app.test_request_context():
            if reading.prepare(lab, today_local()):
                ready += 1
            db.session.commit()
    click.echo(f"{ready} of {len(labs)} lab(s) have their published outcome report computed"
               + ("." if ready == len(labs) else "; the rest have no settled release yet (or the cell key "
                  "or VELFERDSLAB_REPORT_SNAPSHOTS is off): run it again later."))


# --- the report across labs (role ``region``) ------------------------------------------------------

@click.group("report-access")
def report_access():
    """Which labs a county or national user (role `region`) reads the outcome report of."""


@report_access.command("grant")
@click.argument("email")
@click.option("--lab", "lab_slugs", multiple=True, required=True, help="A lab to add (repeat for several).")
@click.option("--user-lab", "user_lab_slug", help="The user's own lab, when the address is in use in several labs.")
@with_appcontext
def report_access_grant(email, lab_slugs, user_lab_slug):
    """Let a region user read the outcome report of these labs (audited)."""
    from velferdslab.reports import services

    target = _user(email, user_lab_slug)
    labs = [_lab(slug) for slug in lab_slugs]
    def work() -> None:
        for each in labs:
            services.grant_lab_access(target, each)

    _commit_or_fail(work)
    click.echo(f"{email} reads the outcome report of: {', '.join(lab_slugs)}.")


@report_access.command("revoke")
@click.argument("email")
@click.option("--lab", "lab_slugs", multiple=True, required=True, help="A lab to take away (repeat for several).")
@click.option("--user-lab", "user_lab_slug", help="The user's own lab, when the address is in use in several labs.")
@with_appcontext
def report_access_revoke(email, lab_slugs, user_lab_slug):
    """Take labs out of a region user's report across labs (audited)."""
    from velferdslab.reports import services

    target = _user(email, user_lab_slug)
    labs = [_lab(slug) for slug in lab_slugs]
    def work() -> None:
        for each in labs:
            services.revoke_lab_access(target, each)

    _commit_or_fail(work)
    click.echo(f"{email} no longer reads the outcome report of: {', '.join(lab_slugs)}.")


@report_access.command("list")
@click.argument("email")
@click.option("--user-lab", "user_lab_slug", help="The user's own lab, when the address is in use in several labs.")
@with_appcontext
def report_access_list(email, user_lab_slug):
    """Print the labs a region user reads the outcome report of."""
    from velferdslab.reports import services

    labs = services.lab_access(_user(email, user_lab_slug))
    if not labs:
        click.echo(f"{email} reads no lab's outcome report across labs.")
    for each in labs:
        click.echo(f"{each.slug}\t{each.name}")


COMMANDS: list[click.Command] = [demo, lab, agency, user, report_access, report_publish, audit_commands,
                                 batch_cli.worker_command, batch_cli.batch_commands, budget_commands,
                                 notify_cli.notify_commands, dev_commands]


def init_app(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)
