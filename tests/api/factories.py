"""Rows the API tests (and the cross-realm crawl) read and change, made through the services."""

from __future__ import annotations

from datetime import UTC, datetime

from app.extensions import db
from app.models import Plan
from app.models.events import Event
from app.models.provisioning import ProvisioningTask
from app.services.event_actions import save_action
from app.services.payments.core import record_payment
from app.services.provisioning.modules import save_module
from app.services.provisioning.operations import queue_operation
from app.services.provisioning.services import order_service
from app.services.vouchers import generate_batch


def manual_task(account_id: int, *, code: str = "manual") -> ProvisioningTask:
    """A service of a manual-setup module: its create operation is a task at once."""
    module = save_module(name=f"By hand {code}", adapter=None)
    plan = Plan(code=code, name="Manual", currency="USD", processing_module_id=module.id)
    db.session.add(plan)
    db.session.flush()
    service = order_service(account_id=account_id, plan_id=plan.id)
    operation = queue_operation(service.id, "create")
    db.session.flush()
    return db.session.query(ProvisioningTask).filter_by(operation_id=operation.id).one()


def payment(account_id: int, amount: str = "30.00"):
    return record_payment(account_id, amount=amount, method="cash", reference="factory")


def voucher_batch(count: int = 2, *, activate: bool = True):
    return generate_batch(name="Factory", count=count, kind="money", amount="5.00", activate=activate)


def webhook_action():
    return save_action(event_type="payment.received", kind="webhook", name="Factory hook",
                       config={"url": "https://hooks.example.com/in"}, webhook_secret="factory-secret-0123456789")


def event(account_id: int | None, event_type: str = "account.created") -> Event:
    row = Event(type=event_type, account_id=account_id, data={"factory": True}, state="processed",
                processed_at=datetime.now(UTC))
    db.session.add(row)
    db.session.flush()
    return row


def report_run(code: str = "usage_cost_centres"):
    from app.models.report import ReportRun

    run = ReportRun(code=code, params={"unit": "MB", "limit": "20"}, status="queued")
    db.session.add(run)
    db.session.flush()
    return run
