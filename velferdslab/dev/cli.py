"""``velferdslab dev oidc-provider``: the local OpenID Provider for ``make run`` (never production)."""

from __future__ import annotations

import os

import click
from flask import current_app
from flask.cli import with_appcontext

from velferdslab.dev.oidc_provider import Client, OidcProvider

DEV_SECRET = "dev-only-client-secret"  # noqa: S105 - the local provider's, printed for the developer
DEV_PEOPLE = {
    "forelder": {"sub": "dev-person-1", "name": "Forelder (test)", "given_name": "Forelder"},
    "ungdom": {"sub": "dev-person-2", "name": "Ungdom (test)", "given_name": "Ungdom"},
    "investeringsleder": {
        "sub": "dev-staff-1",
        "name": "Investeringsleder (demo)",
        "email": "investeringsleder@asker.demo.velferdslab.no",
    },
}


def dev_provider(issuer: str, app_origin: str) -> OidcProvider:
    return OidcProvider(
        issuer,
        people=DEV_PEOPLE,
        clients=[
            Client(
                "velferdslab-family",
                DEV_SECRET,
                [app_origin + "/min-side/logg-inn/tilbake"],
                post_logout_redirect_uris=[app_origin + "/min-side/logg-inn"],
            ),
            Client("velferdslab-staff", DEV_SECRET, [app_origin + "/logg-inn/oidc/tilbake"]),
        ],
    )


@click.group()
def dev():
    """Development helpers (refused in production)."""


@dev.command("oidc-provider")
@click.option("--port", default=5001, show_default=True)
@click.option(
    "--app-origin",
    default="http://127.0.0.1:5000",
    show_default=True,
    help="Where `make run` serves the app (the redirect URIs are registered for it).",
)
@with_appcontext
def oidc_provider(port: int, app_origin: str):
    """Serve the local OpenID Provider on 127.0.0.1 and print the settings that point the app at it."""
    if current_app.config["VELFERDSLAB_ENV"] == "production" or os.environ.get("VELFERDSLAB_ENV") == "production":
        raise click.ClickException("the development OpenID Provider refuses to start in production")
    from werkzeug.serving import run_simple

    issuer = f"http://127.0.0.1:{port}"
    provider = dev_provider(issuer, app_origin.rstrip("/"))
    click.echo("Development OpenID Provider (not for production). Start the app with:")
    for name in ("FAMILY", "STAFF"):
        click.echo(
            f"  export VELFERDSLAB_OIDC_{name}_ISSUER={issuer} VELFERDSLAB_OIDC_{name}_CLIENT_ID="
            f"velferdslab-{name.lower()} VELFERDSLAB_OIDC_{name}_CLIENT_SECRET={DEV_SECRET}"
        )
    run_simple("127.0.0.1", port, provider.app, threaded=True)
