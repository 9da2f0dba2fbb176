"""Services are provisioned through a real adapter (cli running a local script): success,
retries, manual fallback to a department task, idempotency, account status changes."""

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.models import StaffUser
from app.models.base import utcnow
from app.models.provisioning import Operation, ProvisioningTask, Service
from app.services import accounts as account_services
from app.services.errors import NotAllowed
from app.services.provisioning import operations, services, tasks
from app.services.provisioning.modules import get_module, save_module
from tenants import realm_context
from workers.provisioning import retry_due_job


def _order(db, realm, account, plan_id):
    with realm_context(realm.id):
        service = services.order_service(account_id=account.id, plan_id=plan_id)
        services.mark_paid(service.id)
        db.session.commit()
        return service.id


def _service(db, realm, service_id):
    with realm_context(realm.id):
        db.session.expire_all()
        return db.session.scalar(select(Service).where(Service.id == service_id))


def _ops(db, realm, service_id):
    with realm_context(realm.id):
        db.session.expire_all()
        return list(db.session.scalars(
            select(Operation).where(Operation.service_id == service_id).order_by(Operation.id)
            .options(selectinload(Operation.attempt_log))
        ))


def test_paid_service_is_provisioned_and_activated(db, realm_a, create_account, backend, provisioned_plan):
    account = create_account(realm_a, "ivy", email="ivy@example.org", password="service-pw-1")
    service_id = _order(db, realm_a, account, provisioned_plan["plan"])
    assert backend.state("ivy") == {"status": "active", "plan": "home"}
    service = _service(db, realm_a, service_id)
    assert service.status == "active" and service.activated_at is not None
    [op] = _ops(db, realm_a, service_id)
    assert op.status == "succeeded" and op.attempts == 1
    assert op.attempt_log[0].ok and "create: 1 command(s) ok" in op.attempt_log[0].message
    assert "service-pw-1" not in (op.result or "")
    # paying again, or re-running the finished job, changes nothing
    with realm_context(realm_a.id):
        services.mark_paid(service_id)
        assert operations.run_operation(op.id).status == "succeeded"
        db.session.commit()
    assert backend.calls() == ["create"]
    assert len(_ops(db, realm_a, service_id)) == 1


def test_suspend_resume_and_password_follow_the_account(db, realm_a, create_account, backend, provisioned_plan):
    account = create_account(realm_a, "jack", password="service-pw-1")
    service_id = _order(db, realm_a, account, provisioned_plan["plan"])
    with realm_context(realm_a.id):
        account_services.suspend_account(account.id, reason="overdue")
        db.session.commit()
    assert backend.state("jack")["status"] == "suspended"
    assert _service(db, realm_a, service_id).status == "suspended"
    with realm_context(realm_a.id):
        account_services.resume_account(account.id, reason="paid")
        account_services.change_service_password(account.id, password="another-pw-2")
        db.session.commit()
    assert backend.state("jack")["status"] == "active"
    assert backend.state("jack")["password"] == "another-pw-2"
    assert _service(db, realm_a, service_id).status == "active"
    kinds = [(o.kind, o.status) for o in _ops(db, realm_a, service_id)]
    assert kinds == [("create", "succeeded"), ("suspend", "succeeded"), ("resume", "succeeded"),
                     ("change_password", "succeeded")]
    for op in _ops(db, realm_a, service_id):
        for attempt in op.attempt_log:
            assert "another-pw-2" not in (attempt.message or "")


def _push_retry_due(db, realm, service_id):
    with realm_context(realm.id):
        for op in _ops(db, realm, service_id):
            if op.status == "failed":
                op.next_attempt_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    retry_due_job()


