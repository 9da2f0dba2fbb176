"""Manual provisioning tasks: the work list of a module's department.

Staff see the open tasks of their departments (owners and admins see all), take one
(assign to self), and close it with the service details they filled in: the operation
counts as done and the service moves on (a closed ``create`` activates the service and
sends the welcome e-mail).
"""

from __future__ import annotations

from sqlalchemy import or_, select

from app.extensions import db
from app.models.base import utcnow
from app.models.provisioning import Operation, ProvisioningTask
from app.models.staff import StaffUser

from ..errors import FieldErrors, NotAllowed, NotFound
from .services import apply_success

DETAIL_KEY_MAX = 40
DETAIL_VALUE_MAX = 500


def _sees_all(staff: StaffUser) -> bool:
    return staff.can("manage_realm")


def _visible(query, staff: StaffUser):
    if _sees_all(staff):
        return query
    department_ids = [d.id for d in staff.departments]
    return query.where(or_(
        ProvisioningTask.department_id.in_(department_ids) if department_ids else False,
        ProvisioningTask.department_id.is_(None),
        ProvisioningTask.assignee_id == staff.id,
    ))


def list_tasks(staff: StaffUser, *, include_closed: bool = False, limit: int = 200) -> list[ProvisioningTask]:
    query = select(ProvisioningTask).order_by(ProvisioningTask.id.desc()).limit(limit)
    if not include_closed:
        query = query.where(ProvisioningTask.status != "closed")
    return list(db.session.scalars(_visible(query, staff)))


def get_task(task_id: int, staff: StaffUser) -> ProvisioningTask:
    task = db.session.scalar(_visible(select(ProvisioningTask).where(ProvisioningTask.id == task_id), staff))
    if task is None:
        raise NotFound("task")
    return task


def assign_task(task_id: int, staff: StaffUser) -> ProvisioningTask:
    task = get_task(task_id, staff)
    if task.status == "closed":
        raise NotAllowed("task_closed")
    task.assignee_id = staff.id
    task.status = "assigned"
    db.session.flush()
    return task


def parse_details(text: str | None) -> dict:
    """``key: value`` lines (or ``key=value``) as the service details dict."""
    errors = FieldErrors()
    details: dict[str, str] = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        sep = ":" if ":" in line else "=" if "=" in line else None
        if sep is None:
            errors.add("details", "invalid")
            continue
        key, _, value = line.partition(sep)
        key, value = key.strip(), value.strip()
        if not key or len(key) > DETAIL_KEY_MAX or len(value) > DETAIL_VALUE_MAX:
            errors.add("details", "invalid")
            continue
        details[key] = value
    errors.raise_if_any()
    return details


def close_task(task_id: int, staff: StaffUser, *, details: dict | None = None,
               notes: str | None = None) -> ProvisioningTask:
    """The work is done by hand: the operation is done and the service moves on."""
    task = get_task(task_id, staff)
    if task.status == "closed":
        return task  # closing twice changes nothing
    operation: Operation = task.operation
    if operation.status not in ("manual",):
        raise NotAllowed("operation_not_manual")
    now = utcnow()
    task.status, task.closed_at = "closed", now
    task.assignee_id = task.assignee_id or staff.id
    if notes:
        task.notes = ((task.notes or "") + "\n" + notes.strip()).strip()[:4000]
    operation.status, operation.finished_at = "done", now
    operation.result = f"done by hand ({staff.email})"
    db.session.flush()
    apply_success(operation.service, operation.kind, details=details or None)
    return task
