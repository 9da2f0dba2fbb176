"""Recording payments: idempotency, allocation oldest first or to a chosen invoice,
overpayment as credit used on the next invoice, refunds reversing allocations, realms."""

from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from app.models import Payment, PaymentAllocation, Refund
from app.services.errors import Invalid, NotAllowed, NotFound
from app.services.payments import credit_balance, invoice_balance, record_payment, refund_payment
from app.services.payments.autocharge import charge_invoice
from app.services.payments.core import get_invoice
from tenants import realm_context

from .conftest import events_of


def _balances(db, realm, *invoice_ids):
    with realm_context(realm.id):
        return [invoice_balance(get_invoice(i)) for i in invoice_ids]


def test_same_key_twice_records_one_payment(db, pay_realm, payer, make_invoice):
    make_invoice(pay_realm, payer.id, "30.00")
    with realm_context(pay_realm.id):
        first = record_payment(payer.id, amount="10.00", method="cash", idempotency_key="desk-1")
        again = record_payment(payer.id, amount="10.00", method="cash", idempotency_key="desk-1")
        db.session.commit()
        assert first.id == again.id
        assert db.session.scalar(select(func.count(Payment.id))) == 1
        assert db.session.scalar(select(func.sum(PaymentAllocation.amount))) == D("10.00")
        assert first.receipt_number == "RCT-000001"


def test_oldest_invoice_first_then_credit(db, pay_realm, payer, make_invoice):
    from datetime import date

    newer = make_invoice(pay_realm, payer.id, "20.00", issued=date(2026, 11, 1))
    older = make_invoice(pay_realm, payer.id, "30.00", issued=date(2026, 10, 1))
    with realm_context(pay_realm.id):
        record_payment(payer.id, amount="40.00", method="cheque", reference="CHQ 1001")
        db.session.commit()
    assert _balances(db, pay_realm, older, newer) == [D("0"), D("10.00")]
    with realm_context(pay_realm.id):
        record_payment(payer.id, amount="25.00", method="cash")
        db.session.commit()
        assert credit_balance(payer.id) == {"USD": D("15.00")}
    assert _balances(db, pay_realm, older, newer) == [D("0"), D("0")]
    # The credit is used when the next invoice is finalized (the auto-charge job).
    later = make_invoice(pay_realm, payer.id, "12.00", issued=date(2026, 12, 1))
    with realm_context(pay_realm.id):
        assert charge_invoice(later) is None  # nothing left to charge
        db.session.commit()
        assert credit_balance(payer.id) == {"USD": D("3.00")}
    assert _balances(db, pay_realm, later) == [D("0")]
    received = events_of(db, pay_realm, "payment.received")
    assert len(received) == 2 and received[0].data["amount"] == "40.00"


def test_chosen_invoice_is_paid_first(db, pay_realm, payer, make_invoice):
    from datetime import date

    older = make_invoice(pay_realm, payer.id, "30.00", issued=date(2026, 10, 1))
    chosen = make_invoice(pay_realm, payer.id, "20.00", issued=date(2026, 11, 1))
    with realm_context(pay_realm.id):
        record_payment(payer.id, amount="25.00", invoice_id=chosen)
        db.session.commit()
    assert _balances(db, pay_realm, older, chosen) == [D("25.00"), D("0")]


def test_refund_reverses_allocation_and_unused_credit_first(db, pay_realm, payer, make_invoice):
    invoice = make_invoice(pay_realm, payer.id, "30.00")
    with realm_context(pay_realm.id):
        payment = record_payment(payer.id, amount="50.00", method="cash")
        db.session.commit()
        assert credit_balance(payer.id) == {"USD": D("20.00")}
        refund_payment(payment.id, amount="25.00", reason="moved away", key="r1")
        db.session.commit()
        # 20.00 of credit went back first; 5.00 came off the invoice.
        assert credit_balance(payer.id) == {}
        assert invoice_balance(get_invoice(invoice)) == D("5.00")
        assert payment.status == "partially_refunded" and payment.refunded_amount == D("25.00")
        assert refund_payment(payment.id, amount="25.00", key="r1").id == \
            db.session.scalar(select(Refund.id))  # same key: the same refund
        with pytest.raises(Invalid) as exc:
            refund_payment(payment.id, amount="25.01")
        assert exc.value.errors == {"amount": ["more_than_paid"]}
        refund_payment(payment.id)
        db.session.commit()
        assert payment.status == "refunded" and invoice_balance(get_invoice(invoice)) == D("30.00")
        with pytest.raises(NotAllowed):
            refund_payment(payment.id, amount="1.00")


def test_bad_amounts_are_refused_and_nothing_written(db, pay_realm, payer):
    with realm_context(pay_realm.id):
        for amount, code in (("abc", "not_a_number"), ("-5", "must_be_positive"), ("1.234", "too_many_decimals")):
            with pytest.raises(Invalid) as exc:
                record_payment(payer.id, amount=amount)
            assert exc.value.errors["amount"] == [code]
        assert db.session.scalar(select(func.count(Payment.id))) == 0


def test_other_realms_accounts_and_invoices_are_refused(db, pay_realm, realm_b, payer, create_account, make_invoice):
    stranger = create_account(realm_b, "stranger")
    theirs = make_invoice(realm_b, stranger.id, "10.00")
    with realm_context(pay_realm.id):
        with pytest.raises(NotFound):
            record_payment(stranger.id, amount="5.00")
        with pytest.raises(Invalid) as exc:
            record_payment(payer.id, amount="5.00", invoice_id=theirs)
        assert exc.value.errors == {"invoice_id": ["not_found"]}
    with realm_context(realm_b.id):
        assert db.session.scalar(select(func.count(Payment.id))) == 0
