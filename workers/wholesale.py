"""Wholesale jobs: bill one VISP realm's month to its parent; the monthly cycle fans out."""

from __future__ import annotations

from app.services.billing.wholesale import bill_wholesale, due_wholesale_pairs, previous_month

from .context import job_context, system_context
from .queues import enqueue
from .scheduler import periodic


def bill_wholesale_job(parent_realm_id: int, child_realm_id: int, period: str) -> int:
    with job_context(parent_realm_id):
        return bill_wholesale(child_realm_id, period).id


@periodic("wholesale-cycle", every_seconds=6 * 3600, queue="billing")
def wholesale_cycle_job() -> int:
    """Bill last month for every VISP realm with a wholesale plan (already billed: no-op)."""
    with system_context():
        period = previous_month()
        pairs = due_wholesale_pairs()
        for parent_id, child_id in pairs:
            enqueue(bill_wholesale_job, parent_id, child_id, period, queue="billing",
                    job_id=f"wholesale-{child_id}-{period}")
        return len(pairs)
