"""``realmbill documents``: render missing invoice PDFs, list the print queue."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group("documents", help="Invoice PDFs and the print queue.")
def documents_cli():
    pass


@documents_cli.command("render")
@click.option("--realm", "realm_slug", default=None, help="Realm slug (default: the provider's).")
@click.option("--batch", default=50, show_default=True, help="Invoices per rendering pass.")
@with_appcontext
def render_missing(realm_slug: str | None, batch: int):
    """Render and store the PDFs of finalized invoices that have none yet (resumable)."""
    from app.cli import in_realm
    from app.services.documents.invoices import invoices_without_document, render_invoices

    with in_realm(realm_slug):
        todo = invoices_without_document()
    stored = 0
    with click.progressbar(length=len(todo), label="Rendering invoice PDFs") as bar:
        for start in range(0, len(todo), batch):
            chunk = todo[start:start + batch]
            with in_realm(realm_slug):  # one unit of work per batch: an interrupted run resumes
                stored += render_invoices(chunk)
            bar.update(len(chunk))
    click.echo(f"{stored} PDF(s) stored.")


@documents_cli.command("print-queue")
@click.option("--realm", "realm_slug", default=None, help="Realm slug (default: the provider's).")
@with_appcontext
def print_queue(realm_slug: str | None):
    """List the invoices waiting to be printed and posted."""
    from app.cli import in_realm
    from app.services.documents.invoices import invoices_awaiting_print

    with in_realm(realm_slug):
        rows = invoices_awaiting_print()
        for invoice, _document in rows:
            click.echo(f"{invoice.number}\t{invoice.account.number}\t{invoice.account.name}\t"
                       f"{invoice.total} {invoice.currency}")
    if not rows:
        click.echo("Nothing to print.")
