"""Collections jobs: the dunning sweep (hourly; reruns and parallel runs change nothing)."""

from __future__ import annotations

import logging
from datetime import date

from app.services.collections import realms_for_dunning, run_dunning

from .context import job_context, system_context
from .scheduler import periodic

log = logging.getLogger(__name__)


def dunning_job(realm_id: int, today: str | None = None) -> dict:
    """Apply one realm's collection rules; ``today`` (ISO date) only for replays and tests."""
    with job_context(realm_id):
        result = run_dunning(today=date.fromisoformat(today) if today else None)
        return vars(result)


@periodic("collections-dunning", every_seconds=3600)
def dunning_sweep_job() -> int:
    """Scheduler sweep: dun every active realm, each in its own unit of work."""
    with system_context():
        realm_ids = realms_for_dunning()
        failed = []
        for realm_id in realm_ids:
            try:
                dunning_job(realm_id)
            except Exception:  # one realm's failure must not stop the others; retried below
                log.exception("dunning failed for realm %s", realm_id)
                failed.append(realm_id)
        if failed:
            raise RuntimeError(f"dunning failed for realms {failed}")  # RQ retries the sweep
        return len(realm_ids)
