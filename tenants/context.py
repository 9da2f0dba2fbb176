"""The realm a unit of work runs for.

One ContextVar carries the current realm id for requests, RQ jobs and CLI commands alike,
so scoping (tenants/scoping.py) does not care where it runs. Requests set it from the host
(tenants/resolve.py); jobs and commands enter ``realm_context(realm_id)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_realm_id: ContextVar[int | None] = ContextVar("realmbill_realm_id", default=None)
_all_realms: ContextVar[bool] = ContextVar("realmbill_all_realms", default=False)


class RealmContextRequired(RuntimeError):
    """A query touched realm data with no realm chosen."""


def current_realm_id() -> int | None:
    return _realm_id.get()


def require_realm_id() -> int:
    realm_id = _realm_id.get()
    if realm_id is None:
        raise RealmContextRequired("no realm context: use realm_context(realm_id)")
    return realm_id


def all_realms_allowed() -> bool:
    return _all_realms.get()


@contextmanager
def realm_context(realm_id: int) -> Iterator[int]:
    """Run the enclosed block as realm ``realm_id``."""
    if not isinstance(realm_id, int):
        raise TypeError("realm_context takes a realm id (int)")
    token = _realm_id.set(realm_id)
    scope_token = _all_realms.set(False)
    try:
        yield realm_id
    finally:
        _all_realms.reset(scope_token)
        _realm_id.reset(token)


@contextmanager
def all_realms() -> Iterator[None]:
    """Deliberately read across realms (provider reports, schedulers, migrations).

    Kept explicit so every cross-realm read is visible in the code that does it.
    """
    token = _all_realms.set(True)
    try:
        yield
    finally:
        _all_realms.reset(token)


def set_request_realm(realm_id: int | None):
    """Used by the request hooks; returns a token for ``reset_request_realm``."""
    return _realm_id.set(realm_id)


def reset_request_realm(token) -> None:
    _realm_id.reset(token)
