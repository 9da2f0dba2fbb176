"""Billing: the jBilling walk-through, preview equals the issued invoice, reruns, late
usage, proration, and gapless numbering under concurrency."""

import threading
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from app.mediation.records import UsageEvent
from app.models import BillingRun, Invoice, Subscription, UsageRecord
from app.services.billing.run import bill_chunk, preview_invoice, start_billing_run
from app.services.plans import save_plan, spec_from_mapping
from app.services.usage.ingest import ingest
from tenants import realm_context

DIALUP = {
    "code": "dialup", "name": "Dial-up", "currency": "USD",
    "fees": [{"kind": "recurring", "period": "monthly", "amount": "20.00"}],
    "bands": [{"unit": "minute", "max_usage": "0", "price": "0.05"}],
}


def call(record_id, username, seconds, when):
    return UsageEvent(source="cdr", source_record_id=record_id, username=username, ip=None, nas=None,
                      session_id=None, status="cdr", event_time=when, start=when, duration_s=seconds,
                      bytes_in=0, bytes_out=0)


@pytest.fixture
def subscriber(db, realm_a, create_account):
    account_id = create_account(realm_a, "jb").id
    with realm_context(realm_a.id):
        plan = save_plan(spec_from_mapping(DIALUP, source="test"), effective_from=date(2026, 1, 1))
        db.session.add(Subscription(account_id=account_id, plan_version_id=plan.latest_version.id,
                                    status="active", starts_on=date(2026, 10, 1)))
        db.session.commit()
    return account_id


def _invoices(db, realm):
    with realm_context(realm.id):
        return [(i.number, i.total, [(line.kind, line.amount) for line in i.lines])
                for i in db.session.scalars(select(Invoice).order_by(Invoice.sequence))]


def test_jbilling_walk_through_and_preview_equals_invoice(db, realm_a, subscriber):
    with realm_context(realm_a.id):
        ingest([call("c1", "jb", 3600, datetime(2026, 10, 5, 9, tzinfo=UTC)),
                call("c2", "jb", 2400, datetime(2026, 10, 20, 9, tzinfo=UTC))])  # 100 minutes
        preview = preview_invoice(subscriber, on=date(2026, 10, 31))
        assert preview.total == D("25.00")
        start_billing_run("2026-10")
        db.session.commit()
        run = db.session.scalar(select(BillingRun))
        assert (run.status, run.done_accounts, run.total_accounts) == ("done", 1, 1)
        invoice = db.session.scalar(select(Invoice))
        assert invoice.number == "INV-000001" and invoice.total == D("25.00")
        issued = [(line.kind, line.description, line.amount) for line in invoice.lines]
        assert issued == [(line.kind, line.description, line.amount) for line in preview.lines]
        assert issued[1][1] == "band 1 (all minute): 100 minute x 0.05 = 5.00"
        assert db.session.scalar(select(func.count()).select_from(UsageRecord).where(
            UsageRecord.invoice_id == invoice.id)) == 2


def test_rerun_adds_nothing_and_late_usage_goes_on_the_next_invoice(db, realm_a, subscriber):
    with realm_context(realm_a.id):
        ingest([call("c1", "jb", 600, datetime(2026, 10, 5, 9, tzinfo=UTC))])
        start_billing_run("2026-10")
        db.session.commit()
        start_billing_run("2026-10")
        db.session.commit()
        run_id = db.session.scalar(select(BillingRun.id))
        assert bill_chunk(run_id, [subscriber]) == 0  # a chunk replayed after a crash
        assert db.session.scalar(select(func.count()).select_from(Invoice)) == 1
        # A record of October arrives after October was invoiced.
        ingest([call("late", "jb", 1200, datetime(2026, 10, 30, 9, tzinfo=UTC))])
        start_billing_run("2026-11")
        db.session.commit()
    invoices = _invoices(db, realm_a)
    assert [number for number, _, _ in invoices] == ["INV-000001", "INV-000002"]
    november = invoices[1]
    assert ("late_usage", D("1.00")) in november[2]
    assert november[1] == D("21.00")
    assert invoices[0][1] == D("20.50")  # October is untouched


def test_a_subscription_starting_mid_month_is_prorated(db, realm_a, create_account):
    account_id = create_account(realm_a, "mid").id
    with realm_context(realm_a.id):
        plan = save_plan(spec_from_mapping({**DIALUP, "fees": [
            {"kind": "setup", "amount": "10.00"},
            {"kind": "recurring", "period": "monthly", "amount": "31.00"}]}, source="t"),
            effective_from=date(2026, 1, 1))
        db.session.add(Subscription(account_id=account_id, plan_version_id=plan.latest_version.id,
                                    status="active", starts_on=date(2026, 10, 16), anchor_day=1))
        draft = preview_invoice(account_id, on=date(2026, 10, 20))
    # Billed in advance for its own month (Oct 16 - Nov 16): a full period, plus the setup fee.
    assert [(line.kind, line.amount) for line in draft.lines] == [("setup", D("10.00")), ("recurring", D("31.00"))]


def test_an_ending_subscription_is_prorated(db, realm_a, create_account):
    account_id = create_account(realm_a, "leaver").id
    with realm_context(realm_a.id):
        plan = save_plan(spec_from_mapping({**DIALUP, "fees": [
            {"kind": "recurring", "period": "monthly", "amount": "30.00"}]}, source="t"),
            effective_from=date(2026, 1, 1))
        db.session.add(Subscription(account_id=account_id, plan_version_id=plan.latest_version.id,
                                    status="active", starts_on=date(2026, 9, 1), ends_on=date(2026, 11, 16)))
        draft = preview_invoice(account_id, on=date(2026, 11, 2))
    assert [line.amount for line in draft.lines] == [D("15.00")]


@pytest.mark.postgres
def test_one_hundred_concurrent_finalizations_get_gapless_numbers(committed_pg_app):
    from app.extensions import db
    from app.services.billing.numbering import take_numbers
    from app.services.realms import create_realm
    from app.services.uow import unit_of_work

    app = committed_pg_app
    with app.app_context(), unit_of_work():
        realm_id = create_realm(slug="numbers", name="Numbers").id
    taken, errors = [], []
    lock = threading.Lock()

    def finalize():
        try:
            with app.app_context(), realm_context(realm_id), unit_of_work():
                number = take_numbers("invoice", 1)
            with lock:
                taken.append(number)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=finalize) for _ in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors[:3]
    assert sorted(taken) == list(range(1, 101))
    with app.app_context():
        db.engine.dispose()
