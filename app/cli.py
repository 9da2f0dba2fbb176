"""The ``realmbill`` command: Flask's click group plus Realmbill's own commands.

Commands are thin: parse options, enter the realm, call one service inside one unit of
work, print the result. Failures exit non-zero with the service's message on stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from app.services.errors import Invalid, NotFound, ServiceError
from app.services.uow import unit_of_work
from tenants import realm_context


def _create_app():
    from app import create_app

    return create_app()


def main() -> None:
    cli = FlaskGroup(create_app=_create_app, help="Realmbill: ISP billing, rating and provisioning.")
    cli.main(prog_name="realmbill")


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@contextmanager
def in_realm(slug: str | None) -> Iterator[object]:
    """Enter a realm by slug (default: the provider realm) for one unit of work."""
    from app.services.realms import get_realm

    slug = slug or current_app.config["DEFAULT_REALM"]
    try:
        realm = get_realm(slug)
    except NotFound:
        fail(f"no realm {slug!r}")
    with realm_context(realm.id):
        try:
            with unit_of_work():
                yield realm
        except Invalid as exc:
            fail("; ".join(f"{field}: {', '.join(codes)}" for field, codes in exc.errors.items()))
        except ServiceError as exc:
            fail(str(exc))


realm_option = click.option("--realm", "realm_slug", default=None, help="Realm slug (default: the provider realm).")


def register_cli(app) -> None:
    for group in (demo_cli, realm_cli, account_cli, plan_cli, usage_cli, nas_cli, bill_cli):
        app.cli.add_command(group)
    bill_cli.add_command(__import__("app.cli_wholesale", fromlist=["x"]).wholesale_command)
    [bill_cli.add_command(c) for c in __import__("app.cli_billing_terms", fromlist=["x"]).COMMANDS]
    app.cli.add_command(__import__("app.cli_api", fromlist=["x"]).api_key_cli)
    app.cli.add_command(rate_command)
    app.cli.add_command(__import__("app.cli_vouchers", fromlist=["x"]).voucher_cli)
    app.cli.add_command(__import__("app.cli_documents", fromlist=["x"]).documents_cli)
    app.cli.add_command(__import__("app.cli_provisioning", fromlist=["x"]).provision_cli)
    app.cli.add_command(__import__("app.cli_payments", fromlist=["x"]).payments_cli)
    from .cli_secrets import secrets_cli

    app.cli.add_command(secrets_cli)
    app.cli.add_command(radius_acct_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(serve_command)


# ---------------------------------------------------------------- demo
@click.group("demo", help="Demo data.")
def demo_cli():
    pass


@demo_cli.command("seed")
@with_appcontext
def demo_seed():
    """Create the demo realms, plans, accounts and cost centres (idempotent)."""
    from app.services.demo import seed_demo

    try:
        with unit_of_work():
            logins = seed_demo()
    except ServiceError as exc:
        fail(str(exc))
    _wait_for_billing_runs()
    from workers.queues import wait_for_embedded_jobs

    wait_for_embedded_jobs()
    click.echo("Demo ready. Sign in with:")
    for line in logins:
        click.echo(f"  {line}")


def _wait_for_billing_runs(timeout: float = 300) -> None:
    """Without Redis the demo's billing runs finish in this process: wait for them."""
    import time

    from app.extensions import db
    from app.models import BillingRun
    from tenants import all_realms

    deadline = time.monotonic() + timeout
    with all_realms():
        while time.monotonic() < deadline:
            pending = db.session.scalar(db.select(db.func.count(BillingRun.id)).where(BillingRun.status != "done"))
            db.session.rollback()
            if not pending or current_app.config.get("REDIS_URL"):
                return
            time.sleep(0.5)


# ---------------------------------------------------------------- realms
@click.group("realm", help="Realms (tenants).")
def realm_cli():
    pass


