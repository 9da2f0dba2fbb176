"""Calls into areas owned by others, each in one place (events, collections, charges, mail).

Payments must keep working while a neighbouring area is still being built, so the
optional ones are looked up when called; once they exist they are always called.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging

log = logging.getLogger(__name__)


def _module(name: str):
    try:
        if importlib.util.find_spec(name) is None:
            return None
    except ModuleNotFoundError:
        return None
    return importlib.import_module(name)


def emit(event_type: str, *, account=None, data: dict | None = None) -> None:
    events = _module("app.services.events")
    if events is not None:
        events.emit(event_type, account=account, data=data)


def reevaluate_account(account_id: int) -> None:
    """Collections decide whether a suspended account may be resumed now that money came in."""
    collections = _module("app.services.collections")
    if collections is not None and hasattr(collections, "reevaluate_account"):
        collections.reevaluate_account(account_id)


def add_charge(account_id: int, **kwargs) -> None:
    from app.services.billing.charges import add_charge as _add_charge

    _add_charge(account_id, **kwargs)
