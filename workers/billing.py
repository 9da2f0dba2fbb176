"""Billing jobs: ids in, one service call, raise on failure so RQ retries."""

from __future__ import annotations

from app.services.billing.run import bill_chunk, bill_last_month, resume_stalled_runs

from .context import job_context, system_context
from .scheduler import periodic


def bill_chunk_job(realm_id: int, run_id: int, account_ids: list[int]) -> int:
    with job_context(realm_id):
        return bill_chunk(run_id, account_ids)


def resume_stalled_runs_job(realm_id: int) -> list[int]:
    with job_context(realm_id):
        return resume_stalled_runs()


def bill_last_month_job(realm_id: int) -> int | None:
    with job_context(realm_id):
        run = bill_last_month()
        return run.id if run is not None else None


@periodic("billing-cycle", every_seconds=3600, queue="billing")
def billing_cycle_job() -> int:
    """Scheduler entry: every realm bills the month that just ended (once per month)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Realm

    from .queues import enqueue

    with system_context():
        realm_ids = sorted(db.session.scalars(select(Realm.id)))
    for realm_id in realm_ids:
        enqueue(bill_last_month_job, realm_id, queue="billing")
    return len(realm_ids)


@periodic("billing-sweep", every_seconds=600, queue="billing")
def billing_sweep_job() -> int:
    """Scheduler entry: one sweep per realm with a run still going after ten minutes."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import BillingRun
    from tenants import all_realms

    from .queues import enqueue

    with system_context(), all_realms():
        realm_ids = sorted(set(db.session.scalars(
            select(BillingRun.realm_id).where(BillingRun.status == "running"))))
    for realm_id in realm_ids:
        enqueue(resume_stalled_runs_job, realm_id, queue="billing")
    return len(realm_ids)
