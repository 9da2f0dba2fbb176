"""``realmbill api-key``: create (printed once), list and revoke a realm's API keys."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group("api-key", help="API keys of a realm (for /api/v1).")
def api_key_cli():
    pass


@api_key_cli.command("create")
@click.option("--realm", "realm_slug", default=None, help="Realm slug (default: the provider realm).")
@click.option("--name", required=True, help="What the key is for.")
@click.option("--scope", "scopes", multiple=True, required=True,
              help="A scope such as accounts:read (repeatable).")
@with_appcontext
def api_key_create(realm_slug, name, scopes):
    """Create a key; the key itself is printed once and never stored."""
    from app.cli import in_realm
    from app.services.api.keys import create_api_key

    with in_realm(realm_slug):
        created = create_api_key(name=name, scopes=list(scopes), created_by="cli")
        key_id = created.key.id
    click.echo(f"api key {key_id} ({name}): {created.token}")
    click.echo("store it now: it is not shown again", err=True)


@api_key_cli.command("list")
@click.option("--realm", "realm_slug", default=None, help="Realm slug (default: the provider realm).")
@with_appcontext
def api_key_list(realm_slug):
    from app.cli import in_realm
    from app.services.api.keys import list_api_keys

    with in_realm(realm_slug):
        for key in list_api_keys():
            state = "revoked" if key.revoked_at else "active"
            used = key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else "never"
            click.echo(f"{key.id}\trb_{key.prefix}_…\t{state}\t{' '.join(key.scope_list)}\tlast used {used}\t{key.name}")


@api_key_cli.command("revoke")
@click.option("--realm", "realm_slug", default=None, help="Realm slug (default: the provider realm).")
@click.argument("key_id", type=int)
@with_appcontext
def api_key_revoke(realm_slug, key_id):
    from app.cli import in_realm
    from app.services.api.keys import revoke_api_key

    with in_realm(realm_slug):
        revoke_api_key(key_id)
    click.echo(f"api key {key_id} revoked")
