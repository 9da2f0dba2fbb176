"""Provisioning jobs: ids in, one service call. Failures are recorded by the service
(attempt log, retry time, manual task), so the job itself does not raise for them."""

from __future__ import annotations

from sqlalchemy import select

from app.services.provisioning.operations import retry_due_operations, run_operation

from .context import job_context
from .scheduler import periodic


def run_operation_job(realm_id: int, operation_id: int) -> str:
    with job_context(realm_id):
        return run_operation(operation_id).status


def retry_realm_job(realm_id: int) -> int:
    from app.services.event_actions import retry_due_deliveries

    with job_context(realm_id):
        count = len(retry_due_operations())
        count += len(retry_due_deliveries())
        return count


@periodic("provisioning-retry", every_seconds=60, queue="provisioning")
def retry_due_job() -> int:
    """Scheduler entry: queue one sweep per realm that has work due."""
    from flask import has_app_context

    if not has_app_context():
        from app import create_app

        with create_app().app_context():
            return _queue_sweeps()
    return _queue_sweeps()


def _queue_sweeps() -> int:
    from app.extensions import db
    from app.models.base import utcnow
    from app.models.provisioning import ActionDelivery, Operation
    from tenants import all_realms
    from workers.queues import enqueue

    now = utcnow()
    with all_realms():
        realm_ids = set(db.session.scalars(
            select(Operation.realm_id).where(
                Operation.status.in_(("failed", "queued")),
                (Operation.next_attempt_at.is_(None)) | (Operation.next_attempt_at <= now),
            ).distinct()
        ))
        realm_ids |= set(db.session.scalars(
            select(ActionDelivery.realm_id).where(
                ActionDelivery.status == "pending", ActionDelivery.next_attempt_at <= now,
            ).distinct()
        ))
    for realm_id in sorted(realm_ids):
        enqueue(retry_realm_job, realm_id, queue="provisioning", job_id=f"provisioning-sweep-{realm_id}-{int(now.timestamp()) // 60}")
    return len(realm_ids)
