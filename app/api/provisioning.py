"""Provisioning: operations (list, get with the attempt log, restart) and manual tasks
(list, get, assign, close), over ``app.services.provisioning`` like the console.

A key acts for the whole realm: it sees every department's tasks. Assigning names the
staff member (who must see the task); closing records the key (or ``staff_id``) as who did it.
"""

from __future__ import annotations

from flask import g

from app.models.provisioning import OPERATION_STATUSES, TASK_STATUSES
from app.services.errors import Invalid, NotFound
from app.services.provisioning.operations import get_operation, list_operations, restart_operation
from app.services.provisioning.tasks import (
    DETAIL_KEY_MAX,
    DETAIL_VALUE_MAX,
    assign_task,
    close_task,
    get_task,
    list_tasks,
)
from app.services.staff import get_active_staff

from .registry import endpoint
from .schemas import DATETIME, ID, LIMIT, listing, nullable, obj, text

ATTEMPT = obj({"number": {"type": "integer"}, "started_at": DATETIME, "finished_at": nullable(DATETIME),
               "ok": {"type": "boolean"}, "message": nullable({"type": "string"})}, closed=False)
OPERATION = obj({
    "id": ID, "service_id": ID, "account_id": nullable(ID), "module_id": nullable(ID),
    "kind": {"type": "string"}, "status": {"type": "string", "enum": list(OPERATION_STATUSES)},
    "reason": nullable({"type": "string"}), "attempts": {"type": "integer"},
    "next_attempt_at": nullable(DATETIME), "last_error": nullable({"type": "string"}),
    "result": nullable({"type": "string"}), "finished_at": nullable(DATETIME), "created_at": nullable(DATETIME),
    "attempt_log": {"type": "array", "items": ATTEMPT},
}, ["id", "service_id", "kind", "status"], closed=False)
TASK = obj({
    "id": ID, "operation_id": ID, "operation_kind": {"type": "string"}, "service_id": ID,
    "account_id": nullable(ID), "department_id": nullable(ID), "assignee_id": nullable(ID),
    "status": {"type": "string", "enum": list(TASK_STATUSES)}, "notes": nullable({"type": "string"}),
    "closed_at": nullable(DATETIME), "created_at": nullable(DATETIME),
}, ["id", "operation_id", "status"], closed=False)
ASSIGN = obj({"staff_id": ID}, ["staff_id"])
CLOSE = obj({
    "details": {"type": "object", "maxProperties": 50,
                "additionalProperties": {"type": "string", "maxLength": DETAIL_VALUE_MAX},
                "description": f"The service details filled in by hand (keys up to {DETAIL_KEY_MAX} characters)."},
    "notes": nullable(text(2000)), "staff_id": nullable(ID),
})


class KeyActor:
    """The API key as the one doing task work: sees all departments, is nobody's staff id."""

    id = None
    departments: tuple = ()

    def __init__(self, key) -> None:
        self.email = f"API key {key.name}"[:254]

    def can(self, right: str) -> bool:
        return right == "manage_realm"


def _when(value) -> str | None:
    return value.isoformat() if value else None


def operation_json(operation, *, detail: bool = False) -> dict:
    data = {
        "id": operation.id, "service_id": operation.service_id, "account_id": operation.service.account_id,
        "module_id": operation.module_id, "kind": operation.kind, "status": operation.status,
        "reason": operation.reason, "attempts": operation.attempts or 0,
        "next_attempt_at": _when(operation.next_attempt_at), "last_error": operation.last_error,
        "result": operation.result, "finished_at": _when(operation.finished_at),
        "created_at": _when(operation.created_at),
    }
    if detail:
        data["attempt_log"] = [{"number": a.number, "started_at": _when(a.started_at),
                                "finished_at": _when(a.finished_at), "ok": a.ok, "message": a.message}
                               for a in operation.attempt_log]
    return data


def task_json(task) -> dict:
    operation = task.operation
    return {
        "id": task.id, "operation_id": task.operation_id, "operation_kind": operation.kind,
        "service_id": operation.service_id, "account_id": operation.service.account_id,
        "department_id": task.department_id, "assignee_id": task.assignee_id, "status": task.status,
        "notes": task.notes, "closed_at": _when(task.closed_at), "created_at": _when(task.created_at),
    }


