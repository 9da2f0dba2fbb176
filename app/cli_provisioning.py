"""``realmbill provision``: list operations, retry them, check processing modules."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from .cli import in_realm, realm_option


@click.group("provision", help="Service processing: operations and processing modules.")
def provision_cli():
    pass


@provision_cli.command("operations")
@realm_option
@click.option("--all", "show_all", is_flag=True, help="Also finished operations.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def list_operations_command(realm_slug, show_all, as_json):
    """List the realm's open (or all) provisioning operations."""
    from app.services.provisioning.operations import list_operations

    with in_realm(realm_slug):
        statuses = None if show_all else ("queued", "running", "failed", "manual")
        rows = [
            {"id": op.id, "service": op.service_id, "account": op.service.account.username,
             "kind": op.kind, "status": op.status, "attempts": op.attempts,
             "next_attempt_at": op.next_attempt_at.isoformat() if op.next_attempt_at else None,
             "last_error": op.last_error}
            for op in list_operations(statuses=statuses)
        ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No operations.")
    for row in rows:
        click.echo(f"{row['id']:>6}  {row['account']:<20} {row['kind']:<16} {row['status']:<10} "
                   f"attempts={row['attempts']}" + (f"  {row['last_error']}" if row["last_error"] else ""))


@provision_cli.command("retry")
@realm_option
@click.argument("operation_ids", nargs=-1, type=int)
@click.option("--due", is_flag=True, help="Queue every operation whose retry is due.")
@with_appcontext
def retry_command(realm_slug, operation_ids, due):
    """Restart the given operations now (a fresh round of attempts), or queue the due ones."""
    from app.services.provisioning.operations import restart_operation, retry_due_operations

    if not operation_ids and not due:
        raise click.UsageError("give operation ids or --due")
    with in_realm(realm_slug):
        queued = list(retry_due_operations()) if due else []
        with click.progressbar(operation_ids, label="Restarting operations") as bar:
            for operation_id in bar:
                restart_operation(operation_id)
                queued.append(operation_id)
    click.echo(f"{len(queued)} operation(s) queued.")


@provision_cli.command("check")
@realm_option
@click.argument("module_name")
@with_appcontext
def check_command(realm_slug, module_name):
    """Test a processing module's connection (exit 1 when it fails)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models.provisioning import ProcessingModule
    from app.services.provisioning.modules import check_module

    from .cli import fail

    with in_realm(realm_slug):
        module = db.session.scalar(select(ProcessingModule).where(ProcessingModule.name == module_name))
        if module is None:
            fail(f"no processing module {module_name!r}")
        checked = check_module(module.id)
        ok, message = checked.last_check_ok, checked.last_check_message
    click.echo(("ok: " if ok else "failed: ") + (message or ""))
    if not ok:
        raise SystemExit(1)