@realm_cli.command("create")
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--parent", default=None, help="Parent realm slug (makes this realm a VISP).")
@click.option("--currency", default="USD")
@click.option("--locale", default="en")
@click.option("--timezone", default="UTC")
@click.option("--domain", "domains", multiple=True, help="Custom domain (repeatable).")
@click.option("--theme", default="default")
@click.option("--owner-email", default=None)
@click.option("--owner-password", default=None, help="Read from REALMBILL_OWNER_PASSWORD if omitted.")
@with_appcontext
def realm_create(slug, name, parent, currency, locale, timezone, domains, theme, owner_email, owner_password):
    import os

    from app.services.realms import create_realm

    owner = None
    if owner_email:
        password = owner_password or os.environ.get("REALMBILL_OWNER_PASSWORD", "")
        owner = {"email": owner_email, "name": owner_email, "password": password}
    try:
        with unit_of_work():
            realm = create_realm(
                slug=slug, name=name, parent_slug=parent, currency=currency, locale=locale,
                timezone=timezone, domains=list(domains), theme=theme, owner=owner,
            )
            click.echo(f"created realm {realm.slug} (id {realm.id})")
    except Invalid as exc:
        fail("; ".join(f"{f}: {', '.join(c)}" for f, c in exc.errors.items()))


@realm_cli.command("list")
@with_appcontext
def realm_list():
    from app.services.realms import list_realms

    for realm in list_realms():
        parent = realm.parent.slug if realm.parent else "-"
        domains = ",".join(d.domain for d in realm.domains) or "-"
        click.echo(f"{realm.slug:<16} {realm.name:<30} parent={parent:<12} {realm.currency} {domains}")


# ---------------------------------------------------------------- accounts
@click.group("account", help="Customer accounts.")
def account_cli():
    pass


@account_cli.command("create")
@realm_option
@click.argument("username")
@click.option("--name", required=True)
@click.option("--email", default=None)
@click.option("--password", default=None, help="Self-care and service password.")
@click.option("--cost-centre", default=None, help="Cost-centre code.")
@with_appcontext
def account_create(realm_slug, username, name, email, password, cost_centre):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import CostCentre
    from app.services.accounts import create_account

    with in_realm(realm_slug):
        centre_id = None
        if cost_centre:
            centre_id = db.session.scalar(select(CostCentre.id).where(CostCentre.code == cost_centre))
            if centre_id is None:
                raise Invalid({"cost_centre": ["not_found"]})
        account = create_account(
            username=username, name=name, email=email, password=password, cost_centre_id=centre_id
        )
        click.echo(f"created account {account.number} ({account.username})")


@account_cli.command("list")
@realm_option
@click.option("--search", default=None)
@with_appcontext
def account_list(realm_slug, search):
    from app.services.accounts import list_accounts

    with in_realm(realm_slug):
        for a in list_accounts(search=search, limit=10_000):
            click.echo(f"{a.number}  {a.username:<20} {a.name:<30} {a.status}")


# ---------------------------------------------------------------- plans
@click.group("plan", help="Plans (tariffs) as YAML files.")
def plan_cli():
    pass


@plan_cli.command("import")
@realm_option
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def plan_import(realm_slug, path):
    from app.services.plans import PlanFileError, import_plan

    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        fail(f"{path}: {exc.strerror}")
    with in_realm(realm_slug):
        try:
            plan = import_plan(text, source=path)
        except PlanFileError as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)
        version = plan.latest_version
        click.echo(f"imported plan {plan.code} (version {version.number}, from {version.effective_from})")


@plan_cli.command("export")
@realm_option
@click.argument("code")
@with_appcontext
def plan_export(realm_slug, code):
    from app.services.plans import export_plan

    with in_realm(realm_slug):
        click.echo(export_plan(code), nl=False)


@click.command("rate")
@realm_option
@click.option("--plan-file", type=click.Path(exists=True, dir_okay=False), help="A plan YAML file.")
@click.option("--plan", "plan_code", help="A stored plan's code (with --realm).")
@click.option("--usage", "usage_args", multiple=True, metavar="UNIT=AMOUNT",
              help="Usage in the period, e.g. MB=700 (repeatable).")
