"""Event jobs: ids in, one service call, raise on failure so RQ retries."""

from __future__ import annotations

from app.services.events import process_event

from .context import job_context


def process_event_job(realm_id: int, event_id: int) -> str:
    with job_context(realm_id):
        return process_event(event_id).state
