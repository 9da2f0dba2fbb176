"""``realmbill bill wholesale``: bill the VISP realms below a realm for a month."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext


@click.command("wholesale")
@click.option("--realm", "realm_slug", default=None, help="The parent realm that bills (default: the provider realm).")
@click.option("--period", required=True, help="The month to bill, YYYY-MM.")
@click.option("--child", "children", multiple=True, help="Only this child realm (slug, repeatable).")
@click.option("--plan", "plan_code", default=None,
              help="First put the --child realm(s) on this wholesale plan of the parent.")
@with_appcontext
def wholesale_command(realm_slug, period, children, plan_code):
    """Aggregate each VISP realm's month and invoice its owner account; running it again adds nothing."""
    from tqdm import tqdm

    from app.cli import fail, in_realm
    from app.services.billing.wholesale import (
        bill_wholesale_children,
        due_children,
        set_wholesale_plan,
    )
    from app.services.errors import NotFound
    from app.services.plans import get_plan_by_code
    from app.services.realms import get_realm

    if plan_code and not children:
        fail("--plan needs --child")
    with in_realm(realm_slug) as realm:
        ids = []
        for slug in children:
            try:
                child = get_realm(slug)
            except NotFound:
                fail(f"no realm {slug!r}")
            if child.parent_id != realm.id:
                fail(f"realm {slug!r} is not a child of {realm.slug!r}")
            ids.append(child.id)
        if plan_code:
            plan = get_plan_by_code(plan_code)
            for child_id in ids:
                set_wholesale_plan(child_id, plan_id=plan.id)
        ids = ids or due_children()
        with tqdm(total=len(ids), unit="realm", file=sys.stderr, disable=None) as bar:
            statements = bill_wholesale_children(period, child_realm_ids=ids, progress=bar.update)
        for statement in statements:
            number = statement.invoice.number if statement.invoice else "-"
            click.echo(f"{statement.child_realm.slug} {period}: {statement.active_subscribers} subscribers, "
                       f"{statement.traffic_mb.normalize():f} MB, {statement.time_hours.normalize():f} h, "
                       f"{statement.total:f} {statement.currency}, invoice {number}")
        if not statements:
            click.echo("no VISP realm with a wholesale plan and an owner account")
