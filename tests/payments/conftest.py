"""Payment fixtures: a realm with gateways on, accounts, finalized invoices."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal as D
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app.gateways import CardDetails
from app.models import Event, Invoice
from app.services.billing.numbering import take_numbers
from tenants import realm_context

VISA = CardDetails("4242424242424242", 12, 2099, "123")
DECLINED = CardDetails("4000000000000002", 12, 2099, "123")
TRANSIENT = CardDetails("4000000000000119", 12, 2099, "123")


@pytest.fixture
def pay_realm(db, realm_a):
    from app.services.payments.gateways import configure_gateway

    with realm_context(realm_a.id):
        configure_gateway("test_card", enabled=True, settings={})
        configure_gateway("manual", enabled=True, settings={})
        configure_gateway("bank_transfer", enabled=True,
                          settings={"account_holder": "Alpha Net", "iban": "DE02120300000000202051"})
        db.session.commit()
    return realm_a


@pytest.fixture
def payer(db, pay_realm, create_account):
    account = create_account(pay_realm, "payer", name="Paula Payer", email="paula@example.com",
                             password="payer-password")
    return SimpleNamespace(id=account.id, number=account.number, username=account.username)


@pytest.fixture
def make_invoice(db):
    def factory(realm, account_id, total, *, issued=date(2026, 10, 1), currency="USD"):
        with realm_context(realm.id):
            number = take_numbers("invoice", 1)
            invoice = Invoice(account_id=account_id, kind="invoice", status="finalized",
                              number=f"INV-{number:06d}", sequence=number, issue_date=issued,
                              due_date=issued + timedelta(days=14), currency=currency,
                              subtotal=D(total), tax_total=D(0), total=D(total),
                              period_key=f"t-{uuid.uuid4().hex[:6]}")
            db.session.add(invoice)
            db.session.commit()
            return invoice.id
    return factory


def events_of(db, realm, event_type):
    with realm_context(realm.id):
        return list(db.session.scalars(select(Event).where(Event.type == event_type).order_by(Event.id)))
