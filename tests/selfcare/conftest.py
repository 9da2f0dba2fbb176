"""Self-care fixtures: a subscriber on a plan with usage, sessions, invoices and a receipt,
and a second account (same realm) whose documents must stay out of reach."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from types import SimpleNamespace

import pytest

from tenants import realm_context

PLAN_BASIC = """
code: basic
name: Basic 20
currency: USD
fees:
  - {kind: recurring, period: monthly, amount: "20.00"}
bands:
  - {unit: MB, max_usage: "0", price: "0.01"}
"""

PLAN_FAST = """
code: fast
name: Fast 100
currency: USD
fees:
  - {kind: recurring, period: monthly, amount: "50.00"}
bands:
  - {unit: MB, max_usage: "0", price: "0.01"}
"""

PLAN_EURO = """
code: euro
name: Euro Plan
currency: EUR
fees:
  - {kind: recurring, period: monthly, amount: "10.00"}
"""

PASSWORD = "sub-password-1"


@pytest.fixture
def make_invoice(db):
    from app.models import Invoice
    from app.services.billing.numbering import take_numbers

    def factory(realm, account_id, total, *, issued=date(2026, 10, 1), currency="USD", status="finalized",
                period_key=None):
        with realm_context(realm.id):
            number = take_numbers("invoice", 1)
            invoice = Invoice(account_id=account_id, kind="invoice", status=status,
                              number=f"INV-{number:06d}" if status != "draft" else None,
                              sequence=number if status != "draft" else None, issue_date=issued,
                              due_date=issued + timedelta(days=14), currency=currency,
                              subtotal=D(total), tax_total=D(0), total=D(total),
                              period_key=period_key or f"t-{uuid.uuid4().hex[:6]}",
                              period_start=issued, period_end=issued + timedelta(days=30))
            db.session.add(invoice)
            db.session.commit()
            return invoice.id

    return factory


@pytest.fixture
def portal(db, realm_a, create_account, make_invoice):
    """A subscriber of ``realm_a`` on "Basic 20" with two sessions, an open and a paid
    invoice with a receipt; plus another subscriber with an invoice and a receipt."""
    from app.models import RadiusSession
    from app.services.payments.core import record_payment
    from app.services.plans import import_plan
    from app.services.subscriptions import subscribe

    today = datetime.now(UTC).date()
    # Plain ids: ORM rows expire at every commit and reload only inside their realm.
    account = SimpleNamespace(id=create_account(realm_a, "sam", name="Sam Subscriber", password=PASSWORD).id)
    other = SimpleNamespace(id=create_account(realm_a, "olga", name="Olga Other").id)
    with realm_context(realm_a.id):
        basic = import_plan(PLAN_BASIC, source="test")
        fast = import_plan(PLAN_FAST, source="test")
        euro = import_plan(PLAN_EURO, source="test")
        db.session.flush()
        subscribe(account.id, plan_id=basic.id, starts_on=today.replace(day=1))
        now = datetime.now(UTC).replace(microsecond=0)
        db.session.add_all([
            RadiusSession(session_key="nas1:s1", account_id=account.id, nas="nas-berlin-1", session_id="s1",
                          framed_ip="100.64.1.23", started_at=now - timedelta(hours=5),
                          stopped_at=now - timedelta(hours=3), last_event_at=now - timedelta(hours=3),
                          total_in=12_000_000, total_out=345_000_000, total_time=7200),
            RadiusSession(session_key="nas1:s2", account_id=account.id, nas="nas-berlin-1", session_id="s2",
                          framed_ip="100.64.1.99", started_at=now - timedelta(minutes=30),
                          last_event_at=now, total_in=1_000_000, total_out=5_000_000, total_time=1800),
            RadiusSession(session_key="nas1:s3", account_id=other.id, nas="nas-hidden", session_id="s3",
                          framed_ip="100.64.9.9", started_at=now - timedelta(hours=1), last_event_at=now),
        ])
        db.session.commit()
        ids = SimpleNamespace(basic=basic.id, fast=fast.id, euro=euro.id)
    open_id = make_invoice(realm_a, account.id, "20.00", issued=today - timedelta(days=40))
    paid_id = make_invoice(realm_a, account.id, "15.00", issued=today - timedelta(days=70))
    draft_id = make_invoice(realm_a, account.id, "99.00", issued=today, status="draft")
    other_invoice = make_invoice(realm_a, other.id, "30.00")
    with realm_context(realm_a.id):
        receipt = record_payment(account.id, amount="15.00", currency="USD", invoice_id=paid_id,
                                 idempotency_key="t-receipt-1")
        other_receipt = record_payment(other.id, amount="30.00", currency="USD", invoice_id=other_invoice,
                                       idempotency_key="t-receipt-2")
        db.session.commit()
        receipt_id, other_receipt_id = receipt.id, other_receipt.id
    return SimpleNamespace(
        realm=realm_a, id=account.id, username="sam", password=PASSWORD, other_id=other.id,
        plans=ids, open_invoice=open_id, paid_invoice=paid_id, draft_invoice=draft_id,
        other_invoice=other_invoice, receipt=receipt_id, other_receipt=other_receipt_id)


@pytest.fixture
def signed_in(portal, realm_client):
    client = realm_client(portal.realm)
    client.login_subscriber(portal.username, portal.password)
    return client
