"""Gateway plugins: found through entry points, test card outcomes, card data never kept,
and receipts e-mailed with the PDF to a real SMTP server."""

from decimal import Decimal as D
from importlib.metadata import entry_points

import pytest
from sqlalchemy import select

from app.gateways import CardDetails, GatewayError, available_gateways
from app.gateways.test_card import TestCardGateway
from app.models import Payment, PaymentMethod
from app.services.errors import Invalid, NotAllowed
from app.services.payments import pay_with_card, record_payment
from app.services.payments.gateways import configure_gateway
from app.services.payments.methods import add_card
from tenants import realm_context

from .conftest import DECLINED, TRANSIENT, VISA


def test_gateways_are_plugins_from_entry_points():
    names = {ep.name for ep in entry_points(group="realmbill.gateways")}
    assert {"manual", "bank_transfer", "test_card", "stripe"} <= names
    assert {"manual", "bank_transfer", "test_card", "stripe"} <= set(available_gateways())


@pytest.mark.parametrize("card, status, code, retryable", [
    (VISA, "succeeded", None, False),
    (CardDetails("5555555555554444", 1, 2099, "999"), "succeeded", None, False),
    (DECLINED, "declined", "card_declined", False),
    (CardDetails("4000000000009995", 1, 2099, "999"), "declined", "insufficient_funds", False),
    (TRANSIENT, "error", "processing_error", True),
])
def test_test_card_outcomes(card, status, code, retryable):
    gateway = TestCardGateway({})
    token = gateway.tokenise(card, account_ref="A1")
    assert card.number not in token.token and token.last4 == card.number[-4:]
    result = gateway.charge(token=token.token, customer_ref=None, amount=D("1.00"), currency="USD",
                            idempotency_key="k", description="t", metadata={})
    assert (result.status, result.failure_code, result.retryable) == (status, code, retryable)
    assert "4242424242424242" not in repr(card)


def test_bad_cards_are_refused_before_any_charge():
    gateway = TestCardGateway({})
    for card in (CardDetails("4242424242424241", 12, 2099, "123"), CardDetails("4242424242424242", 1, 2001, "123"),
                 CardDetails("4242424242424242", 12, 2099, "12")):
        with pytest.raises(GatewayError):
            gateway.tokenise(card, account_ref="A1")


def test_stored_card_keeps_only_the_token(db, pay_realm, payer):
    with realm_context(pay_realm.id):
        label = add_card(payer.id, VISA).label
        db.session.commit()
        row = db.session.execute(select(PaymentMethod.__table__)).mappings().one()
    assert "4242424242424242" not in " ".join(str(v) for v in row.values())
    assert "123" not in (row["token"] or "") and label.endswith("4242")


def test_disabled_gateway_and_invalid_card(db, pay_realm, payer):
    with realm_context(pay_realm.id):
        configure_gateway("test_card", enabled=False, settings={})
        with pytest.raises(NotAllowed):
            pay_with_card(payer.id, card=VISA, amount=D("1.00"), key="x1")
        configure_gateway("test_card", enabled=True, settings={})
        with pytest.raises(Invalid) as exc:
            pay_with_card(payer.id, card=CardDetails("1234", 1, 2099, "1"), amount=D("1.00"), key="x2")
        assert exc.value.errors == {"card_number": ["invalid_card"]}
        assert db.session.scalar(select(Payment.id)) is None


def test_receipt_is_mailed_with_the_pdf(db, pay_realm, payer, smtp_server):
    from app.services.mail import set_smtp_settings

    smtp_server.clear()
    with realm_context(pay_realm.id):
        set_smtp_settings(host=smtp_server.host, port=smtp_server.port, security="none", user=None,
                          password=None, mail_from="billing@alpha.example")
        db.session.commit()
        payment = record_payment(payer.id, amount="15.00", method="cash")
        db.session.commit()  # the receipt is rendered and mailed after this commit
        number = payment.receipt_number
    [message] = smtp_server.messages
    assert message["To"] == "paula@example.com" and number in message["Subject"]
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content().startswith(b"%PDF")
