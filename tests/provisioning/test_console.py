"""Provisioning console pages: modules (secrets never shown back), operations with restart,
tasks closed from the page, event actions with preview; other realms' rows unreachable."""

from sqlalchemy import select

from app.models.provisioning import EventAction, Operation, ProcessingModule, ProvisioningTask
from tenants import realm_context


def _console(realm_client, realm, email):
    client = realm_client(realm)
    client.login_staff(email)
    return client


def test_module_form_keeps_secrets_hidden_and_checks(db, realm_a, realm_client, slapd):
    console = _console(realm_client, realm_a, "owner@alpha.example")
    page = console.get("/console/provisioning/modules").get_data(as_text=True)
    assert "Local command" in page or "cli" in page
    form = {"name": "Directory", "adapter": "ldap", "enabled": "1", "retry_interval_seconds": "300",
            "max_attempts": "3", "setting_url": slapd.url, "setting_start_tls": "1",
            "setting_ca_file": slapd.ca_file, "setting_bind_dn": slapd.admin_dn,
            "setting_bind_password": slapd.admin_password, "setting_base_dn": slapd.people_dn,
            "setting_timeout": "5"}
    response = console.post("/console/provisioning/modules/new", form)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    with realm_context(realm_a.id):
        module = db.session.scalar(select(ProcessingModule))
        module_id = module.id
    edit = console.get(f"/console/provisioning/modules/{module_id}").get_data(as_text=True)
    assert slapd.admin_password not in edit and "••• set" in edit
    # saving with a blank password keeps it; the check button then binds for real
    form["setting_bind_password"] = ""
    assert console.post(f"/console/provisioning/modules/{module_id}", form).status_code == 303
    assert console.post(f"/console/provisioning/modules/{module_id}/check").status_code == 303
    with realm_context(realm_a.id):
        db.session.expire_all()
        module = db.session.get(ProcessingModule, module_id)
        assert module.last_check_ok, module.last_check_message
    bad = console.post("/console/provisioning/modules/new", {**form, "name": "", "max_attempts": "0"})
    assert bad.status_code == 422


def test_operations_and_tasks_pages(db, realm_a, realm_b, create_account, realm_client, backend, provisioned_plan):
    from app.services.provisioning.services import mark_paid, order_service

    backend.fail()
    from app.services.provisioning.modules import save_module

    with realm_context(realm_a.id):
        save_module(provisioned_plan["module"], name="Local users", adapter="cli",
                    department_id=provisioned_plan["department"], settings=backend.settings(), max_attempts=1)
        db.session.commit()
    account = create_account(realm_a, "yara", password="service-pw-1")
    with realm_context(realm_a.id):
        service = order_service(account_id=account.id, plan_id=provisioned_plan["plan"])
        mark_paid(service.id)
        db.session.commit()
        op = db.session.scalar(select(Operation))
        task = db.session.scalar(select(ProvisioningTask))
        op_id, task_id = op.id, task.id
    console = _console(realm_client, realm_a, "owner@alpha.example")
    page = console.get("/console/provisioning/operations").get_data(as_text=True)
    assert "yara" in page and "manual" in page and "backend down" in page
    assert "service-pw-1" not in page
    tasks_page = console.get("/console/provisioning/tasks").get_data(as_text=True)
    assert f"task-{task_id}" in tasks_page

    # another realm's staff cannot see, restart, assign or close it
    other = _console(realm_client, realm_b, "owner@bravo.example")
    assert "yara" not in other.get("/console/provisioning/operations").get_data(as_text=True)
    assert other.post(f"/console/provisioning/operations/{op_id}/restart").status_code == 404
    assert other.post(f"/console/provisioning/tasks/{task_id}/assign").status_code == 404
    assert other.post(f"/console/provisioning/tasks/{task_id}/close", {"details": "a: b"}).status_code == 404

    bad = console.post(f"/console/provisioning/tasks/{task_id}/close", {"details": "no separator"})
    assert bad.status_code == 422
    assert console.post(f"/console/provisioning/tasks/{task_id}/assign").status_code == 303
    assert console.post(f"/console/provisioning/tasks/{task_id}/close",
                        {"details": "router: cpe-17", "notes": "done"}).status_code == 303
    with realm_context(realm_a.id):
        db.session.expire_all()
        assert db.session.get(ProvisioningTask, task_id).status == "closed"
        assert db.session.get(Operation, op_id).service.status == "active"


