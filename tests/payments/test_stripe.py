"""Stripe through the official SDK against a local Stripe API: PaymentIntents confirmed
off-session with a stored method, declines, refunds, and signed webhooks delivered five
times or out of order recording one payment."""

from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from app.gateways import SignatureError
from app.models import Payment, Refund, WebhookDelivery
from app.services.payments import charge_method, refund_payment
from app.services.payments.gateways import configure_gateway
from app.services.payments.methods import add_gateway_token
from app.services.payments.webhooks import handle_webhook
from tenants import realm_context
from tests.servers.stripe_api import SECRET_KEY, event, signed

from .conftest import events_of

WHSEC = "whsec_realmbill_test"


@pytest.fixture
def stripe_realm(db, pay_realm, stripe_server):
    with realm_context(pay_realm.id):
        configure_gateway("stripe", enabled=True, settings={
            "secret_key": SECRET_KEY, "webhook_secret": WHSEC, "publishable_key": "pk_test_x",
            "api_base": stripe_server.url})
        db.session.commit()
    return pay_realm


def _card(db, realm, account_id, pm="pm_card_visa"):
    with realm_context(realm.id):
        method = add_gateway_token(account_id, gateway_code="stripe", token=pm, customer_ref="cus_test1",
                                   brand="visa", last4="4242")
        db.session.commit()
        return method.id


def _deliver(db, realm, evt, secret=WHSEC):
    payload, header = signed(evt, secret)
    with realm_context(realm.id):
        result = handle_webhook("stripe", payload, {"Stripe-Signature": header})
        db.session.commit()
        return result


def _intent(pi_id, amount, metadata, status="succeeded"):
    return {"id": pi_id, "object": "payment_intent", "amount": amount, "currency": "usd",
            "status": status, "metadata": metadata, "last_payment_error": None}


def test_off_session_payment_intent_with_idempotency_key(db, stripe_realm, payer, make_invoice, stripe_server):
    invoice = make_invoice(stripe_realm, payer.id, "19.99")
    _card(db, stripe_realm, payer.id)
    with realm_context(stripe_realm.id):
        payment = charge_method(payer.id, amount=D("19.99"), key="k-1", invoice_id=invoice)
        again = charge_method(payer.id, amount=D("19.99"), key="k-1", invoice_id=invoice)
        db.session.commit()
        assert payment.id == again.id and payment.status == "succeeded"
        assert payment.external_id.startswith("pi_")
    [(method, path, headers, body)] = stripe_server.requests
    assert path == "/v1/payment_intents" and body["amount"] == "1999" and body["currency"] == "usd"
    assert body["confirm"] == "true" and body["off_session"] == "true"
    assert body["payment_method"] == "pm_card_visa" and body["customer"] == "cus_test1"
    assert headers["Idempotency-Key"].endswith("k-1")
    assert body["metadata"]["idempotency_key"] == "k-1"


def test_decline_is_a_failed_payment(db, stripe_realm, payer, stripe_server):
    _card(db, stripe_realm, payer.id, pm="pm_card_chargeDeclinedInsufficientFunds")
    with realm_context(stripe_realm.id):
        payment = charge_method(payer.id, amount=D("5.00"), key="k-2")
        db.session.commit()
        assert (payment.status, payment.failure_code) == ("failed", "insufficient_funds")
        assert payment.external_id.startswith("pi_")


def test_webhook_delivered_five_times_records_one_payment(db, stripe_realm, payer, make_invoice, stripe_server):
    invoice = make_invoice(stripe_realm, payer.id, "10.00")
    _card(db, stripe_realm, payer.id, pm="pm_card_processing")
    with realm_context(stripe_realm.id):
        payment = charge_method(payer.id, amount=D("10.00"), key="k-3", invoice_id=invoice)
        db.session.commit()
        assert payment.status == "pending"
        pi_id, payment_id = payment.external_id, payment.id
    evt = event("payment_intent.succeeded", _intent(pi_id, 1000, {"idempotency_key": "k-3",
                                                                   "account_id": str(payer.id)}))
    results = [_deliver(db, stripe_realm, evt) for _ in range(5)]
    assert results == ["processed"] + ["duplicate"] * 4
    # Another event about the same intent (a different id) changes nothing either.
    assert _deliver(db, stripe_realm, event("payment_intent.succeeded", evt["data"]["object"])) == "processed"
    with realm_context(stripe_realm.id):
        assert db.session.scalar(select(func.count(Payment.id))) == 1
        payment = db.session.get(Payment, payment_id)
        assert payment.status == "succeeded" and payment.receipt_number == "RCT-000001"
    assert len(events_of(db, stripe_realm, "payment.received")) == 1


