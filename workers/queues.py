"""Where background work goes.

With ``REDIS_URL`` set, jobs go to RQ queues (one per kind of work) and ``realmbill worker``
runs them. Without it (the embedded default of `make run`), the same job functions run in a
small in-process thread pool: nothing has to be installed, and the code path from
``enqueue`` to the job function is the same. The embedded mode keeps no queue across a
restart, which is why production sets REDIS_URL.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from flask import current_app

QUEUES = ("default", "billing", "documents", "provisioning", "usage", "mail")
DEFAULT_TIMEOUT = 30 * 60

log = logging.getLogger(__name__)
_pool: ThreadPoolExecutor | None = None


def redis_connection():
    from redis import Redis

    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    connections = current_app.extensions.setdefault("realmbill_redis", {})
    if url not in connections:
        connections[url] = Redis.from_url(url)
    return connections[url]


def get_queue(name: str):
    from rq import Queue

    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=redis_connection(), default_timeout=DEFAULT_TIMEOUT)


def enqueue(
    func: Callable,
    *args,
    queue: str = "default",
    job_id: str | None = None,
    retries: int = 3,
    **kwargs,
):
    """Queue ``func(*args, **kwargs)``; a deterministic ``job_id`` makes re-enqueueing a no-op
    while the job is still known to RQ. Arguments must be plain values (ids, not ORM objects)."""
    from rq import Retry

    if redis_connection() is None:
        future = _run_embedded(func, args, kwargs)
        if current_app.config.get("JOBS_EAGER"):
            return future.result()  # tests: wait for the job, like RQ's is_async=False
        return future
    q = get_queue(queue)
    if job_id is not None:
        existing = q.fetch_job(job_id)
        if existing is not None and existing.get_status(refresh=True) in {"queued", "started", "deferred", "scheduled"}:
            return existing
    return q.enqueue(
        func, *args, job_id=job_id, retry=Retry(max=retries, interval=[10, 60, 300]), **kwargs
    )


_outstanding: set = set()


def wait_for_embedded_jobs(timeout: float = 300) -> bool:
    """Block until the in-process jobs (and the follow-ups they enqueue) have finished, so a
    command like ``demo seed`` does not exit while its background work still runs."""
    import time
    from concurrent.futures import wait

    deadline = time.monotonic() + timeout
    while _outstanding and time.monotonic() < deadline:
        wait(list(_outstanding), timeout=max(0.1, deadline - time.monotonic()))
    return not _outstanding


def _track(future):
    _outstanding.add(future)
    future.add_done_callback(_outstanding.discard)
    return future


def _run_embedded(func, args, kwargs):
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="realmbill-job")
    app = current_app._get_current_object()

    def run():
        with app.app_context():
            try:
                return func(*args, **kwargs)
            except Exception:
                log.exception("embedded job %s failed", getattr(func, "__name__", func))
                raise

    if current_app.config.get("JOBS_EAGER") and threading.current_thread().name.startswith("realmbill-job"):
        # Eager mode (tests) waits for every job; a job enqueued by a running job gets a
        # fresh thread, so nested follow-ups never wait on a pool whose threads all wait.
        nested = ThreadPoolExecutor(max_workers=1, thread_name_prefix="realmbill-job-nested")
        future = _track(nested.submit(run))
        nested.shutdown(wait=False)
        return future
    return _track(_pool.submit(run))
