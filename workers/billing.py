"""Billing jobs: ids in, one service call, raise on failure so RQ retries."""

from __future__ import annotations

from app.services.billing.run import bill_chunk

from .context import job_context


def bill_chunk_job(realm_id: int, run_id: int, account_ids: list[int]) -> int:
    with job_context(realm_id):
        return bill_chunk(run_id, account_ids)
