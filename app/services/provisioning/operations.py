"""Operations: one provisioning action of a service, run on the ``provisioning`` queue.

Every attempt is logged with its outcome (errors never contain the password: adapters
redact, and we redact again). A failed attempt is retried after the module's retry
interval by the scheduler's sweep (``retry_due_operations``); after ``max_attempts``
failures the operation switches to manual processing and a task is opened for the
module's department. A module without an adapter ("manual setup") turns every operation
into a task at once. Running an operation that already succeeded is a no-op, and adapters
are idempotent, so a re-delivered job ends in the same state.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models.base import utcnow
from app.models.provisioning import (
    OPERATION_KINDS,
    Operation,
    OperationAttempt,
    ProvisioningTask,
    Service,
)
from provisioning_adapters.base import AdapterError
from tenants import require_realm_id

from ..errors import Invalid, NotAllowed, NotFound
from ..uow import after_commit
from .services import apply_success, get_service, service_spec

OPEN = ("queued", "running", "failed")
# An operation that undoes another: queuing one cancels the other's open operation.
OPPOSITE = {"suspend": "resume", "resume": "suspend"}


def get_operation(operation_id: int, *, lock: bool = False) -> Operation:
    query = select(Operation).where(Operation.id == operation_id)
    if lock and db.session.connection().dialect.name == "postgresql":
        query = query.with_for_update()
    operation = db.session.scalar(query)
    if operation is None:
        raise NotFound("operation")
    return operation


def list_operations(*, statuses: tuple[str, ...] | None = None, service_id: int | None = None,
                    limit: int = 200) -> list[Operation]:
    query = select(Operation).order_by(Operation.id.desc()).limit(limit)
    if statuses:
        query = query.where(Operation.status.in_(statuses))
    if service_id is not None:
        query = query.where(Operation.service_id == service_id)
    return list(db.session.scalars(query))


def _enqueue(operation: Operation) -> None:
    realm_id, operation_id, attempt = operation.realm_id, operation.id, operation.attempts

    def run_after_commit() -> None:
        from workers.provisioning import run_operation_job
        from workers.queues import enqueue

        enqueue(run_operation_job, realm_id, operation_id, queue="provisioning",
                job_id=f"provisioning-op-{operation_id}-{attempt}", retries=0)

    after_commit(run_after_commit)


def queue_operation(service_id: int, kind: str, *, reason: str | None = None) -> Operation | None:
    """Queue ``kind`` for a service; an identical open operation is returned instead of a
    second one. Services without a module need no operation (``None``)."""
    require_realm_id()
    if kind not in OPERATION_KINDS:
        raise Invalid({"kind": ["unknown"]})
    service = get_service(service_id)
    if service.status in ("cancelled", "deleted"):
        raise NotAllowed("service_closed")
    if service.module_id is None:
        return None
    open_ops = list(db.session.scalars(
        select(Operation).where(Operation.service_id == service.id, Operation.status.in_(OPEN + ("manual",)))
    ))
    for existing in open_ops:
        if existing.kind == kind and existing.status in OPEN:
            return existing
    for existing in open_ops:
        if existing.kind == OPPOSITE.get(kind) and existing.status in ("queued", "failed"):
            existing.status = "cancelled"
            existing.finished_at = utcnow()
            existing.last_error = (existing.last_error or "") + f"\nsuperseded by {kind}"
    operation = Operation(service_id=service.id, module_id=service.module_id, kind=kind,
                          status="queued", reason=(reason or "")[:200] or None, attempts=0)
    db.session.add(operation)
    db.session.flush()
    module = service.module
    if module.adapter is None:
        _to_manual(operation, note="manual setup")
    else:
        _enqueue(operation)
    return operation


def _redact(message: str, spec) -> str:
    if spec is not None and spec.password:
        message = message.replace(spec.password, "***")
    return message[:2000]


def run_operation(operation_id: int, *, now=None) -> Operation:
    """One attempt of an operation (the job). Not due, finished or manual: nothing happens."""
    now = now or utcnow()
    operation = get_operation(operation_id, lock=True)
    if operation.status not in ("queued", "failed"):
        return operation
    if operation.status == "failed" and operation.next_attempt_at and operation.next_attempt_at > now:
        return operation
    service: Service = operation.service
    module = operation.module or service.module
    if module is None or module.adapter is None:
        _to_manual(operation, note="manual setup")
        return operation

    from .modules import build_adapter

    number = (operation.attempts or 0) + 1
    attempt = OperationAttempt(operation_id=operation.id, number=number, started_at=utcnow())
    db.session.add(attempt)
    operation.attempts = number
    operation.status = "running"
    spec = None
    try:
        spec = service_spec(service, operation.kind)
        adapter = build_adapter(module)
        summary = adapter.apply(operation.kind, spec) or "ok"
    except AdapterError as exc:
        error = _redact(str(exc), spec)
    except NotAllowed as exc:
        error = exc.code
    except Exception as exc:  # an adapter bug: keep the type, never the repr of settings
        error = _redact(f"unexpected error ({type(exc).__name__}): {exc}", spec)
    else:
        error = None
    attempt.finished_at = utcnow()
    if error is None:
        attempt.ok, attempt.message = True, _redact(summary, spec)
        operation.status = "succeeded"
        operation.result = attempt.message
        operation.last_error = None
        operation.next_attempt_at = None
        operation.finished_at = attempt.finished_at
        db.session.flush()
        apply_success(service, operation.kind)
        return operation
    attempt.ok, attempt.message = False, error
    operation.last_error = error
    if number % max(module.max_attempts or 1, 1) == 0:
        _to_manual(operation, note=error)
    else:
        operation.status = "failed"
        operation.next_attempt_at = now + timedelta(seconds=module.retry_interval_seconds or 300)
    db.session.flush()
    return operation


def _to_manual(operation: Operation, *, note: str | None = None) -> ProvisioningTask:
    """Hand the operation to people: a task for the module's department (reopened if the
    operation had one before)."""
    operation.status = "manual"
    operation.next_attempt_at = None
    module = operation.module or operation.service.module
    task = db.session.scalar(select(ProvisioningTask).where(ProvisioningTask.operation_id == operation.id))
    if task is None:
        task = ProvisioningTask(operation_id=operation.id, status="open")
        db.session.add(task)
    else:
        task.status, task.assignee_id, task.closed_at = "open", None, None
    task.department_id = module.department_id if module else None
    task.notes = (note or "")[:2000] or None
    db.session.flush()
    return task


def restart_operation(operation_id: int) -> Operation:
    """Staff restart: the operation gets a fresh round of attempts now; its open task is closed."""
    operation = get_operation(operation_id, lock=True)
    if operation.status in ("succeeded", "done", "running"):
        raise NotAllowed("operation_not_restartable")
    if operation.service.status in ("cancelled", "deleted") and operation.kind != "delete":
        raise NotAllowed("service_closed")
    task = db.session.scalar(select(ProvisioningTask).where(ProvisioningTask.operation_id == operation.id))
    if task is not None and task.status != "closed":
        task.status, task.closed_at = "closed", utcnow()
        task.notes = ((task.notes or "") + "\nrestarted").strip()
    # A fresh round: the next failure count starts at a multiple of max_attempts.
    module = operation.module or operation.service.module
    per_round = max((module.max_attempts if module else 1) or 1, 1)
    done = operation.attempts or 0
    if done % per_round:
        operation.attempts = done + (per_round - done % per_round)
    operation.status = "queued"
    operation.next_attempt_at = None
    operation.finished_at = None
    db.session.flush()
    if module is not None and module.adapter is None:
        _to_manual(operation, note="manual setup")
    else:
        _enqueue(operation)
    return operation


def due_operation_ids(*, now=None, limit: int = 500) -> list[int]:
    now = now or utcnow()
    return list(db.session.scalars(
        select(Operation.id).where(
            Operation.status.in_(("failed", "queued")),
            (Operation.next_attempt_at.is_(None)) | (Operation.next_attempt_at <= now),
        ).order_by(Operation.id).limit(limit)
    ))


def retry_due_operations(*, now=None) -> list[int]:
    """Queue every operation whose retry is due (the scheduler's sweep, per realm)."""
    ids = due_operation_ids(now=now)
    for operation_id in ids:
        _enqueue(get_operation(operation_id))
    return ids