@endpoint("/operations", summary="List provisioning operations", scope="provisioning:read", tag="provisioning",
          query={"status": {"type": "string", "enum": list(OPERATION_STATUSES)}, "service_id": ID, "limit": LIMIT},
          response=listing(OPERATION))
def api_list_operations(query):
    status = query.get("status")
    operations = list_operations(statuses=(status,) if status else None, service_id=query.get("service_id"),
                                 limit=query.get("limit", 200))
    return {"items": [operation_json(o) for o in operations]}


@endpoint("/operations/{operation_id}", summary="Get an operation with its attempts and errors",
          scope="provisioning:read", tag="provisioning", response=OPERATION)
def api_get_operation(operation_id):
    return operation_json(get_operation(operation_id), detail=True)


@endpoint("/operations/{operation_id}/restart", "POST", summary="Restart an operation (a fresh round of attempts)",
          scope="provisioning:write", tag="provisioning", response=OPERATION, errors=(409,),
          description="Failed, manual, queued or cancelled operations; 409 `operation_not_restartable` for "
                      "running or finished ones, `service_closed` for a closed service.")
def api_restart_operation(operation_id):
    return operation_json(restart_operation(operation_id), detail=True)


@endpoint("/tasks", summary="List manual provisioning tasks", scope="provisioning:read", tag="provisioning",
          query={"include_closed": {"type": "boolean"}, "limit": LIMIT}, response=listing(TASK))
def api_list_tasks(query):
    tasks = list_tasks(KeyActor(g.api_key), include_closed=query.get("include_closed", False),
                       limit=query.get("limit", 200))
    return {"items": [task_json(t) for t in tasks]}


@endpoint("/tasks/{task_id}", summary="Get a task", scope="provisioning:read", tag="provisioning", response=TASK)
def api_get_task(task_id):
    return task_json(get_task(task_id, KeyActor(g.api_key)))


def _staff(staff_id: int | None):
    if staff_id is None:
        return None
    staff = get_active_staff(staff_id)
    if staff is None:
        raise Invalid({"staff_id": ["not_found"]})
    return staff


@endpoint("/tasks/{task_id}/assign", "POST", summary="Assign a task to a staff member",
          scope="provisioning:write", tag="provisioning", request=ASSIGN, response=TASK, errors=(409,),
          example={"staff_id": 1},
          description="The staff member must be active and see the task (its department). "
                      "409 `task_closed` for a closed task.")
def api_assign_task(task_id, body):
    get_task(task_id, KeyActor(g.api_key))  # 404 before anything about the staff member
    staff = _staff(body["staff_id"])
    try:
        return task_json(assign_task(task_id, staff))
    except NotFound:
        raise Invalid({"staff_id": ["not_in_department"]}) from None


@endpoint("/tasks/{task_id}/close", "POST", summary="Close a task: the work was done by hand",
          scope="provisioning:write", tag="provisioning", request=CLOSE, response=TASK, errors=(409,),
          example={"details": {"ip": "192.0.2.10"}, "notes": "configured by hand"},
          description="The operation counts as done and the service moves on (a closed `create` "
                      "activates the service). Closing a closed task changes nothing; 409 "
                      "`operation_not_manual` when its operation is no longer manual.")
def api_close_task(task_id, body):
    details = body.get("details") or {}
    bad = [k for k in details if not k.strip() or len(k) > DETAIL_KEY_MAX]
    if bad:
        raise Invalid({"details": ["invalid"]})
    actor = _staff(body.get("staff_id")) or KeyActor(g.api_key)
    get_task(task_id, KeyActor(g.api_key))
    try:
        task = close_task(task_id, actor, details={k.strip(): v for k, v in details.items()} or None,
                          notes=body.get("notes"))
    except NotFound:  # the task exists (checked above): the staff member does not see it
        raise Invalid({"staff_id": ["not_in_department"]}) from None
    return task_json(task)
