"""Payment pages: console (list, manual payment, refund, statements, gateway settings with
secrets never shown back) and self-care (pay once on a double click, receipts, top-ups),
the Stripe webhook endpoint, and realms kept apart."""

import io
import re

import pytest
from sqlalchemy import func, select

from app.models import BankStatementImport, Payment, PaymentGateway, PaymentMethod, TopupProduct
from app.services.payments.gateways import configure_gateway
from tenants import realm_context
from tests.servers.stripe_api import SECRET_KEY, event, signed

NONCE = re.compile(r'name="nonce" value="([^"]+)"')


@pytest.fixture
def staff(pay_realm, realm_client):
    client = realm_client(pay_realm)
    client.login_staff("owner@alpha.example")
    return client


@pytest.fixture
def subscriber(pay_realm, payer, realm_client):
    client = realm_client(pay_realm)
    client.login_subscriber("payer", "payer-password")
    return client


def _count(db, realm, model):
    with realm_context(realm.id):
        return db.session.scalar(select(func.count(model.id)))


def test_console_manual_payment_refund_and_list(db, pay_realm, payer, make_invoice, staff):
    make_invoice(pay_realm, payer.id, "30.00")
    form = staff.get(f"/console/payments/new?account_id={payer.id}").get_data(as_text=True)
    assert "INV-000001" in form
    nonce = NONCE.search(form).group(1)
    data = {"account_id": str(payer.id), "amount": "12.50", "method": "cheque", "reference": "CHQ-77", "nonce": nonce}
    response = staff.post("/console/payments/new", data)
    assert response.status_code == 303
    assert staff.post("/console/payments/new", data).status_code == 303  # resubmitted: same payment
    assert _count(db, pay_realm, Payment) == 1
    detail = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert "12.50 USD" in detail and "CHQ-77" in detail and "INV-000001" in detail
    with realm_context(pay_realm.id):
        payment_id = db.session.scalar(select(Payment.id))
    bad = staff.post(f"/console/payments/{payment_id}/refund", {"amount": "99.00"})
    assert bad.status_code == 422 and "More than is left of the payment." in bad.get_data(as_text=True)
    assert staff.post(f"/console/payments/{payment_id}/refund", {"amount": "2.50", "reason": "typo"}).status_code == 303
    listing = staff.get("/console/payments?q=CHQ").get_data(as_text=True)
    assert "partially refunded" in listing and "Paula Payer" in listing
    assert "No payments found." in staff.get("/console/payments?status=failed").get_data(as_text=True)
    account_page = staff.get(f"/console/accounts/{payer.id}/payments").get_data(as_text=True)
    assert "20.00 USD" in account_page  # 30.00 - (12.50 - 2.50) still due
    pdf = staff.get(f"/console/payments/{payment_id}/receipt.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    errors = staff.post("/console/payments/new", {"account_id": str(payer.id), "amount": "ten", "nonce": "x" * 20})
    assert errors.status_code == 422 and "Enter a decimal number like 12.50." in errors.get_data(as_text=True)


def test_console_statement_import_errors_and_results(db, pay_realm, payer, make_invoice, staff):
    make_invoice(pay_realm, payer.id, "10.00")
    bad = b"transaction_id,date,amount,currency,reference\nT1,2026-13-01,10.00,USD,INV-000001\n"
    response = staff.post("/console/payments/statements",
                          {"statement": (io.BytesIO(bad), "bad.csv")}, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "nothing was changed" in html
    assert "<td>2</td><td>date</td>" in html
    assert _count(db, pay_realm, BankStatementImport) == 0
    good = b"transaction_id,date,amount,currency,reference\nT1,2026-11-01,10.00,USD,INV-000001\n"
    response = staff.post("/console/payments/statements",
                          {"statement": (io.BytesIO(good), "nov.csv")}, content_type="multipart/form-data")
    assert response.status_code == 303
    result = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 matched, 0 unmatched, 0 already imported, 0 ignored" in result


def test_gateway_settings_are_encrypted_and_never_shown(db, pay_realm, staff):
    secret = "sk_live_do_not_show_me_123"
    response = staff.post("/console/payments/gateways/stripe",
                          {"enabled": "1", "secret_key": secret, "webhook_secret": "whsec_hidden_456",
                           "publishable_key": "pk_live_visible"})
    assert response.status_code == 303
    page = staff.get("/console/payments/gateways").get_data(as_text=True)
    assert secret not in page and "whsec_hidden_456" not in page and "pk_live_visible" in page
    assert "/webhooks/stripe/alpha" in page
    with realm_context(pay_realm.id):
        stored = db.session.scalar(select(PaymentGateway.settings_enc).where(PaymentGateway.code == "stripe"))
    assert secret not in stored and stored.startswith("v1:")
    # Saving again with the secret fields empty keeps them.
    assert staff.post("/console/payments/gateways/stripe", {"enabled": "1", "publishable_key": "pk_2"}).status_code == 303
    with realm_context(pay_realm.id):
        from app.services.payments.gateways import gateway_for

        assert gateway_for("stripe").settings["secret_key"] == secret
    missing = staff.post("/console/payments/gateways/bank_transfer", {"enabled": "1"})
    assert missing.status_code == 422


def test_selfcare_double_click_pays_once_and_lists_the_receipt(db, pay_realm, payer, make_invoice, subscriber):
    invoice = make_invoice(pay_realm, payer.id, "19.90")
    form = subscriber.get(f"/payments/invoices/{invoice}/pay").get_data(as_text=True)
    assert "19.90 USD" in form
    data = {"nonce": NONCE.search(form).group(1), "method": "card", "card_number": "4242 4242 4242 4242",
            "expiry": "12/99", "cvc": "123", "save": "1"}
    assert [subscriber.post(f"/payments/invoices/{invoice}/pay", data).status_code for _ in range(2)] == [303, 303]
    assert _count(db, pay_realm, Payment) == 1
    with realm_context(pay_realm.id):
        method = db.session.scalar(select(PaymentMethod))
        assert (method.last4, method.is_default) == ("4242", True)
        assert "4242424242424242" not in method.token
        payment_id = db.session.scalar(select(Payment.id))
    page = subscriber.get("/payments").get_data(as_text=True)
    assert "RCT-000001" in page and "Nothing is due" in page
    pdf = subscriber.get(f"/payments/{payment_id}/receipt.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert "Visa •••• 4242" in page
    with realm_context(pay_realm.id):
        method_id = db.session.scalar(select(PaymentMethod.id))
    assert subscriber.post(f"/payments/methods/{method_id}", {"action": "remove"}).status_code == 303
    with realm_context(pay_realm.id):
        assert db.session.scalar(select(PaymentMethod.active)) is False
    assert subscriber.post(f"/payments/methods/{method_id}", {"action": "default"}).status_code == 404


def test_selfcare_decline_shows_a_message_and_never_the_card(db, pay_realm, payer, make_invoice, subscriber):
    invoice = make_invoice(pay_realm, payer.id, "5.00")
    form = subscriber.get(f"/payments/invoices/{invoice}/pay").get_data(as_text=True)
    data = {"nonce": NONCE.search(form).group(1), "method": "card", "card_number": "4000000000000002",
            "expiry": "12/99", "cvc": "321"}
    response = subscriber.post(f"/payments/invoices/{invoice}/pay", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 402 and "The card was declined" in html
    assert "4000000000000002" not in html and "321" not in html
    bad = subscriber.post(f"/payments/invoices/{invoice}/pay", {**data, "nonce": "n" * 20, "card_number": "1234"})
    assert bad.status_code == 422 and "This card number is not valid." in bad.get_data(as_text=True)


def test_selfcare_topup(db, pay_realm, payer, subscriber):
    with realm_context(pay_realm.id):
        from app.services.topups import save_product

        product = save_product(code="5gb", name="5 GB extra", kind="quota", unit="GB", quantity="5", price="3.00").id
        db.session.commit()
    form = subscriber.get(f"/topups/{product}").get_data(as_text=True)
    data = {"nonce": NONCE.search(form).group(1), "method": "card", "card_number": "4242424242424242",
            "expiry": "12/99", "cvc": "123"}
    assert subscriber.post(f"/topups/{product}", data).status_code == 303
    assert subscriber.post(f"/topups/{product}", data).status_code == 303
    assert _count(db, pay_realm, Payment) == 1
    assert "5 GB extra" in subscriber.get("/payments").get_data(as_text=True)
    assert _count(db, pay_realm, TopupProduct) == 1


def test_other_realms_and_accounts_get_404(db, pay_realm, realm_b, payer, make_invoice, create_account,
                                           realm_client, subscriber):
    invoice = make_invoice(pay_realm, payer.id, "5.00")
    with realm_context(pay_realm.id):
        from app.services.payments import record_payment

        payment_id = record_payment(payer.id, amount="5.00").id
        db.session.commit()
    other_staff = realm_client(realm_b)
    other_staff.login_staff("owner@bravo.example")
    assert other_staff.get(f"/console/payments/{payment_id}").status_code == 404
    assert other_staff.post(f"/console/payments/{payment_id}/refund", {}).status_code == 404
    create_account(pay_realm, "neighbour", password="neighbour-password")
    neighbour = realm_client(pay_realm)
    neighbour.login_subscriber("neighbour", "neighbour-password")
    assert neighbour.get(f"/payments/invoices/{invoice}/pay").status_code == 404
    assert neighbour.get(f"/payments/{payment_id}/receipt.pdf").status_code == 404


def test_stripe_webhook_endpoint(db, pay_realm, payer, realm_client, stripe_server):
    with realm_context(pay_realm.id):
        configure_gateway("stripe", enabled=True, settings={"secret_key": SECRET_KEY, "webhook_secret": "whsec_w",
                                                             "api_base": stripe_server.url})
        db.session.commit()
    client = realm_client(pay_realm)
    intent = {"id": "pi_web1", "object": "payment_intent", "amount": 700, "currency": "usd", "status": "succeeded",
              "metadata": {"account_id": str(payer.id)}}
    payload, header = signed(event("payment_intent.succeeded", intent), "whsec_w")
    headers = {"Stripe-Signature": header, "Content-Type": "application/json"}

    def post_raw(path, body, hdrs):  # a gateway posts raw JSON: no form, no CSRF token
        return client._run(client.client.post, path, base_url=client.base, data=body, headers=hdrs, buffered=True)

    ok = post_raw("/webhooks/stripe/alpha", payload, headers)
    assert ok.status_code == 200 and ok.get_json() == {"result": "processed"}
    assert post_raw("/webhooks/stripe/alpha", payload, headers).get_json() == {"result": "duplicate"}
    assert post_raw("/webhooks/stripe/bravo", payload, headers).status_code == 404
    bad = post_raw("/webhooks/stripe/alpha", payload, {**headers, "Stripe-Signature": "t=1,v1=00"})
    assert bad.status_code == 400
    assert _count(db, pay_realm, Payment) == 1
