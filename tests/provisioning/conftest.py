"""Factories for provisioning tests: a local provisioning script run by the cli adapter."""

from __future__ import annotations

import shlex
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent('''
    import json, pathlib, sys
    op, username, state = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
    if (state / "FAIL").exists():
        print("backend down for " + " ".join(sys.argv[4:]), file=sys.stderr)
        sys.exit(3)
    path = state / username
    record = json.loads(path.read_text()) if path.exists() else {}
    log = state / "calls.log"
    log.write_text((log.read_text() if log.exists() else "") + op + "\\n")
    if op == "create":
        record.update(status="active", plan=sys.argv[4])
    elif op == "suspend":
        record["status"] = "suspended"
    elif op == "resume":
        record["status"] = "active"
    elif op == "delete":
        path.unlink(missing_ok=True)
        sys.exit(0)
    elif op == "change_password":
        record["password"] = sys.argv[4]
    path.write_text(json.dumps(record))
    print(op + " ok")
''')


class Backend:
    """A directory holding one JSON file per provisioned user."""

    def __init__(self, root) -> None:
        self.root = root
        self.script = root / "provision.py"
        self.script.write_text(SCRIPT)

    def command(self, op: str, *extra: str) -> str:
        parts = [shlex.quote(sys.executable), shlex.quote(str(self.script)), op, "{{ username }}",
                 shlex.quote(str(self.root)), *extra]
        return " ".join(parts)

    def settings(self) -> dict:
        return {
            "command_create": self.command("create", "{{ plan_code }}", "{{ password }}"),
            "command_suspend": self.command("suspend"),
            "command_resume": self.command("resume"),
            "command_delete": self.command("delete"),
            "command_update_details": self.command("update_details"),
            "command_change_password": self.command("change_password", "{{ password }}"),
            "command_change_plan": self.command("change_plan"),
            "command_check": f"{shlex.quote(sys.executable)} -c pass",
        }

    def state(self, username: str) -> dict | None:
        import json

        path = self.root / username
        return json.loads(path.read_text()) if path.exists() else None

    def calls(self) -> list[str]:
        log = self.root / "calls.log"
        return log.read_text().split() if log.exists() else []

    def fail(self, on: bool = True) -> None:
        marker = self.root / "FAIL"
        if on:
            marker.write_text("x")
        else:
            marker.unlink(missing_ok=True)


@pytest.fixture
def backend(tmp_path):
    root = tmp_path / "backend"
    root.mkdir()
    return Backend(root)


@pytest.fixture
def provisioned_plan(db, realm_a, backend):
    """A department, a cli module driving ``backend`` and a plan using it, in realm_a."""
    from app.models import Department, Plan
    from app.services.provisioning.modules import save_module
    from tenants import realm_context

    with realm_context(realm_a.id):
        department = Department(name="NOC")
        db.session.add(department)
        db.session.flush()
        module = save_module(name="Local users", adapter="cli", data_centre="DC1",
                             department_id=department.id, settings=backend.settings())
        plan = Plan(code="home", name="Home 50", currency="EUR", processing_module_id=module.id,
                    account_template="home-user", resources={"mailboxes": 2})
        db.session.add(plan)
        db.session.commit()
        ids = {"department": department.id, "module": module.id, "plan": plan.id}
    return ids
