"""Events: record what happened, then run the realm's actions for it after commit.

``emit`` is called by every area that changes something a realm may want to react to
(accounts, quotas, invoices, payments, services). It only writes the event row (flush);
once the surrounding unit of work commits, ``workers.events.process_event_job`` runs on
the ``default`` queue and calls ``process_event``: the built-in reactions (provisioning
operations for account status changes) and the realm's configured actions (e-mail,
provisioning operation, signed webhook, command). Processing is idempotent: an event
already processed is skipped, so a re-delivered job changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select

from app.extensions import db
from app.models.base import utcnow
from app.models.events import EVENT_TYPES, Event
from tenants import require_realm_id

from .errors import Invalid
from .lookups import get_or_not_found
from .uow import after_commit

log = logging.getLogger(__name__)

# Built-in reactions, each ``f(event) -> None``, run before the realm's own actions.
# Areas register here (one line) instead of being imported by this module.
REACTIONS: list[Callable[[Event], None]] = []


def emit(event_type: str, *, account=None, data: dict | None = None) -> Event:
    """Record ``event_type`` for the current realm; its actions run after commit."""
    if event_type not in EVENT_TYPES:
        raise Invalid({"event_type": ["unknown"]})
    realm_id = require_realm_id()
    event = Event(
        realm_id=realm_id, type=event_type,
        account_id=getattr(account, "id", account) if account is not None else None,
        data=_plain(data or {}), state="pending",
    )
    db.session.add(event)
    db.session.flush()
    event_id = event.id

    def enqueue_processing() -> None:
        from workers.events import process_event_job
        from workers.queues import enqueue

        enqueue(process_event_job, realm_id, event_id, queue="default", job_id=f"event-{event_id}")

    after_commit(enqueue_processing)
    return event


def _plain(value):
    """JSON-safe copy of ``value`` (Decimals and dates become strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def get_event(event_id: int) -> Event:
    return get_or_not_found(Event, event_id, "event")


def process_event(event_id: int) -> Event:
    """Run the built-in reactions and the realm's actions for one event (once)."""
    event = get_event(event_id)
    if event.state == "processed":
        return event
    event.attempts = (event.attempts or 0) + 1
    try:
        from .event_actions import run_actions
        from .provisioning.reactions import on_event

        on_event(event)
        for reaction in list(REACTIONS):
            reaction(event)

        run_actions(event)
    except Exception as exc:
        log.exception("event %s (%s) failed", event.id, event.type)
        event.state = "failed"
        event.error = f"{type(exc).__name__}: {exc}"[:2000]
        db.session.flush()
        raise
    event.state = "processed"
    event.error = None
    event.processed_at = utcnow()
    db.session.flush()
    return event


def list_events(*, event_type: str | None = None, account_id: int | None = None, limit: int = 100) -> list[Event]:
    query = select(Event).order_by(Event.id.desc()).limit(limit)
    if event_type:
        query = query.where(Event.type == event_type)
    if account_id:
        query = query.where(Event.account_id == account_id)
    return list(db.session.scalars(query))
