"""Cross-realm crawl of the API: every route with an id, called with realm A's key and realm
B's ids, answers 403/404 and changes nothing. A route with an id nobody crawls fails the
meta-test below until it is added here (or exempted with a reason)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from app.api.registry import ENDPOINTS
from app.models import Account, Invoice, Payment, Plan, PlanVersion, Refund, Subscription
from app.models.events import Event
from app.models.provisioning import ActionDelivery, EventAction, Operation, ProvisioningTask
from app.models.voucher import Voucher, VoucherBatch
from app.services.billing.run import start_billing_run
from app.services.plans import save_plan, spec_from_mapping
from tenants import all_realms, realm_context

from . import factories
from .test_api import DIALUP

CRAWLED_PARAMS = {"account_id", "plan_id", "invoice_id", "subscription_id", "realm_id", "payment_id",
                  "batch_id", "operation_id", "task_id", "event_id", "action_id", "run_id"}
EXEMPT: dict[str, str] = {  # endpoint name -> why it needs no crawl
    "api_run_report": "report_code names a built-in report, the same in every realm (not an id)",
}


def test_every_api_route_with_an_id_is_crawled():
    for ep in ENDPOINTS:
        unknown = set(ep.path_params) - CRAWLED_PARAMS
        assert not unknown or ep.name in EXEMPT, f"{ep.method} {ep.path}: add {unknown} to the crawl"


def _snapshot(db, realm):
    with realm_context(realm.id):
        db.session.expire_all()
        return {
            "accounts": [(a.id, a.name, a.email, a.status) for a in db.session.scalars(select(Account))],
            "plans": [(p.id, p.name, len(p.versions)) for p in db.session.scalars(select(Plan))],
            "versions": db.session.scalars(select(PlanVersion.id)).all(),
            "invoices": [(i.id, i.status, i.total) for i in db.session.scalars(select(Invoice))],
            "subscriptions": [(s.id, s.status) for s in db.session.scalars(select(Subscription))],
            "payments": [(p.id, p.status, p.refunded_amount) for p in db.session.scalars(select(Payment))],
            "refunds": db.session.scalars(select(Refund.id)).all(),
            "batches": [(b.id, b.exported_at) for b in db.session.scalars(select(VoucherBatch))],
            "vouchers": [(v.id, v.status) for v in db.session.scalars(select(Voucher))],
            "operations": [(o.id, o.status, o.attempts) for o in db.session.scalars(select(Operation))],
            "tasks": [(t.id, t.status, t.assignee_id) for t in db.session.scalars(select(ProvisioningTask))],
            "actions": [(a.id, a.enabled) for a in db.session.scalars(select(EventAction))],
            "events": db.session.scalars(select(Event.id)).all(),
            "deliveries": db.session.scalars(select(ActionDelivery.id)).all(),
        }


@pytest.fixture
def realm_b_ids(db, realm_b, create_account):
    account_id = create_account(realm_b, "target", name="Target", email="t@example.com").id
    with realm_context(realm_b.id):
        plan = save_plan(spec_from_mapping(DIALUP, source="t"), effective_from=date(2026, 1, 1))
        subscription = Subscription(account_id=account_id, plan_version_id=plan.latest_version.id,
                                    status="active", starts_on=date(2026, 10, 1))
        db.session.add(subscription)
        db.session.flush()
        start_billing_run("2026-10")
        task = factories.manual_task(account_id)
        ids = {"payment_id": factories.payment(account_id).id, "batch_id": factories.voucher_batch().batch.id,
               "operation_id": task.operation_id, "task_id": task.id,
               "event_id": factories.event(account_id).id, "action_id": factories.webhook_action().id,
               "run_id": factories.report_run().id}
        db.session.commit()
        return {"account_id": account_id, "plan_id": plan.id, "subscription_id": subscription.id,
                "realm_id": realm_b.id,
                "invoice_id": db.session.scalar(select(Invoice.id)), **ids}


def test_realm_a_key_with_realm_b_ids(db, realm_a, realm_b, api, realm_b_ids):
    client = api(realm_a)
    before = _snapshot(db, realm_b)
    crawled = 0
    for ep in ENDPOINTS:
        if not ep.path_params or ep.name in EXEMPT:
            continue
        path = re.sub(r"\{([a-z_]+)\}", lambda m: str(realm_b_ids[m.group(1)]), ep.path)
        response = client.request(ep.method, path, json=ep.example if ep.request is not None else None)
        assert response.status_code in (403, 404), f"{ep.method} {path}: {response.status_code}"
        assert response.mimetype == "application/json"
        crawled += 1
    assert crawled >= 20
    assert _snapshot(db, realm_b) == before
    with all_realms():
        assert db.session.scalar(select(Account.name).where(Account.id == realm_b_ids["account_id"])) == "Target"
