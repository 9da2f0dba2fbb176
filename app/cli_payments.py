"""``realmbill payments``: reconcile a bank statement, run due charge retries, list gateways."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext


@click.group("payments", help="Payments: bank statements, charge retries, gateways.")
def payments_cli():
    pass


@payments_cli.command("import-statement")
@click.option("--realm", "realm_slug", default=None, help="Realm slug (default: the provider realm).")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_statement_command(realm_slug, path):
    """Import a CSV bank statement; refused whole (line and field named) on any error."""
    from app.cli import in_realm
    from app.services.payments.bank_statements import import_statement

    with in_realm(realm_slug):
        batch = import_statement(path.name, path.read_bytes(), created_by="cli")
        summary = (batch.matched, batch.unmatched, batch.duplicates, batch.ignored)
    click.echo("{} matched, {} unmatched, {} already imported, {} ignored".format(*summary))


@payments_cli.command("retry-charges")
@click.option("--realm", "realm_slug", default=None, help="Realm slug (default: the provider realm).")
@with_appcontext
def retry_charges_command(realm_slug):
    """Try the realm's due charge retries now (the scheduler does this every hour)."""
    from app.cli import in_realm
    from app.services.payments.autocharge import retry_due_charges

    with in_realm(realm_slug):
        tried = retry_due_charges()
    click.echo(f"{tried} charge(s) retried")


@payments_cli.command("gateways")
@click.option("--realm", "realm_slug", default=None, help="Realm slug (default: the provider realm).")
@with_appcontext
def gateways_command(realm_slug):
    """Installed gateways and whether the realm uses them (secrets are never printed)."""
    from app.cli import in_realm
    from app.services.payments.gateways import gateway_overview

    with in_realm(realm_slug):
        for gateway in gateway_overview():
            configured = ", ".join(f["spec"].name for f in gateway["fields"] if f["is_set"]) or "-"
            click.echo(f"{gateway['code']}\t{'on' if gateway['enabled'] else 'off'}\tset: {configured}")
