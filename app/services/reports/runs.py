"""Heavy reports run in the background: a ``ReportRun`` row with progress the page polls.

Asking for a heavy report with the same filters while a run is queued or running returns
that run instead of starting another; a finished run is kept as the result (JSON-safe rows)
until someone asks to refresh it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.models.report import ReportRun
from tenants import require_realm_id

from ..errors import NotAllowed, NotFound
from ..uow import after_commit
from . import Filters, get_report, parse_filters


def start_report_run(code: str, filters: Filters, *, refresh: bool = False) -> ReportRun:
    definition = get_report(code)
    if not definition.heavy:
        raise NotAllowed("not_a_background_report")
    params = filters.params()
    latest = latest_run(code, filters)
    if latest is not None and (
            latest.status in ("queued", "running") or (latest.status == "done" and not refresh)):
        return latest
    run = ReportRun(code=code, params=params, status="queued")
    db.session.add(run)
    db.session.flush()
    realm_id, run_id = require_realm_id(), run.id

    def enqueue_run() -> None:
        from workers.queues import enqueue
        from workers.reports import report_run_job

        enqueue(report_run_job, realm_id, run_id, queue="default", job_id=f"report-{realm_id}-{run_id}")

    after_commit(enqueue_run)
    return run


def latest_run(code: str, filters: Filters) -> ReportRun | None:
    """The newest run of ``code`` with exactly these filters (a duplicate run is harmless)."""
    params = filters.params()
    for run in db.session.scalars(select(ReportRun).where(ReportRun.code == code)
                                  .order_by(ReportRun.id.desc()).limit(20)):
        if run.params == params:
            return run
    return None


def get_run(run_id: int) -> ReportRun:
    run = db.session.scalar(select(ReportRun).where(ReportRun.id == run_id))
    if run is None:
        raise NotFound("report run")
    return run


def compute_report_run(run_id: int) -> ReportRun:
    """The job: compute the report, saving progress as it goes (in its own commits)."""
    run = get_run(run_id)
    if run.status == "done":
        return run
    definition = get_report(run.code)
    run.status = "running"
    db.session.commit()

    def progress(done: int, total: int) -> None:
        run.done, run.total = done, total
        db.session.commit()

    try:
        result = definition.build(parse_filters(run.params), progress=progress)
    except Exception as exc:  # recorded for the page; the job is not retried for bad data
        run.status, run.error = "failed", str(exc)[:500]
        run.finished_at = datetime.now(UTC)
        db.session.flush()
        return run
    run.result = {"rows": [{k: _json(v) for k, v in row.items()} for row in result.rows],
                  "note": str(result.note or ""), "chart_label": result.chart_label,
                  "chart_value": result.chart_value, "drill": result.drill,
                  "totals": {k: _json(v) for k, v in result.totals.items()}}
    run.status, run.finished_at = "done", datetime.now(UTC)
    db.session.flush()
    return run


def _json(value):
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return value