def test_event_action_pages_and_preview(db, realm_a, realm_b, realm_client):
    console = _console(realm_client, realm_a, "owner@alpha.example")
    page = console.get("/console/events/actions").get_data(as_text=True)
    assert "Welcome e-mail" in page and "invoice.overdue" in page
    assert "Recent events" in page
    form = {"name": "Hook", "event_type": "payment.received", "kind": "webhook", "enabled": "1",
            "url": "https://crm.example/hook", "webhook_secret": "top-secret-9"}
    assert console.post("/console/events/actions/new", form).status_code == 303
    with realm_context(realm_a.id):
        hook = db.session.scalar(select(EventAction).where(EventAction.name == "Hook"))
        welcome = db.session.scalar(select(EventAction).where(EventAction.default_key == "welcome"))
        hook_id, welcome_id = hook.id, welcome.id
    edit = console.get(f"/console/events/actions/{hook_id}").get_data(as_text=True)
    assert "top-secret-9" not in edit and "••• set" in edit
    preview = console.get(f"/console/events/actions/{welcome_id}/preview?locale=de").get_data(as_text=True)
    assert "Willkommen bei Alpha Net" in preview
    other = _console(realm_client, realm_b, "owner@bravo.example")
    assert other.get(f"/console/events/actions/{hook_id}").status_code == 404
    assert other.post(f"/console/events/actions/{hook_id}/delete").status_code == 404


def test_subscriber_auth_page(db, realm_a, realm_client):
    console = _console(realm_client, realm_a, "owner@alpha.example")
    assert console.get("/console/provisioning/authentication").status_code == 200
    bad = console.post("/console/provisioning/authentication", {"method": "radius", "host": "127.0.0.1"})
    assert bad.status_code == 422
    ok = console.post("/console/provisioning/authentication",
                      {"method": "radius", "host": "127.0.0.1", "port": "1812", "radius_secret": "s3cret-r"})
    assert ok.status_code == 303
    page = console.get("/console/provisioning/authentication").get_data(as_text=True)
    assert "s3cret-r" not in page and "••• set" in page


def test_plan_processing_services_and_payment(db, realm_a, create_account, realm_client, backend, provisioned_plan):
    from app.models import Plan
    from app.models.provisioning import Service

    with realm_context(realm_a.id):
        db.session.add(Plan(code="biz", name="Business", currency="EUR"))
        db.session.commit()
        biz_id = db.session.scalar(select(Plan.id).where(Plan.code == "biz"))
    console = _console(realm_client, realm_a, "owner@alpha.example")
    assert "home-user" in console.get("/console/provisioning/plans").get_data(as_text=True)
    both = console.post("/console/provisioning/plans", {
        "plan_id": str(biz_id), "module_id": str(provisioned_plan["module"]),
        "account_template": "biz", "resources": "storage: 10GB"})
    assert both.status_code == 422
    assert console.post("/console/provisioning/plans", {
        "plan_id": str(biz_id), "module_id": str(provisioned_plan["module"]),
        "resources": "storage: 10GB\nmailboxes: 5"}).status_code == 303
    with realm_context(realm_a.id):
        db.session.expire_all()
        assert db.session.get(Plan, biz_id).resources == {"storage": "10GB", "mailboxes": 5}
    create_account(realm_a, "abe", password="service-pw-1")
    assert console.post("/console/provisioning/services/order",
                        {"username": "abe", "plan_id": str(biz_id)}).status_code == 303
    with realm_context(realm_a.id):
        service_id = db.session.scalar(select(Service.id))
    assert "abe" in console.get("/console/provisioning/services").get_data(as_text=True)
    assert console.post(f"/console/provisioning/services/{service_id}/paid").status_code == 303
    assert backend.state("abe") == {"status": "active", "plan": "biz"}
