"""Billing in the realm console: start a run, follow its progress, read invoices, preview."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from app.models import Invoice, Subscription
from app.services.plans import save_plan, spec_from_mapping
from tenants import realm_context

from .test_billing_runs import DIALUP


@pytest.fixture
def billed_realm(db, realm_a, create_account, realm_client):
    account_id = create_account(realm_a, "payer", name="Paula Payer").id
    with realm_context(realm_a.id):
        plan = save_plan(spec_from_mapping(DIALUP, source="t"), effective_from=date(2020, 1, 1))
        db.session.add(Subscription(account_id=account_id, plan_version_id=plan.latest_version.id,
                                    status="active", starts_on=date(2026, 10, 1)))
        db.session.commit()
    client = realm_client(realm_a)
    client.login_staff("owner@alpha.example")
    return client, account_id


def test_start_a_run_and_read_the_invoice(db, realm_a, billed_realm):
    client, account_id = billed_realm
    assert client.post("/console/billing/runs", {"period": "2026-10"}).status_code == 303
    page = client.get("/console/billing").get_data(as_text=True)
    assert "2026-10" in page and "1 / 1" in page and "hx-trigger" not in page  # done: no polling
    with realm_context(realm_a.id):
        invoice_id = db.session.scalar(select(Invoice.id))
    html = client.get(f"/console/invoices/{invoice_id}").get_data(as_text=True)
    assert "INV-000001" in html and "20.00 USD" in html
    assert "INV-000001" in client.get("/console/invoices").get_data(as_text=True)


def test_bad_period_is_refused(db, realm_a, billed_realm):
    client, _ = billed_realm
    response = client.post("/console/billing/runs", {"period": "October"})
    assert response.status_code == 422 and "This value is not valid." in response.get_data(as_text=True)


def test_preview_writes_nothing(db, realm_a, billed_realm):
    client, account_id = billed_realm
    html = client.get(f"/console/accounts/{account_id}/preview").get_data(as_text=True)
    month = datetime.now(UTC).date()
    if month >= date(2026, 10, 1):
        assert "20.00 USD" in html
    with realm_context(realm_a.id):
        assert db.session.scalar(select(Invoice.id)) is None


def test_invoices_of_another_realm_are_a_404(db, realm_a, realm_b, billed_realm, realm_client):
    client, _ = billed_realm
    client.post("/console/billing/runs", {"period": "2026-10"})
    with realm_context(realm_a.id):
        invoice_id = db.session.scalar(select(Invoice.id))
    other = realm_client(realm_b)
    other.login_staff("owner@bravo.example")
    assert other.get(f"/console/invoices/{invoice_id}").status_code == 404
