"""Event jobs: ids in, one service call, raise on failure so RQ retries."""

from __future__ import annotations

from app.services.events import process_event

from .context import job_context


def process_event_job(realm_id: int, event_id: int) -> str:
    with job_context(realm_id):
        return process_event(event_id).state


def deliver_webhook_job(realm_id: int, delivery_id: int) -> str:
    from app.services.event_actions import deliver_webhook

    with job_context(realm_id):
        return deliver_webhook(delivery_id).status
