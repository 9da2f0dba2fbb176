"""Fixtures of the documents tests: a jBilling subscriber ($20/month + $0.05 per minute)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.mediation.records import UsageEvent
from app.models import Subscription
from app.services.plans import save_plan, spec_from_mapping
from tenants import realm_context

DIALUP = {
    "code": "dialup", "name": "Dial-up", "currency": "USD",
    "fees": [{"kind": "recurring", "period": "monthly", "amount": "20.00"}],
    "bands": [{"unit": "minute", "max_usage": "0", "price": "0.05"}],
}


def call(record_id, username, seconds, when):
    return UsageEvent(source="cdr", source_record_id=record_id, username=username, ip=None, nas=None,
                      session_id=None, status="cdr", event_time=when, start=when, duration_s=seconds,
                      bytes_in=0, bytes_out=0)


@pytest.fixture
def jb_subscriber(db, realm_a, create_account):
    """Account ``jb`` (with an e-mail address) on the dial-up plan, 100 minutes used in October."""
    from app.services.usage.ingest import ingest

    account_id = create_account(realm_a, "jb", email="jb@customer.example", name="Jay Bee").id
    with realm_context(realm_a.id):
        plan = save_plan(spec_from_mapping(DIALUP, source="test"), effective_from=date(2026, 1, 1))
        db.session.add(Subscription(account_id=account_id, plan_version_id=plan.latest_version.id,
                                    status="active", starts_on=date(2026, 10, 1)))
        db.session.commit()
        ingest([call("c1", "jb", 3600, datetime(2026, 10, 5, 9, tzinfo=UTC)),
                call("c2", "jb", 2400, datetime(2026, 10, 20, 9, tzinfo=UTC))])
        db.session.commit()
    return account_id


def bill(db, realm, period="2026-10"):
    from app.services.billing.run import start_billing_run

    with realm_context(realm.id):
        start_billing_run(period)
        db.session.commit()
