"""The RADIUS accounting listener's storage side: one unit of work per batch.

The listener (app/mediation/radius_acct_server.py) answers a NAS only after its batch
was committed here, so a crash loses nothing: the NAS retransmits and the retransmission
is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from app.mediation.records import Reject, UsageEvent
from tenants import realm_context

from ..uow import unit_of_work
from .ingest import ingest


def batch_store(app: Flask, realm_id: int) -> tuple[Callable, Callable]:
    """Handlers for AccountingServer: (handle_batch, on_reject), both committing."""

    def store(items: list[UsageEvent | Reject]) -> None:
        with app.app_context(), realm_context(realm_id), unit_of_work():
            ingest(items)

    return store, store