def test_out_of_order_refund_before_success_and_late_failure(db, stripe_realm, payer, make_invoice):
    invoice = make_invoice(stripe_realm, payer.id, "30.00")
    metadata = {"account_id": str(payer.id), "invoice_id": str(invoice)}  # made outside Realmbill
    charge = {"id": "ch_1", "object": "charge", "amount": 3000, "currency": "usd", "payment_intent": "pi_ext1",
              "amount_refunded": 1000, "metadata": metadata,
              "refunds": {"object": "list", "data": [{"id": "re_ext1", "object": "refund", "amount": 1000}]}}
    assert _deliver(db, stripe_realm, event("charge.refunded", charge)) == "processed"
    assert _deliver(db, stripe_realm, event("payment_intent.succeeded", _intent("pi_ext1", 3000, metadata))) == "processed"
    failed = _intent("pi_ext1", 3000, metadata, status="requires_payment_method")
    failed["last_payment_error"] = {"code": "card_declined", "decline_code": "generic_decline"}
    assert _deliver(db, stripe_realm, event("payment_intent.payment_failed", failed)) == "processed"
    with realm_context(stripe_realm.id):
        [payment] = db.session.scalars(select(Payment)).all()
        assert (payment.status, payment.amount, payment.refunded_amount) == ("partially_refunded", D("30.00"), D("10.00"))
        assert [r.external_id for r in db.session.scalars(select(Refund))] == ["re_ext1"]
        from app.services.payments import invoice_balance
        from app.services.payments.core import get_invoice

        assert invoice_balance(get_invoice(invoice)) == D("10.00")


def test_bad_signature_writes_nothing(db, stripe_realm, payer):
    evt = event("payment_intent.succeeded", _intent("pi_x", 500, {"account_id": str(payer.id)}))
    with pytest.raises(SignatureError):
        _deliver(db, stripe_realm, evt, secret="whsec_wrong")
    with realm_context(stripe_realm.id):
        assert db.session.scalar(select(func.count(WebhookDelivery.id))) == 0
        assert db.session.scalar(select(func.count(Payment.id))) == 0


def test_refund_through_stripe_then_its_webhook_is_not_counted_twice(db, stripe_realm, payer, stripe_server):
    _card(db, stripe_realm, payer.id)
    with realm_context(stripe_realm.id):
        payment = charge_method(payer.id, amount=D("40.00"), key="k-4")
        db.session.commit()
        refund = refund_payment(payment.id, amount="15.00", reason="goodwill")
        db.session.commit()
        pi_id, refund_id = payment.external_id, refund.external_id
    assert refund_id.startswith("re_")
    assert stripe_server.requests[-1][3] == {"payment_intent": pi_id, "amount": "1500"}
    charge = {"id": "ch_2", "object": "charge", "amount": 4000, "currency": "usd", "payment_intent": pi_id,
              "amount_refunded": 1500, "metadata": {"idempotency_key": "k-4"},
              "refunds": {"object": "list", "data": [{"id": refund_id, "object": "refund", "amount": 1500}]}}
    _deliver(db, stripe_realm, event("charge.refunded", charge))
    with realm_context(stripe_realm.id):
        assert db.session.scalar(select(func.count(Refund.id))) == 1
        assert db.session.get(Payment, payment.id).refunded_amount == D("15.00")


def test_event_for_another_realm_is_not_applied(db, stripe_realm, realm_b, payer, create_account):
    stranger_id = create_account(realm_b, "stranger").id
    evt = event("payment_intent.succeeded", _intent("pi_y", 500, {"account_id": str(stranger_id),
                                                                   "realm_id": str(realm_b.id)}))
    assert _deliver(db, stripe_realm, evt) == "ignored"
    evt = event("payment_intent.succeeded", _intent("pi_z", 500, {"account_id": str(stranger_id)}))
    assert _deliver(db, stripe_realm, evt) == "ignored"
    with realm_context(stripe_realm.id):
        assert db.session.scalar(select(func.count(Payment.id))) == 0


def test_automatic_charge_declined_later_by_webhook_starts_the_schedule(db, stripe_realm, payer, make_invoice):
    from app.models import ChargeRetry
    from app.services.payments.autocharge import charge_invoice

    invoice = make_invoice(stripe_realm, payer.id, "12.00")
    _card(db, stripe_realm, payer.id, pm="pm_card_processing")
    with realm_context(stripe_realm.id):
        payment = charge_invoice(invoice)
        db.session.commit()
        assert payment.status == "pending" and db.session.scalar(select(ChargeRetry.id)) is None
        pi_id = payment.external_id
    failed = _intent(pi_id, 1200, {"idempotency_key": f"auto:{invoice}:1", "account_id": str(payer.id)},
                     status="requires_payment_method")
    failed["last_payment_error"] = {"code": "card_declined", "decline_code": "expired_card"}
    assert _deliver(db, stripe_realm, event("payment_intent.payment_failed", failed)) == "processed"
    with realm_context(stripe_realm.id):
        retry = db.session.scalar(select(ChargeRetry))
        assert (retry.invoice_id, retry.attempts, retry.status, retry.last_error) == (invoice, 1, "scheduled", "expired_card")
