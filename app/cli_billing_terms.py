"""``realmbill bill …`` commands of billing terms: previews, charges, credit notes, voiding,
plan version migration. Each one calls one service, in one unit of work."""

from __future__ import annotations

import json
from datetime import date

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from .cli import fail, in_realm, realm_option


def _account_id(username: str) -> int:
    from app.extensions import db
    from app.models import Account

    account_id = db.session.scalar(select(Account.id).where(Account.username == username))
    if account_id is None:
        fail(f"no account {username!r}")
    return account_id


def _invoice_id(number: str) -> int:
    from app.extensions import db
    from app.models import Invoice

    invoice_id = db.session.scalar(select(Invoice.id).where(Invoice.number == number))
    if invoice_id is None:
        fail(f"no invoice {number!r}")
    return invoice_id


@click.command("preview")
@realm_option
@click.argument("username")
@click.option("--on", "on", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Day in the month (default today).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts as decimal strings).")
@with_appcontext
def bill_preview(realm_slug, username, on, as_json):
    """What an account's invoice for a month would be now (writes nothing)."""
    from app.services.billing.run import preview_invoice

    with in_realm(realm_slug):
        draft = preview_invoice(_account_id(username), on=on.date() if on else None)
        if draft is None:
            click.echo("nothing to invoice")
            return
        lines = [{"kind": line.kind, "description": line.description, "amount": format(line.amount, "f")}
                 for line in draft.lines]
        if as_json:
            click.echo(json.dumps({"currency": draft.currency, "period": draft.period.start.isoformat(),
                                   "total": format(draft.total, "f"), "tax_total": format(draft.tax_total, "f"),
                                   "lines": lines}, indent=2))
            return
        for line in lines:
            click.echo(f"{line['amount']:>12}  {line['description']}")
        click.echo(f"{format(draft.total, 'f'):>12}  total {draft.currency}")


@click.command("charge")
@realm_option
@click.argument("username")
@click.option("--amount", required=True, help="Decimal amount (a credit: --kind credit).")
@click.option("--description", required=True)
@click.option("--kind", default="one_time", type=click.Choice(["one_time", "penalty", "topup", "credit"]))
@click.option("--key", "source_key", default=None, help="Idempotency key: the same key adds the charge once.")
@with_appcontext
def bill_charge(realm_slug, username, amount, description, kind, source_key):
    """Add a pending charge for the account's next invoice."""
    from app.services.billing.charges import add_charge

    with in_realm(realm_slug):
        charge = add_charge(_account_id(username), description=description, amount=amount, kind=kind,
                            source_key=source_key)
        click.echo(f"charge {charge.id}: {format(charge.amount, 'f')} {charge.currency} ({charge.status})")


@click.command("credit-note")
@realm_option
@click.argument("number")
@click.option("--amount", default=None, help="Gross amount to credit (default: all that is left).")
@click.option("--reason", required=True)
@with_appcontext
def bill_credit_note(realm_slug, number, amount, reason):
    """Issue a credit note for a finalized invoice."""
    from app.services.billing.corrections import issue_credit_note

    with in_realm(realm_slug):
        note = issue_credit_note(_invoice_id(number), reason=reason, amount=amount)
        click.echo(f"{note.number}: {format(note.total, 'f')} {note.currency}")


@click.command("void")
@realm_option
@click.argument("number")
@click.option("--reason", required=True)
@with_appcontext
def bill_void(realm_slug, number, reason):
    """Void a finalized invoice (it keeps its number)."""
    from app.services.billing.corrections import void_invoice

    with in_realm(realm_slug):
        invoice = void_invoice(_invoice_id(number), reason=reason)
        click.echo(f"{invoice.number}: void")


@click.command("migrate")
@realm_option
@click.argument("plan_code")
@click.option("--on", "on", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Day of the move.")
@click.option("--apply", "apply_", is_flag=True, help="Move them (default: only show the preview).")
@with_appcontext
def bill_migrate(realm_slug, plan_code, on, apply_):
    """Preview (and with --apply, do) moving a plan's subscribers to its latest version."""
    from app.services.plan_migration import migrate_subscribers, preview_migration
    from app.services.plans import get_plan_by_code

    day: date = on.date()
    with in_realm(realm_slug):
        plan = get_plan_by_code(plan_code)
        preview = preview_migration(plan.id, on=day)
        for row in preview.rows:
            click.echo(f"{row.account_number:<12} v{row.from_version}  {format(row.old_amount, 'f'):>10} -> "
                       f"{format(row.new_amount, 'f'):>10}  {row.account_name}")
        click.echo(f"{len(preview.rows)} subscriber(s) to version {preview.to_version}: "
                   f"{format(preview.old_total, 'f')} -> {format(preview.new_total, 'f')} {preview.currency}/month")
        if apply_ and preview.rows:
            moved = migrate_subscribers(plan.id, to_version_id=preview.to_version_id, on=day)
            click.echo(f"moved {moved}")


COMMANDS = (bill_preview, bill_charge, bill_credit_note, bill_void, bill_migrate)
