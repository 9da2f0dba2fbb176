"""Automatic charges at invoice finalization and the retry schedule after a decline."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from app.models import ChargeRetry, Invoice, Payment, Subscription
from app.services.billing.run import start_billing_run
from app.services.payments import invoice_balance, record_payment
from app.services.payments.autocharge import retry_due_charges
from app.services.payments.gateways import update_payment_settings
from app.services.payments.methods import add_card
from app.services.plans import save_plan, spec_from_mapping
from tenants import realm_context

from .conftest import DECLINED, TRANSIENT, VISA, events_of

PLAN = {"code": "home", "name": "Home", "currency": "USD",
        "fees": [{"kind": "recurring", "period": "monthly", "amount": "20.00"}],
        "bands": [{"unit": "minute", "max_usage": "0", "price": "0.05"}]}


@pytest.fixture
def subscribed(db, pay_realm, payer):
    with realm_context(pay_realm.id):
        plan = save_plan(spec_from_mapping(PLAN, source="test"), effective_from=date(2026, 1, 1))
        db.session.add(Subscription(account_id=payer.id, plan_version_id=plan.latest_version.id,
                                    status="active", starts_on=date(2026, 10, 1)))
        db.session.commit()
    return payer


def _bill(db, realm):
    with realm_context(realm.id):
        start_billing_run("2026-10")
        db.session.commit()  # the run's jobs, then the follow-ups, run eagerly after this
        return db.session.scalar(select(Invoice.id))


def _payments(db, realm):
    with realm_context(realm.id):
        return [(p.status, p.amount, p.idempotency_key) for p in db.session.scalars(select(Payment).order_by(Payment.id))]


def test_finalized_invoice_is_charged_to_the_default_card(db, pay_realm, subscribed):
    with realm_context(pay_realm.id):
        add_card(subscribed.id, VISA)
        db.session.commit()
    invoice_id = _bill(db, pay_realm)
    assert _payments(db, pay_realm) == [("succeeded", D("20.00"), f"auto:{invoice_id}:1")]
    with realm_context(pay_realm.id):
        assert invoice_balance(db.session.get(Invoice, invoice_id)) == 0
    assert len(events_of(db, pay_realm, "payment.received")) == 1


def test_no_default_method_no_charge(db, pay_realm, subscribed):
    _bill(db, pay_realm)
    assert _payments(db, pay_realm) == []


def test_decline_walks_the_retry_schedule_then_payment_failed(db, pay_realm, subscribed):
    with realm_context(pay_realm.id):
        update_payment_settings(retry_days="1,3,7", auto_charge=True, receipt_prefix="R-")
        add_card(subscribed.id, DECLINED)
        db.session.commit()
    invoice_id = _bill(db, pay_realm)
    with realm_context(pay_realm.id):
        retry = db.session.scalar(select(ChargeRetry))
        first = retry.first_failed_at
        assert (retry.attempts, retry.status, retry.last_error) == (1, "scheduled", "card_declined")
        assert retry.next_attempt_at == first + timedelta(days=1)
        assert retry_due_charges(first + timedelta(hours=23)) == 0  # not due yet
        for day, attempts in ((1, 2), (3, 3)):
            assert retry_due_charges(first + timedelta(days=day, minutes=1)) == 1
            db.session.commit()
            assert (retry.attempts, retry.status) == (attempts, "scheduled")
        assert events_of(db, pay_realm, "payment.failed") == []
        assert retry_due_charges(first + timedelta(days=7, minutes=1)) == 1
        db.session.commit()
        assert (retry.attempts, retry.status, retry.next_attempt_at) == (4, "exhausted", None)
        assert retry_due_charges(first + timedelta(days=30)) == 0
    assert [k for _, _, k in _payments(db, pay_realm)] == [f"auto:{invoice_id}:{n}" for n in (1, 2, 3, 4)]
    [failed] = events_of(db, pay_realm, "payment.failed")
    assert failed.data["invoice_id"] == invoice_id and failed.data["attempts"] == 4


def test_transient_failure_retries_and_a_manual_payment_stops_the_schedule(db, pay_realm, subscribed):
    with realm_context(pay_realm.id):
        add_card(subscribed.id, TRANSIENT)
        db.session.commit()
    invoice_id = _bill(db, pay_realm)
    with realm_context(pay_realm.id):
        retry = db.session.scalar(select(ChargeRetry))
        assert retry.last_error == "processing_error"
        record_payment(subscribed.id, amount="20.00", method="cash", invoice_id=invoice_id)
        db.session.commit()
        assert retry.status == "succeeded"
        assert retry_due_charges(datetime.now(UTC) + timedelta(days=10)) == 0
        assert db.session.scalar(select(func.count(Payment.id))) == 2


def test_the_periodic_task_runs_due_retries(db, pay_realm, subscribed):
    import workers.scheduler as scheduler
    from workers.payments import retry_charges_job

    assert scheduler.TASKS["payments-retry-charges"].func is retry_charges_job
    with realm_context(pay_realm.id):
        add_card(subscribed.id, DECLINED)
        db.session.commit()
    _bill(db, pay_realm)
    with realm_context(pay_realm.id):
        retry = db.session.scalar(select(ChargeRetry))
        retry.next_attempt_at = datetime.now(UTC) - timedelta(minutes=1)
        db.session.commit()
    assert retry_charges_job() == 1
    with realm_context(pay_realm.id):
        assert db.session.scalar(select(ChargeRetry.attempts)) == 2
