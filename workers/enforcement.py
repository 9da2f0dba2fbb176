"""Quota enforcement jobs: apply an enforcement, restore the normal rate, and the closed-loop
sweep (every minute: confirm from accounting, re-send, disconnect, lift ended periods)."""

from __future__ import annotations

import logging
from datetime import datetime

from app.services.enforcement import (
    apply_enforcement,
    check_enforcements,
    realms_with_open_enforcements,
    restore_normal_rate,
)

from .context import job_context, system_context
from .scheduler import periodic

log = logging.getLogger(__name__)


def apply_enforcement_job(realm_id: int, enforcement_id: int) -> str:
    with job_context(realm_id):
        return apply_enforcement(enforcement_id).state


def restore_enforcement_job(realm_id: int, enforcement_id: int) -> str:
    with job_context(realm_id):
        return restore_normal_rate(enforcement_id).state


def check_enforcements_job(realm_id: int, now: str | None = None) -> dict:
    """One realm's closed loop; ``now`` (ISO datetime) only for replays and tests."""
    with job_context(realm_id):
        return check_enforcements(now=datetime.fromisoformat(now) if now else None)


@periodic("quota-enforcement", every_seconds=60)
def check_enforcements_sweep_job() -> int:
    with system_context():
        realm_ids = realms_with_open_enforcements()
        failed = []
        for realm_id in realm_ids:
            try:
                check_enforcements_job(realm_id)
            except Exception:  # one realm's failure must not stop the others; retried next slot
                log.exception("quota enforcement check failed for realm %s", realm_id)
                failed.append(realm_id)
        if failed:
            raise RuntimeError(f"quota enforcement check failed for realms {failed}")
        return len(realm_ids)
