"""Report jobs: ids in, one service call."""

from __future__ import annotations

from app.services.reports.runs import compute_report_run

from .context import job_context


def report_run_job(realm_id: int, run_id: int) -> None:
    with job_context(realm_id):
        compute_report_run(run_id)