@click.option("--with-setup", is_flag=True, help="Include setup and one-time fees.")
@click.option("--json", "as_json", is_flag=True, help="Print the quote as JSON.")
@with_appcontext
def rate_command(realm_slug, plan_file, plan_code, usage_args, with_setup, as_json):
    """Quote one full billing period of a plan for the given usage."""
    import json

    from app.rating.quote import UsageArgumentError, format_quote_table, parse_usage_args
    from app.rating.units import UnitError
    from app.services.plans import PlanFileError
    from app.services.quotes import quote_plan_file, quote_stored_plan

    if bool(plan_file) == bool(plan_code):
        fail("give exactly one of --plan-file or --plan")
    try:
        usage = parse_usage_args(usage_args)
        if plan_file:
            with open(plan_file, encoding="utf-8") as handle:
                result = quote_plan_file(handle.read(), source=plan_file, usage=usage,
                                         with_setup=with_setup)
        else:
            with in_realm(realm_slug):
                result = quote_stored_plan(plan_code, usage=usage, with_setup=with_setup)
    except (UsageArgumentError, UnitError) as exc:
        fail(str(exc))
    except PlanFileError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(format_quote_table(result))


# ---------------------------------------------------------------- usage
@click.group("usage", help="Usage records (mediation).")
def usage_cli():
    pass


@usage_cli.command("import")
@realm_option
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", type=click.Choice(["cdr", "detail", "meter"]), default="cdr",
              help="CSV CDR file, FreeRADIUS detail file, or CSV meter readings.")
@click.option("--timezone", "tz_name", default=None,
              help="Zone of timestamps without an offset (default: the realm's).")
