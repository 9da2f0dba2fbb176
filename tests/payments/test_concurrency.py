"""On PostgreSQL with real commits: concurrent twins converge on one payment.

Five deliveries of one webhook at once, five submits of one self-care form at once, and two
payments racing for one invoice never record, charge or allocate twice."""

import threading
from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from app.models import Invoice, Payment, PaymentAllocation, WebhookDelivery
from tenants import realm_context
from tests.servers.stripe_api import SECRET_KEY, event, signed

pytestmark = pytest.mark.postgres


def _race(count, work):
    barrier = threading.Barrier(count)
    results, errors = [], []

    def run(i):
        try:
            barrier.wait(timeout=10)
            results.append(work(i))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results, errors


@pytest.fixture
def world(committed_pg_app, stripe_api):
    from app.extensions import db
    from app.services.accounts import create_account
    from app.services.billing.numbering import take_numbers
    from app.services.payments.gateways import configure_gateway
    from app.services.payments.methods import add_gateway_token
    from app.services.realms import create_realm

    stripe_api.clear()
    app = committed_pg_app
    with app.app_context():
        realm = create_realm(slug="conc", name="Conc", owner={"email": "o@conc.example", "name": "O",
                                                               "password": "owner-password"})
        db.session.commit()
        with realm_context(realm.id):
            configure_gateway("stripe", enabled=True, settings={
                "secret_key": SECRET_KEY, "webhook_secret": "whsec_c", "api_base": stripe_api.url})
            configure_gateway("test_card", enabled=True, settings={})
            account = create_account(username="racer", name="Racer")
            db.session.flush()
            add_gateway_token(account.id, gateway_code="stripe", token="pm_card_visa", customer_ref="cus_r")
            number = take_numbers("invoice", 1)
            invoice = Invoice(account_id=account.id, kind="invoice", status="finalized", number=f"INV-{number:06d}",
                              sequence=number, issue_date=date(2026, 10, 1), due_date=date(2026, 10, 15),
                              currency="USD", subtotal=D("30.00"), tax_total=D(0), total=D("30.00"))
            db.session.add(invoice)
            db.session.commit()
            ids = (realm.id, account.id, invoice.id)
        db.session.remove()
    return app, ids


def _in_realm(app, realm_id, func):
    from app.extensions import db

    with app.app_context(), realm_context(realm_id):
        try:
            result = func()
            db.session.commit()
            return result
        except Exception:
            db.session.rollback()
            raise
        finally:
            db.session.remove()


def test_five_concurrent_webhook_deliveries_record_one_payment(world):
    from app.services.payments.webhooks import handle_webhook

    app, (realm_id, account_id, invoice_id) = world
    intent = {"id": "pi_race", "object": "payment_intent", "amount": 3000, "currency": "usd", "status": "succeeded",
              "metadata": {"account_id": str(account_id)}}
    same = signed(event("payment_intent.succeeded", intent, event_id="evt_same"), "whsec_c")
    others = [signed(event("payment_intent.succeeded", intent), "whsec_c") for _ in range(4)]
    deliveries = [same] * 5 + others

    results, errors = _race(len(deliveries), lambda i: _in_realm(
        app, realm_id, lambda: handle_webhook("stripe", deliveries[i][0], {"Stripe-Signature": deliveries[i][1]})))
    assert errors == []
    assert sorted(results).count("duplicate") == 4
    from app.extensions import db

    with app.app_context(), realm_context(realm_id):
        assert db.session.scalar(select(func.count(Payment.id))) == 1
        assert db.session.scalar(select(func.count(WebhookDelivery.id))) == 5
        assert db.session.scalar(select(func.sum(PaymentAllocation.amount))) == D("30.00")
        db.session.remove()


def test_five_concurrent_submits_of_one_form_charge_once(world, stripe_api):
    from app.services.payments import pay_invoice

    app, (realm_id, account_id, invoice_id) = world
    results, errors = _race(5, lambda i: _in_realm(
        app, realm_id, lambda: pay_invoice(account_id, invoice_id, key="selfcare:nonce-race").id))
    assert errors == [] and len(set(results)) == 1
    assert [path for _, path, _, _ in stripe_api.requests] == ["/v1/payment_intents"]
    from app.extensions import db

    with app.app_context(), realm_context(realm_id):
        assert db.session.scalar(select(Payment.status)) == "succeeded"
        db.session.remove()


def test_two_payments_racing_for_one_invoice_never_over_allocate(world):
    from app.services.payments import credit_balance, record_payment

    app, (realm_id, account_id, invoice_id) = world
    results, errors = _race(2, lambda i: _in_realm(
        app, realm_id, lambda: record_payment(account_id, amount="30.00", idempotency_key=f"desk-{i}").id))
    assert errors == []
    from app.extensions import db

    with app.app_context(), realm_context(realm_id):
        assert db.session.scalar(select(func.sum(PaymentAllocation.amount))) == D("30.00")
        assert credit_balance(account_id) == {"USD": D("30.00")}
        db.session.remove()
