"""``realmbill voucher``: generate, list, export (once), activate and void scratch cards."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time

import click
from flask.cli import with_appcontext

realm_option = click.option("--realm", "realm_slug", default=None,
                            help="Realm slug (default: the provider realm).")


def _write_private(path: str, data: bytes) -> None:
    """PIN files are secrets: created for the owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _end_of_day(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(23, 59, 59), tzinfo=UTC)
    except ValueError as exc:
        raise click.BadParameter("use YYYY-MM-DD") from exc


@click.group("voucher", help="Scratch-card vouchers.")
def voucher_cli():
    pass


@voucher_cli.command("generate")
@realm_option
@click.option("--name", required=True, help="Batch name.")
@click.option("--count", type=click.IntRange(1, 100_000), required=True)
@click.option("--kind", type=click.Choice(["money", "quota", "product"]), default="money", show_default=True)
@click.option("--amount", default=None, help="Money (realm currency) or quota units.")
@click.option("--unit", default=None, help="Quota unit, e.g. GB.")
@click.option("--product-code", default=None)
@click.option("--product-name", default=None)
@click.option("--prefix", default="V", show_default=True)
@click.option("--expires", default=None, help="Valid until (YYYY-MM-DD, end of day UTC).")
@click.option("--activate", is_flag=True, help="Activate at once (default: activate when sold).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the cards with PINs as CSV (this is the batch's one export).")
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the printable card sheet (PDF), in the same one export.")
@with_appcontext
def generate(realm_slug, name, count, kind, amount, unit, product_code, product_name, prefix, expires,
             activate, csv_path, pdf_path):
    """Generate a batch; with --csv/--pdf its PINs are written now and never again."""
    from app.cli import in_realm
    from app.services.vouchers import export_batch_files, generate_batch

    expires_at = _end_of_day(expires)
    with in_realm(realm_slug), click.progressbar(length=count, label="Generating vouchers") as bar:
        generated = generate_batch(name=name, count=count, kind=kind, amount=amount, unit=unit,
                                   product_code=product_code, product_name=product_name, prefix=prefix,
                                   expires_at=expires_at, activate=activate, created_by="cli",
                                   progress=bar.update)
        batch = generated.batch
        targets = [(fmt, path) for fmt, path in (("csv", csv_path), ("pdf", pdf_path)) if path]
        if targets:
            files = export_batch_files(batch.id, formats=[fmt for fmt, _ in targets])
            for (_, path), (_, data, _) in zip(targets, files, strict=True):
                _write_private(path, data)
        batch_id, first, last = batch.id, generated.pins[0][0], generated.pins[-1][0]
    click.echo(f"batch {batch_id}: {count} vouchers {first} … {last}")
    for _, path in targets:
        click.echo(f"wrote {path}")
    if not targets:
        click.echo(f"export the PINs once with: realmbill voucher export {batch_id} --format csv --out FILE")


@voucher_cli.command("list")
@realm_option
@with_appcontext
def list_command(realm_slug):
    """Batches with their counts: vouchers, sold, redeemed, expired, void."""
    from app.cli import in_realm
    from app.services.vouchers import batch_report, list_batches

    with in_realm(realm_slug):
        reports = {row["batch_id"]: row for row in batch_report()}
        click.echo(f"{'id':>5}  {'name':<24} {'prefix':<8} {'kind':<8} {'total':>7} {'sold':>7} "
                   f"{'redeemed':>8} {'expired':>7} {'void':>6}  exported")
        for batch in list_batches():
            r = reports.get(batch.id, {})
            click.echo(f"{batch.id:>5}  {batch.name[:24]:<24} {batch.prefix:<8} {batch.kind:<8} "
                       f"{r.get('total', 0):>7} {r.get('sold', 0):>7} {r.get('redeemed', 0):>8} "
                       f"{r.get('expired', 0):>7} {r.get('void', 0):>6}  {'yes' if batch.exported_at else 'no'}")


@voucher_cli.command("export")
@realm_option
@click.argument("batch_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["csv", "pdf"]), default="csv", show_default=True)
@click.option("--out", "out_path", type=click.Path(dir_okay=False, writable=True), required=True)
@with_appcontext
def export_command(realm_slug, batch_id, fmt, out_path):
    """Write the batch's cards with PINs — possible once; later exports are refused."""
    from app.cli import in_realm
    from app.services.vouchers import export_batch

    with in_realm(realm_slug):
        _, data, _ = export_batch(batch_id, fmt=fmt)
        _write_private(out_path, data)
    click.echo(f"wrote {out_path}")


def _batch_operation(action: str, realm_slug, batch_id, serial_from, serial_to, **extra):
    from app.cli import fail, in_realm
    from app.services.vouchers import apply_batch_operation, preview_batch_operation

    if batch_id is None and not (serial_from and serial_to):
        fail("give --batch or --from and --to")
    with in_realm(realm_slug):
        preview = preview_batch_operation(action=action, batch_id=batch_id, serial_from=serial_from,
                                          serial_to=serial_to)
        changed = apply_batch_operation(action=action, batch_id=batch_id, serial_from=serial_from,
                                        serial_to=serial_to, **extra)
    click.echo(f"{action}: {changed} vouchers changed, {preview['unchanged']} left as they were")


def _selection_options(command):
    command = click.option("--to", "serial_to", default=None, help="Last serial of a range.")(command)
    command = click.option("--from", "serial_from", default=None, help="First serial of a range.")(command)
    command = click.option("--batch", "batch_id", type=int, default=None, help="Batch id.")(command)
    return realm_option(command)


@voucher_cli.command("void")
@_selection_options
@with_appcontext
def void_command(realm_slug, batch_id, serial_from, serial_to):
    """Void a batch or a serial range (redeemed vouchers are never changed)."""
    _batch_operation("void", realm_slug, batch_id, serial_from, serial_to)


@voucher_cli.command("activate")
@_selection_options
@with_appcontext
def activate_command(realm_slug, batch_id, serial_from, serial_to):
    """Activate (sell) a batch or a serial range."""
    _batch_operation("activate", realm_slug, batch_id, serial_from, serial_to)


@voucher_cli.command("extend")
@_selection_options
@click.option("--until", required=True, help="New expiry date, YYYY-MM-DD.")
@with_appcontext
def extend_command(realm_slug, batch_id, serial_from, serial_to, until):
    """Set a new expiry date on a batch or a serial range."""
    _batch_operation("extend", realm_slug, batch_id, serial_from, serial_to, expires_at=_end_of_day(until))