def test_failures_retry_then_become_a_task_closed_by_staff(
    db, realm_a, create_account, backend, provisioned_plan, smtp_server
):
    from app.services.mail import set_smtp_settings

    with realm_context(realm_a.id):
        set_smtp_settings(host="127.0.0.1", port=smtp_server.port, security="none", user=None,
                          password=None, mail_from="noc@alpha.example")
        db.session.commit()
    smtp_server.clear()
    backend.fail()
    account = create_account(realm_a, "kim", email="kim@example.org", password="service-pw-1")
    service_id = _order(db, realm_a, account, provisioned_plan["plan"])
    [op] = _ops(db, realm_a, service_id)
    assert op.status == "failed" and op.attempts == 1
    assert "status 3" in op.last_error and "backend down" in op.last_error
    assert "service-pw-1" not in op.last_error  # the password was an argument: redacted
    assert op.next_attempt_at > utcnow() + timedelta(seconds=250)
    retry_due_job()  # not due yet: nothing happens
    assert _ops(db, realm_a, service_id)[0].attempts == 1

    _push_retry_due(db, realm_a, service_id)
    assert _ops(db, realm_a, service_id)[0].attempts == 2
    _push_retry_due(db, realm_a, service_id)
    [op] = _ops(db, realm_a, service_id)
    assert op.attempts == 3 and op.status == "manual"
    assert [a.ok for a in op.attempt_log] == [False, False, False]
    assert _service(db, realm_a, service_id).status == "in_progress"

    with realm_context(realm_a.id):
        task = db.session.scalar(select(ProvisioningTask).where(ProvisioningTask.operation_id == op.id))
        assert task.department_id == provisioned_plan["department"] and task.status == "open"
        owner = db.session.scalar(select(StaffUser))
        tasks.assign_task(task.id, owner)
        details = tasks.parse_details("host: mail1.alpha.example\nip = 10.0.0.7")
        tasks.close_task(task.id, owner, details=details, notes="set up by hand")
        tasks.close_task(task.id, owner, details=details)  # closing twice: no change
        db.session.commit()
        task_id = task.id
    service = _service(db, realm_a, service_id)
    assert service.status == "active"
    assert service.details == {"host": "mail1.alpha.example", "ip": "10.0.0.7"}
    assert _ops(db, realm_a, service_id)[0].status == "done"
    with realm_context(realm_a.id):
        assert db.session.get(ProvisioningTask, task_id).assignee_id == owner.id
    welcome = [m for m in smtp_server.messages if "kim@example.org" in m.envelope_to
               and "is ready" in m["Subject"]]
    assert len(welcome) == 1
    assert "mail1.alpha.example" in welcome[0].get_content()


def test_manual_setup_module_turns_every_operation_into_a_task(db, realm_a, create_account, provisioned_plan):
    from app.models import Plan

    with realm_context(realm_a.id):
        module = save_module(name="By hand", adapter=None, department_id=provisioned_plan["department"])
        plan = Plan(code="manual", name="Manual", currency="EUR", processing_module_id=module.id)
        db.session.add(plan)
        db.session.commit()
        plan_id = plan.id
    account = create_account(realm_a, "lou")
    service_id = _order(db, realm_a, account, plan_id)
    [op] = _ops(db, realm_a, service_id)
    assert op.status == "manual" and op.attempts == 0
    with realm_context(realm_a.id):
        assert db.session.scalar(select(ProvisioningTask).where(ProvisioningTask.operation_id == op.id))


def test_restart_gives_a_fresh_round_and_succeeds(db, realm_a, create_account, backend, provisioned_plan):
    backend.fail()
    with realm_context(realm_a.id):
        save_module(provisioned_plan["module"], name="Local users", adapter="cli",
                    department_id=provisioned_plan["department"], settings=backend.settings(), max_attempts=1)
        db.session.commit()
    account = create_account(realm_a, "max")
    service_id = _order(db, realm_a, account, provisioned_plan["plan"])
    [op] = _ops(db, realm_a, service_id)
    assert op.status == "manual"
    backend.fail(False)
    with realm_context(realm_a.id):
        operations.restart_operation(op.id)
        db.session.commit()
    [op] = _ops(db, realm_a, service_id)
    assert op.status == "succeeded" and op.attempts == 2
    assert _service(db, realm_a, service_id).status == "active"
    with realm_context(realm_a.id):
        task = db.session.scalar(select(ProvisioningTask).where(ProvisioningTask.operation_id == op.id))
        assert task.status == "closed"
        with pytest.raises(NotAllowed):
            operations.restart_operation(op.id)


