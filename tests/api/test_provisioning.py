"""API provisioning: operations (status filter, attempt log, restart) and manual tasks."""

from __future__ import annotations

import shlex
import sys

from sqlalchemy import select

from app.models import Department, Plan, StaffUser
from app.models.provisioning import Operation, ProvisioningTask, Service
from app.services.provisioning.modules import save_module
from app.services.provisioning.operations import queue_operation
from app.services.provisioning.services import order_service
from app.services.staff import create_staff
from tenants import realm_context

from . import factories

FAIL = f"{shlex.quote(sys.executable)} -c \"import sys; print('backend down', file=sys.stderr); sys.exit(3)\""


def _failing_operation(db, realm, account_id) -> int:
    """A create operation whose backend command fails: one attempt logged, retry scheduled."""
    with realm_context(realm.id):
        settings = {f"command_{kind}": FAIL for kind in (
            "create", "suspend", "resume", "delete", "update_details", "change_password", "change_plan")}
        settings["command_check"] = f"{shlex.quote(sys.executable)} -c pass"
        module = save_module(name="Broken", adapter="cli", settings=settings, max_attempts=3)
        plan = Plan(code="broken", name="Broken", currency="USD", processing_module_id=module.id)
        db.session.add(plan)
        db.session.flush()
        service = order_service(account_id=account_id, plan_id=plan.id)
        operation_id = queue_operation(service.id, "create").id
        db.session.commit()  # the job runs after the commit (in-process in tests)
        return operation_id


def test_operations_list_get_with_attempts_and_restart(db, realm_a, api, create_account):
    account_id = create_account(realm_a, "opal").id
    operation_id = _failing_operation(db, realm_a, account_id)
    with realm_context(realm_a.id):
        task = factories.manual_task(account_id)
        manual_id = task.operation_id
        db.session.commit()
    client = api(realm_a, scopes=["provisioning:read", "provisioning:write"])

    failed = client.get("/operations?status=failed").get_json()["items"]
    assert [o["id"] for o in failed] == [operation_id]
    assert [o["id"] for o in client.get("/operations?status=manual").get_json()["items"]] == [manual_id]
    detail = client.get(f"/operations/{operation_id}").get_json()
    assert detail["account_id"] == account_id and detail["attempts"] == 1
    assert detail["attempt_log"][0]["ok"] is False and "backend down" in detail["attempt_log"][0]["message"]
    assert "backend down" in detail["last_error"]

    restarted = client.post(f"/operations/{operation_id}/restart")
    assert restarted.status_code == 200, restarted.get_data(as_text=True)
    assert restarted.get_json()["status"] == "queued"
    # The fresh round ran after the commit (jobs run in-process in tests) and failed again.
    after = client.get(f"/operations/{operation_id}").get_json()
    assert after["status"] == "failed" and [a["number"] for a in after["attempt_log"]][-1] > 1
    assert client.get("/operations?status=bogus").status_code == 422
    assert api(realm_a, scopes=["provisioning:read"]).post(f"/operations/{operation_id}/restart").status_code == 403


def test_tasks_assign_and_close_activate_the_service(db, realm_a, realm_b, api, create_account):
    account_id = create_account(realm_a, "tess").id
    with realm_context(realm_a.id):
        task = factories.manual_task(account_id)
        task_id, operation_id = task.id, task.operation_id
        owner_id = db.session.scalar(select(StaffUser.id))
        db.session.commit()
    with realm_context(realm_b.id):
        foreign_staff = db.session.scalar(select(StaffUser.id))
    client = api(realm_a, scopes=["provisioning:read", "provisioning:write"])

    assert [t["id"] for t in client.get("/tasks").get_json()["items"]] == [task_id]
    assert client.get(f"/tasks/{task_id}").get_json()["status"] == "open"
    unknown = client.post(f"/tasks/{task_id}/assign", {"staff_id": foreign_staff})
    assert unknown.status_code == 422 and unknown.get_json()["errors"] == {"staff_id": ["not_found"]}
    assigned = client.post(f"/tasks/{task_id}/assign", {"staff_id": owner_id})
    assert assigned.status_code == 200 and assigned.get_json()["assignee_id"] == owner_id
    assert assigned.get_json()["status"] == "assigned"

    bad = client.post(f"/tasks/{task_id}/close", {"details": {"x" * 41: "v"}})
    assert bad.status_code == 422
    closed = client.post(f"/tasks/{task_id}/close", {"details": {"ip": "192.0.2.10"}, "notes": "by hand"})
    assert closed.status_code == 200, closed.get_data(as_text=True)
    assert closed.get_json()["status"] == "closed"
    with realm_context(realm_a.id):
        db.session.expire_all()
        operation = db.session.get(Operation, operation_id)
        assert operation.status == "done" and "API key" in operation.result
        service = db.session.get(Service, operation.service_id)
        assert service.status == "active" and service.details["ip"] == "192.0.2.10"
    assert client.get("/tasks").get_json()["items"] == []
    assert [t["id"] for t in client.get("/tasks?include_closed=true").get_json()["items"]] == [task_id]
    again = client.post(f"/tasks/{task_id}/assign", {"staff_id": owner_id})
    assert again.status_code == 409 and again.get_json()["error"] == "task_closed"
    assert client.post(f"/operations/{operation_id}/restart").status_code == 409


def test_assign_needs_a_staff_member_of_the_department(db, realm_a, api, create_account):
    account_id = create_account(realm_a, "dora").id
    with realm_context(realm_a.id):
        noc = Department(name="NOC")
        db.session.add(noc)
        db.session.flush()
        module = save_module(name="NOC by hand", adapter=None, department_id=noc.id)
        plan = Plan(code="noc", name="NOC", currency="USD", processing_module_id=module.id)
        db.session.add(plan)
        db.session.flush()
        operation = queue_operation(order_service(account_id=account_id, plan_id=plan.id).id, "create")
        operator = create_staff(email="op@alpha.example", name="Op", password="operator-password-1",
                                role="operator")
        db.session.commit()
        operator_id = operator.id
        task_id = db.session.scalar(select(ProvisioningTask.id).where(ProvisioningTask.operation_id == operation.id))
    client = api(realm_a, scopes=["provisioning:read", "provisioning:write"])
    refused = client.post(f"/tasks/{task_id}/assign", {"staff_id": operator_id})
    assert refused.status_code == 422 and refused.get_json()["errors"] == {"staff_id": ["not_in_department"]}
