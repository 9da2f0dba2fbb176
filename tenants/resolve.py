"""Which realm a request is for, from its Host header.

``<slug>.<base domain>`` routes to that realm; the bare base domain (and loopback
addresses, for `make run`) route to the default realm; any other host must be a custom
domain listed on a realm. Anything else is a 404, never a guess.
"""

from __future__ import annotations

import re
from functools import cache

from flask import abort, current_app, g, request
from sqlalchemy import and_, bindparam, select

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


def realm_and_member_for_host(host: str, *, base_domain: str, default_slug: str,
                              member: tuple[type, int] | None = None) -> tuple[Realm | None, object | None]:
    """The active realm serving ``host`` and, with ``member`` (a realm-scoped model and an id),
    that row if it belongs to this realm (else ``None``), in one statement."""
    host = normalise_host(host)
    if host == base_domain or host in _LOOPBACK:
        by, key = "slug", default_slug
    elif host.endswith("." + base_domain):
        by, key = "slug", host[: -len(base_domain) - 1]
        if not _SLUG.match(key):
            return None, None
    else:
        by, key = "domain", host
    if member is None:
        return db.session.scalar(_realm_query(by, None), {by: key}), None
    model, member_id = member
    row = db.session.execute(_realm_query(by, model), {by: key, "member_id": member_id}).first()
    return (row[0], row[1]) if row is not None else (None, None)


# Built once per shape: every request runs one of them, and building a statement costs about
# as much CPU as running it.
@cache
def _realm_query(by: str, member_model: type | None):
    # all_realms: finding a realm by its host reads across realms by nature; the member's realm
    # is written into its join instead (there is no realm context yet to scope by), so a row of
    # another realm comes back as None, exactly as if it did not exist.
    query = select(Realm).execution_options(all_realms=True)
    if member_model is not None:
        query = query.add_columns(member_model).outerjoin(
            member_model, and_(member_model.id == bindparam("member_id"), member_model.realm_id == Realm.id))
    if by == "domain":
        query = query.join(RealmDomain, RealmDomain.realm_id == Realm.id).where(
            RealmDomain.domain == bindparam("domain"))
    else:
        query = query.where(Realm.slug == bindparam("slug"))
    return query.where(Realm.active)


# ``app.extensions`` key of a function that names the signed-in user of the request's session
# as (the session's user id, model, id), or None: the before-request hook loads that user in
# the realm's statement, and the user loader takes it from ``g.session_member``.
SESSION_MEMBER = "tenants.session_member"


def _enter_realm() -> None:
    member_of_session = current_app.extensions.get(SESSION_MEMBER)
    member = member_of_session() if member_of_session is not None else None
    realm, user = realm_and_member_for_host(
        request.host,
        base_domain=current_app.config["BASE_DOMAIN"],
        default_slug=current_app.config["DEFAULT_REALM"],
        member=member[1:] if member is not None else None,
    )
    if realm is None:
        g.realm = None
        abort(404, description="unknown realm")
    g.realm = realm
    g._realm_token = set_request_realm(realm.id)
    if member is not None:
        g.session_member = (member[0], user)


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
