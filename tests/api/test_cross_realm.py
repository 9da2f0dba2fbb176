"""Cross-realm crawl of the API: every route with an id, called with realm A's key and realm
B's ids, answers 403/404 and changes nothing. A route with an id nobody crawls fails the
meta-test below until it is added here (or exempted with a reason)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from app.api.registry import ENDPOINTS
from app.models import Account, Invoice, Plan, PlanVersion, Subscription
from app.services.billing.run import start_billing_run
from app.services.plans import save_plan, spec_from_mapping
from tenants import all_realms, realm_context

from .test_api import DIALUP

CRAWLED_PARAMS = {"account_id", "plan_id", "invoice_id", "subscription_id", "realm_id"}
EXEMPT: dict[str, str] = {}  # endpoint name -> why it needs no crawl


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
        db.session.commit()
        return {"account_id": account_id, "plan_id": plan.id, "subscription_id": subscription.id,
                "realm_id": realm_b.id,
                "invoice_id": db.session.scalar(select(Invoice.id))}


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
    assert crawled >= 7
    assert _snapshot(db, realm_b) == before
    with all_realms():
        assert db.session.scalar(select(Account.name).where(Account.id == realm_b_ids["account_id"])) == "Target"