def test_disabled_module_takes_no_new_services_but_keeps_syncing(db, realm_a, create_account, backend, provisioned_plan):
    account = create_account(realm_a, "ned")
    service_id = _order(db, realm_a, account, provisioned_plan["plan"])
    with realm_context(realm_a.id):
        module = get_module(provisioned_plan["module"])
        save_module(module.id, name=module.name, adapter="cli", department_id=module.department_id,
                    settings=backend.settings(), enabled=False)
        db.session.commit()
    other = create_account(realm_a, "ola")
    with realm_context(realm_a.id):
        with pytest.raises(NotAllowed) as refused:
            services.order_service(account_id=other.id, plan_id=provisioned_plan["plan"])
        assert refused.value.code == "module_disabled"
        account_services.suspend_account(account.id, reason="test")
        db.session.commit()
    assert backend.state("ned")["status"] == "suspended"
    assert _service(db, realm_a, service_id).status == "suspended"


def test_module_secrets_are_encrypted_and_kept_when_blank(db, realm_a, slapd):
    with realm_context(realm_a.id):
        settings = {"url": slapd.url, "start_tls": True, "ca_file": slapd.ca_file,
                    "bind_dn": slapd.admin_dn, "bind_password": slapd.admin_password,
                    "base_dn": slapd.people_dn}
        module = save_module(name="Directory", adapter="ldap", settings=settings)
        db.session.commit()
        assert slapd.admin_password not in str(module.settings)
        assert slapd.admin_password not in (module.secrets_enc or "")
        save_module(module.id, name="Directory", adapter="ldap", settings={**settings, "bind_password": ""})
        from app.services.provisioning.modules import check_module, module_settings

        assert module_settings(module)["bind_password"] == slapd.admin_password
        checked = check_module(module.id)
        assert checked.last_check_ok, checked.last_check_message
        db.session.commit()


def test_payment_received_orders_and_provisions_subscribed_services(db, realm_a, create_account, backend, provisioned_plan):
    from datetime import date

    from app.models import Plan, PlanVersion, Subscription
    from app.services.events import emit

    account = create_account(realm_a, "pia", password="service-pw-1")
    with realm_context(realm_a.id):
        plan = db.session.get(Plan, provisioned_plan["plan"])
        version = PlanVersion(plan=plan, number=1, effective_from=date(2026, 1, 1))
        db.session.add(version)
        db.session.flush()
        db.session.add(Subscription(account_id=account.id, plan_version_id=version.id, status="ordered",
                                    starts_on=date(2026, 12, 1)))
        db.session.commit()
        emit("payment.received", account=account.id, data={"amount": "20.00"})
        emit("payment.received", account=account.id, data={"amount": "5.00"})  # again: no second service
        db.session.commit()
        services_ = list(db.session.scalars(select(Service)))
    assert [s.status for s in services_] == ["active"]
    assert backend.state("pia") == {"status": "active", "plan": "home"}
    assert backend.calls() == ["create"]


@pytest.mark.servers
def test_ldap_module_provisions_into_slapd(db, realm_a, create_account, slapd):
    from app.models import Plan

    with realm_context(realm_a.id):
        module = save_module(name="Directory", adapter="ldap", settings={
            "url": slapd.url, "start_tls": True, "ca_file": slapd.ca_file, "bind_dn": slapd.admin_dn,
            "bind_password": slapd.admin_password, "base_dn": slapd.people_dn})
        plan = Plan(code="dir", name="Directory user", currency="EUR", processing_module_id=module.id)
        db.session.add(plan)
        db.session.commit()
        plan_id = plan.id
    account = create_account(realm_a, "ursula", name="Ursula Example", email="ursula@example.org",
                             password="ldap-service-1")
    service_id = _order(db, realm_a, account, plan_id)
    assert _service(db, realm_a, service_id).status == "active"
    assert slapd.can_bind("ursula", "ldap-service-1")
    assert slapd.entry("ursula")["mail"] == [b"ursula@example.org"]
    with realm_context(realm_a.id):
        account_services.suspend_account(account.id, reason="overdue")
        db.session.commit()
    assert not slapd.can_bind("ursula", "ldap-service-1")
    with realm_context(realm_a.id):
        account_services.resume_account(account.id, reason="paid")
        db.session.commit()
    assert slapd.can_bind("ursula", "ldap-service-1")
    with realm_context(realm_a.id):
        from app.services.accounts import update_account

        update_account(account.id, name="Ursula Example", email="ursula@example.org", status="closed")
        db.session.commit()
    assert slapd.entry("ursula") is None
    assert _service(db, realm_a, service_id).status == "deleted"
