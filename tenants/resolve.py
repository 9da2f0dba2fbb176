"""Which realm a request is for, from its Host header.

``<slug>.<base domain>`` routes to that realm; the bare base domain (and loopback
addresses, for `make run`) route to the default realm; any other host must be a custom
domain listed on a realm. Anything else is a 404, never a guess.
"""

from __future__ import annotations

import re
from functools import cache

from flask import abort, current_app, g, request
from sqlalchemy import bindparam, select

from app.extensions import db
from app.models import Realm, RealmDomain

from .context import reset_request_realm, set_request_realm

_LOOPBACK = {"127.0.0.1", "localhost", "[::1]"}
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def normalise_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("["):  # IPv6 literal with a port
        return host.split("]")[0] + "]"
    return host.split(":")[0]


def realm_for_host(host: str, *, base_domain: str, default_slug: str) -> Realm | None:
    host = normalise_host(host)
    if host == base_domain or host in _LOOPBACK:
        slug = default_slug
    elif host.endswith("." + base_domain):
        slug = host[: -len(base_domain) - 1]
        if not _SLUG.match(slug):
            return None
    else:
        return db.session.scalar(_by_domain(), {"domain": host})
    return db.session.scalar(_by_slug(), {"slug": slug})


# Built once: every request runs one of them, and building a statement costs about as much
# CPU as running it.
@cache
def _by_slug():
    return select(Realm).where(Realm.slug == bindparam("slug"), Realm.active)


@cache
def _by_domain():
    return select(Realm).join(RealmDomain).where(RealmDomain.domain == bindparam("domain"), Realm.active)


def _enter_realm() -> None:
    realm = realm_for_host(
        request.host,
        base_domain=current_app.config["BASE_DOMAIN"],
        default_slug=current_app.config["DEFAULT_REALM"],
    )
    if realm is None:
        g.realm = None
        abort(404, description="unknown realm")
    g.realm = realm
    g._realm_token = set_request_realm(realm.id)


def _leave_realm(exc=None) -> None:
    token = g.pop("_realm_token", None)
    if token is not None:
        reset_request_realm(token)


def init_tenancy(app) -> None:
    app.before_request(_enter_realm)
    app.teardown_request(_leave_realm)


def current_realm() -> Realm:
    """The realm of the current request (set by the before-request hook)."""
    realm = g.get("realm")
    if realm is None:
        abort(404)
    return realm
