"""Top-ups: the pool grows once the payment succeeds, once per key; the charge lands on
the next invoice, which the top-up's payment pays."""

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from app.models import Charge, QuotaBalance, QuotaPool, TopupOrder
from app.services.errors import Invalid
from app.services.payments import credit_balance, invoice_balance
from app.services.payments.autocharge import charge_invoice
from app.services.payments.core import get_invoice
from app.services.topups import buy_topup, save_product
from tenants import realm_context

from .conftest import DECLINED, VISA


@pytest.fixture
def products(db, pay_realm):
    with realm_context(pay_realm.id):
        gb = save_product(code="10gb", name="10 GB extra", kind="quota", unit="GB", quantity="10", price="5.00")
        credit = save_product(code="credit20", name="20 USD credit", kind="credit", price="20.00")
        db.session.commit()
        return gb.id, credit.id


def test_product_validation(db, pay_realm, products):
    with realm_context(pay_realm.id):
        with pytest.raises(Invalid) as exc:
            save_product(code="10gb", name="", kind="quota", unit="parsec", quantity="-1", price="1.001")
        assert exc.value.errors == {"code": ["taken"], "name": ["required"], "unit": ["unknown"],
                                    "quantity": ["must_be_positive"], "price": ["too_many_decimals"]}


def test_quota_topup_grows_the_pool_once_and_is_billed_as_paid(db, pay_realm, payer, products, make_invoice):
    gb, _ = products
    with realm_context(pay_realm.id):
        order = buy_topup(payer.id, gb, key="nonce-1", card=VISA)
        same = buy_topup(payer.id, gb, key="nonce-1", card=VISA)
        db.session.commit()
        assert order.id == same.id and order.status == "paid"
        pool = db.session.scalar(select(QuotaPool).where(QuotaPool.account_id == payer.id))
        balance = db.session.scalar(select(QuotaBalance).where(QuotaBalance.pool_id == pool.id))
        assert (pool.unit, balance.topped_up) == ("GB", D("10"))
        charge = db.session.scalar(select(Charge))
        assert (charge.kind, charge.amount, charge.source_key) == ("topup", D("5.00"), f"topup:{order.id}")
        assert credit_balance(payer.id) == {"USD": D("5.00")}  # held until the invoice carries it
    # The next invoice carries the top-up line; its payment pays it.
    invoice = make_invoice(pay_realm, payer.id, "25.00", issued=datetime.now(UTC).date())
    with realm_context(pay_realm.id):
        charge = db.session.scalar(select(Charge))
        charge.invoice_id, charge.status = invoice, "billed"
        charge_invoice(invoice)
        db.session.commit()
        assert invoice_balance(get_invoice(invoice)) == D("20.00")
        assert credit_balance(payer.id) == {}


def test_declined_topup_adds_nothing(db, pay_realm, payer, products):
    gb, _ = products
    with realm_context(pay_realm.id):
        order = buy_topup(payer.id, gb, key="nonce-2", card=DECLINED)
        db.session.commit()
        assert order.status == "failed"
        assert db.session.scalar(select(func.count(QuotaPool.id))) == 0
        assert db.session.scalar(select(func.count(Charge.id))) == 0


def test_credit_topup_is_credit_balance(db, pay_realm, payer, products):
    _, credit = products
    with realm_context(pay_realm.id):
        buy_topup(payer.id, credit, key="nonce-3", card=VISA)
        db.session.commit()
        assert credit_balance(payer.id) == {"USD": D("20.00")}
        assert db.session.scalar(select(TopupOrder.status)) == "paid"
        assert db.session.scalar(select(func.count(Charge.id))) == 0
