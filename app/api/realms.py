"""Realms (provider only): the installation's realms, for keys of the provider's realm."""

from __future__ import annotations

from flask import current_app, g

from app.services.errors import NotAllowed, NotFound
from app.services.realms import list_realms

from .registry import endpoint
from .schemas import ID, listing, nullable, obj

REALM = obj({
    "id": ID, "slug": {"type": "string"}, "name": {"type": "string"}, "parent_id": nullable(ID),
    "owner_account_id": nullable(ID), "currency": {"type": "string"}, "locale": {"type": "string"},
    "timezone": {"type": "string"}, "active": {"type": "boolean"},
    "domains": {"type": "array", "items": {"type": "string"}},
}, ["id", "slug", "name", "currency", "active"], closed=False)


def _provider_only() -> None:
    if g.realm.slug != current_app.config["DEFAULT_REALM"]:
        raise NotAllowed("forbidden", "only keys of the provider's realm may read realms")


def realm_json(realm) -> dict:
    return {"id": realm.id, "slug": realm.slug, "name": realm.name, "parent_id": realm.parent_id,
            "owner_account_id": realm.owner_account_id, "currency": realm.currency, "locale": realm.locale,
            "timezone": realm.timezone, "active": realm.active, "domains": [d.domain for d in realm.domains]}


@endpoint("/realms", summary="List realms (provider only)", scope="realms:read", tag="realms",
          response=listing(REALM))
def api_list_realms():
    _provider_only()
    return {"items": [realm_json(r) for r in list_realms()]}


@endpoint("/realms/{realm_id}", summary="Get a realm (provider only)", scope="realms:read", tag="realms",
          response=REALM)
def api_get_realm(realm_id):
    _provider_only()
    realm = next((r for r in list_realms() if r.id == realm_id), None)
    if realm is None:
        raise NotFound("realm")
    return realm_json(realm)
