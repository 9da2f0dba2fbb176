"""The scheduler: periodic work, enqueued once per time slot.

Each periodic task has an interval; in every slot the scheduler enqueues the task's job
with the id ``<task>-<slot start>``, so two schedulers running at once (or a restart in
the middle of a slot) enqueue it once. Features register their tasks with ``periodic``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .queues import enqueue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    every_seconds: int
    func: Callable[[], object]
    queue: str = "default"


TASKS: dict[str, PeriodicTask] = {}


def periodic(name: str, every_seconds: int, queue: str = "default"):
    def register(func):
        TASKS[name] = PeriodicTask(name, every_seconds, func, queue)
        return func

    return register


def due_slots(now: float, last_run: dict[str, int]) -> list[tuple[PeriodicTask, int]]:
    """Tasks whose current slot has not been enqueued yet, with that slot's start."""
    due = []
    for task in TASKS.values():
        slot = int(now // task.every_seconds) * task.every_seconds
        if last_run.get(task.name) != slot:
            due.append((task, slot))
    return due


def tick(now: float, last_run: dict[str, int]) -> int:
    count = 0
    for task, slot in due_slots(now, last_run):
        enqueue(task.func, queue=task.queue, job_id=f"{task.name}-{slot}")
        last_run[task.name] = slot
        count += 1
    return count


def run_scheduler(stop: threading.Event, interval: float = 5.0) -> None:
    last_run: dict[str, int] = {}
    while not stop.is_set():
        try:
            tick(time.time(), last_run)
        except Exception:  # keep scheduling; the failure is logged and retried next tick
            log.exception("scheduler tick failed")
        stop.wait(interval)


from . import api as _api  # noqa: E402,F401 - registers the idempotency sweep
from . import billing as _billing  # noqa: E402,F401 - registers the billing cycle and sweeper
from . import collections as _collections  # noqa: E402,F401 - registers the dunning sweep
from . import enforcement as _enforcement  # noqa: E402,F401 - registers the quota enforcement check
from . import mail as _mail  # noqa: E402,F401 - registers the mail retry sweep
from . import payments as _payments  # noqa: E402,F401 - registers the charge retry sweep
from . import provisioning as _provisioning  # noqa: E402,F401 - registers the provisioning retry sweep
from . import usage as _usage  # noqa: E402,F401 - registers the usage rollups fold
from . import wholesale as _wholesale  # noqa: E402,F401 - registers the wholesale cycle