@with_appcontext
def usage_import(realm_slug, path, kind, tz_name):
    """Import a usage file; replaying it changes nothing."""
    import os
    import zoneinfo

    from tqdm import tqdm

    from app.mediation.records import MediationFileError
    from app.services.usage.ingest import import_usage_file

    size = os.path.getsize(path)
    with in_realm(realm_slug) as realm:
        zone = zoneinfo.ZoneInfo(tz_name or realm.timezone)
        # The bar counts records; its total is a guess from the file size, refined as it goes.
        with tqdm(total=max(1, size // 80), unit="rec", disable=None, file=sys.stderr) as bar:
            try:
                batch = import_usage_file(path, kind=kind, default_tz=zone, progress=bar.update)
            except MediationFileError as exc:
                fail(str(exc))
            bar.total = bar.n
            bar.refresh()
        click.echo(f"{batch.name}: {batch.accepted} accepted, {batch.duplicates} duplicate, "
                   f"{batch.rejected} rejected")


@usage_cli.group("rollups", help="Daily usage rollups read by the reports.")
def usage_rollups_cli():
    pass


@usage_rollups_cli.command("rebuild")
@click.option("--realm", "realm_slug", default=None, help="Realm slug (default: every realm).")
@with_appcontext
def usage_rollups_rebuild(realm_slug):
    """Recompute the daily rollups from the usage records (after a bulk load or moving accounts
    between cost centres); reports keep the old figures until it commits."""
    from tqdm import tqdm

    from app.services.usage.rollups import rebuild

    realm_id = None
    if realm_slug:
        with in_realm(realm_slug) as realm:
            realm_id = realm.id
    with tqdm(unit="acct", disable=None, file=sys.stderr) as bar, unit_of_work():
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        result = rebuild(realm_id, progress=progress)
    click.echo(f"rebuilt {result.realms} realm(s): {result.accounts} accounts, {result.daily_rows} "
               f"account-days, {result.centre_rows} cost-centre-days")


# ---------------------------------------------------------------- billing
@click.group("bill", help="Billing runs and invoices.")
def bill_cli():
    pass


@bill_cli.command("run")
@realm_option
@click.option("--period", required=True, help="The month to bill, YYYY-MM.")
@click.option("--wait/--no-wait", default=True, help="Follow the run until it is done.")
@with_appcontext
def bill_run(realm_slug, period, wait):
    """Start (or resume) the billing run of a month; running it again adds nothing."""
    import time

    from tqdm import tqdm

    from app.extensions import db
    from app.models import BillingRun
    from app.services.billing.run import start_billing_run

    with in_realm(realm_slug) as realm:
        run = start_billing_run(period)
        realm_id, run_id, total, chunks = realm.id, run.id, run.total_accounts, run.chunks
    click.echo(f"billing run {run_id} for {period}: {total} accounts in {chunks} chunk(s)")
    if not wait:
        return
    with tqdm(total=total, unit="acct", file=sys.stderr, disable=None) as bar, realm_context(realm_id):
        while True:
            db.session.expire_all()
            current = db.session.get(BillingRun, run_id)
            bar.n = current.done_accounts
            bar.refresh()
            if current.status == "done":
                break
            db.session.rollback()
            time.sleep(0.5)
    click.echo("done")


# ---------------------------------------------------------------- RADIUS
@click.group("nas", help="NAS clients (RADIUS peers).")
def nas_cli():
    pass


@nas_cli.command("add")
@realm_option
@click.argument("address")
@click.option("--name", required=True)
@click.option("--secret", envvar="REALMBILL_NAS_SECRET", required=True,
              help="Shared secret (or REALMBILL_NAS_SECRET).")
@click.option("--coa-port", default=3799)
@with_appcontext
def nas_add(realm_slug, address, name, secret, coa_port):
    from app.services.nas import add_nas

    with in_realm(realm_slug):
        nas = add_nas(name=name, address=address, secret=secret, coa_port=coa_port)
        click.echo(f"added NAS {nas.name} ({nas.address})")


@nas_cli.command("list")
@realm_option
@with_appcontext
def nas_list(realm_slug):
    from app.services.nas import list_nas

    with in_realm(realm_slug):
        for nas in list_nas():
            click.echo(f"{nas.address:<40} {nas.name} (CoA port {nas.coa_port})")


@click.command("radius-acct")
@realm_option
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=1813)
@click.option("--batch-max", default=500)
@click.option("--batch-wait-ms", default=5)
@click.option("--workers", default=1, help="Listener processes sharing the port (SO_REUSEPORT).")
@with_appcontext
def radius_acct_command(realm_slug, host, port, batch_max, batch_wait_ms, workers):
    """RADIUS accounting listener: stores usage for the realm and the realms below it."""
    from app.mediation.radius_acct_server import AccountingServer
    from app.services.nas import nas_secrets
    from app.services.usage.radius_listener import batch_store

    with in_realm(realm_slug) as realm:
        realm_id, clients = realm.id, nas_secrets()
    if not clients:
        fail("no NAS clients: add one with `realmbill nas add`")
    if workers > 1:
        from app.services.usage.radius_listener import serve_workers

        return serve_workers(current_app._get_current_object(), realm_id, clients, host=host, port=port,
                             batch_max=batch_max, batch_wait_ms=batch_wait_ms, workers=workers, echo=click.echo)
    store, on_reject = batch_store(current_app._get_current_object(), realm_id)
    server = AccountingServer(host, port, clients, store, batch_max=batch_max,
                              batch_wait_ms=batch_wait_ms, on_reject=on_reject)
    click.echo(f"RADIUS accounting on {host}:{server.address[1]} for {len(clients)} NAS(es)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


# ---------------------------------------------------------------- background work
@click.command("worker")
@click.option("--queue", "queues", multiple=True, help="Queues to serve (default: all).")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--with-scheduler/--no-scheduler", default=True)
@with_appcontext
def worker_command(queues, burst, with_scheduler):
    """Run an RQ worker (needs REDIS_URL)."""
    from rq import Worker

    from workers.queues import QUEUES, get_queue, redis_connection

    connection = redis_connection()
    if connection is None:
        fail("REDIS_URL is not set: without Redis, jobs run inside the web process (see README)")
    worker = Worker([get_queue(q) for q in (queues or QUEUES)], connection=connection)
    worker.work(burst=burst, with_scheduler=with_scheduler)


@click.command("scheduler")
@click.option("--interval", default=5.0, help="Seconds between ticks.")
@with_appcontext
def scheduler_command(interval):
    """Enqueue periodic work (billing cycle, dunning, quota checks) as it falls due."""
    import threading

    from workers.scheduler import run_scheduler

    stop = threading.Event()
    try:
        run_scheduler(stop, interval=interval)
    except KeyboardInterrupt:
        stop.set()


@click.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000)
@with_appcontext
def serve_command(host, port):
    """Serve the portal for local use, with the scheduler in a background thread."""
    import threading

    from werkzeug.serving import run_simple

    from workers.scheduler import run_scheduler

    app = current_app._get_current_object()
    stop = threading.Event()

    def schedule():
        with app.app_context():
            run_scheduler(stop)

    threading.Thread(target=schedule, name="realmbill-scheduler", daemon=True).start()
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        stop.set()
