"""`velferdslab audit …`: verify the trail, write a signed checkpoint, show the public key, and
print the PostgreSQL privileges the application role should have."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from velferdslab.audit import checkpoints
from velferdslab.extensions import db


@click.group()
def audit():
    """The audit trail: verification and signed checkpoints."""


def _trusted(public_keys) -> list:
    try:
        if public_keys:
            return [checkpoints.parse_public_key(handle.read()) for handle in public_keys]
        return [checkpoints.signing_key().public_key()]
    except (checkpoints.SigningKeyError, ValueError) as error:
        raise click.ClickException(f"{error} (or pass --public-key FILE)") from None


def _verify(directory: Path | None, public_keys):
    trusted = _trusted(public_keys) if directory is not None else []
    max_age = timedelta(hours=current_app.config["AUDIT_CHECKPOINT_MAX_AGE_HOURS"])
    with db.engine.connect() as connection:
        return checkpoints.verify_trail(connection, directory, trusted, max_age=max_age)


def _echo_report(report, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
        return
    rate = report.checked / report.seconds if report.seconds else 0
    click.echo(f"Checked {report.checked} events in {report.seconds:.2f} s ({rate:,.0f} events/s); "
               f"chain head seq {report.head_seq}, {report.checkpoints_checked} checkpoint(s).")
    if report.ok:
        click.echo("OK: the audit trail is intact.")
        return
    first = report.first_break
    click.echo(f"BROKEN: first broken event: {first}", err=True)
    for extra in report.breaks[1:]:
        click.echo(f"  also: {extra}", err=True)


@audit.command("verify")
@click.option("--checkpoint-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the signed checkpoints are (default: VELFERDSLAB_AUDIT_CHECKPOINT_DIR).")
@click.option("--no-checkpoints", is_flag=True,
              help="Check the chain and its head alone (no signatures, no checkpoint age).")
@click.option("--public-key", "public_keys", multiple=True, type=click.File("rb"),
              help="PEM public key(s) to check checkpoint signatures with (default: the signing key's).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@with_appcontext
def verify_command(checkpoint_dir, no_checkpoints, public_keys, as_json):
    """Re-hash the whole trail and compare its end with the chain head; exit 1 and name the first
    broken event if it was tampered with, or if the newest signed checkpoint is missing or older
    than VELFERDSLAB_AUDIT_CHECKPOINT_MAX_AGE_HOURS."""
    directory = None if no_checkpoints else (checkpoint_dir or checkpoints.checkpoint_dir())
    report = _verify(directory, public_keys)
    _echo_report(report, as_json)
    if directory is None and not as_json:
        click.echo("Checkpoints not checked (--no-checkpoints): a rewritten chain would pass.", err=True)
    if not report.ok:
        raise SystemExit(1)


@audit.command("checkpoint")
@click.option("--force", is_flag=True, help="Sign even if verification fails (not recommended).")
@with_appcontext
def checkpoint_command(force):
    """Verify the trail, then sign its head and write the checkpoint file."""
    try:
        key = checkpoints.signing_key()
    except checkpoints.SigningKeyError as error:
        raise click.ClickException(str(error)) from None
    directory = checkpoints.checkpoint_dir()
    with db.engine.connect() as connection:
        report = checkpoints.verify_trail(connection, directory, [key.public_key()])
        if not report.ok and not force:
            _echo_report(report, False)
            raise click.ClickException("the trail does not verify; no checkpoint written")
        path = checkpoints.write(connection, key, directory)
    click.echo(f"Checkpoint written: {path} (seq {report.head_seq}).")


@audit.command("public-key")
@with_appcontext
def public_key_command():
    """Print the public key that verifies the checkpoints (give it to the auditor)."""
    try:
        click.echo(checkpoints.public_pem(checkpoints.signing_key()), nl=False)
    except checkpoints.SigningKeyError as error:
        raise click.ClickException(str(error)) from None


@audit.command("privileges")
@click.option("--app-role", required=True, help="The PostgreSQL role the application connects as.")
def privileges_command(app_role):
    """Print the GRANTs that make the audit tables append-only for the application role."""
    click.echo(privileges_sql(app_role))


def privileges_sql(app_role: str) -> str:
    """SQL (run as the tables' owner) that leaves ``app_role`` able to add audit events and seal
    them, and nothing else: no UPDATE of content, no DELETE, no TRUNCATE, whatever the triggers."""
    if not app_role.replace("_", "").isalnum():
        raise click.BadParameter("a plain role name (letters, digits, underscore)")
    role = f'"{app_role}"'
    return "\n".join([
        f"REVOKE ALL ON audit_event, audit_chain_head FROM {role};",
        f"GRANT SELECT, INSERT ON audit_event TO {role};",
        f"GRANT UPDATE (chain_seq, prev_hash, hash) ON audit_event TO {role};",
        f"GRANT USAGE ON SEQUENCE audit_event_id_seq TO {role};",
        f"GRANT SELECT, UPDATE ON audit_chain_head TO {role};",
    ]) + "\n"
