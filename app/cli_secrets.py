"""``realmbill secrets``: re-encrypt stored secrets after a new key was put first."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.services.uow import unit_of_work


@click.group("secrets", help="Secrets encrypted at rest.")
def secrets_cli():
    pass


@secrets_cli.command("rotate")
@with_appcontext
def rotate_command():
    """Re-encrypt every stored secret with the first key of ENCRYPTION_KEYS (safe to rerun)."""
    from app.security.rotation import count_secrets, rotate_secrets

    total = count_secrets()
    with click.progressbar(length=total, label="Re-encrypting secrets") as bar, unit_of_work():
        rotated = rotate_secrets(progress=bar.update)
    if not rotated:
        click.echo("All secrets already use the current key.")
    for column, count in sorted(rotated.items()):
        click.echo(f"{column}: {count} re-encrypted")
