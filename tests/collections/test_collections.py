"""Collections: aging buckets and CSV, reminders exactly once (reruns, two workers), the
late-payment penalty, suspension at M days and reactivation when paid."""

from __future__ import annotations

import csv
import io
import threading
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from app.services.collections import (
    aging_csv,
    aging_report,
    reevaluate_account,
    run_dunning,
    update_policy,
)
from tenants import realm_context

TODAY = date(2026, 12, 7)
RULES = {"grace_days": 3, "reminder_days": "7,14", "final_warning_days": 21, "penalty_kind": "fixed",
         "penalty_amount": "5.00", "penalty_days": 30, "suspend_days": 45, "bill_suspended": False}


def make_invoice(account_id, *, total, due, number, currency="USD"):
    from app.extensions import db
    from app.models import Invoice

    invoice = Invoice(account_id=account_id, kind="invoice", status="finalized", number=number,
                      issue_date=due - timedelta(days=14), due_date=due, currency=currency,
                      subtotal=D(total), total=D(total))
    db.session.add(invoice)
    db.session.flush()
    return invoice.id


@pytest.fixture
def debtor(db, realm_a, create_account):
    return create_account(realm_a, "dora", name="Dora Debtor", email="dora@example.org").id


def _mails_to(db, address):
    from app.models.document import MailMessage

    return list(db.session.scalars(select(MailMessage.subject).where(
        MailMessage.recipient == address, MailMessage.dedupe_key.like("dunning:%")).order_by(MailMessage.id)))


def _dunning_messages(server):
    return [m for m in server.messages if not m["Subject"].startswith("Welcome")]


def test_aging_buckets_and_csv(db, realm_a, debtor, create_account):
    other = create_account(realm_a, "olaf", name="Olaf").id
    with realm_context(realm_a.id):
        for days, total in ((-5, "10.00"), (0, "1.00"), (10, "20.00"), (45, "30.00"), (75, "40.00"),
                            (120, "50.00")):
            make_invoice(debtor, total=total, due=TODAY - timedelta(days=days), number=f"A{days}")
        paid_id = make_invoice(other, total="99.00", due=TODAY - timedelta(days=20), number="P1")
        make_invoice(other, total="15.00", due=TODAY - timedelta(days=31), number="O1")
        from app.services.payments import record_payment

        record_payment(other, amount="99.00", invoice_id=paid_id, idempotency_key="aging-paid")
        db.session.commit()
        report = aging_report(today=TODAY)
        rows = {row.name: row for row in report.rows}
        assert rows["Dora Debtor"].buckets == {"current": D("11.00"), "1-30": D("20.00"), "31-60": D("30.00"),
                                               "61-90": D("40.00"), "90+": D("50.00")}
        assert rows["Olaf"].buckets["31-60"] == D("15.00") and rows["Olaf"].total == D("15.00")
        assert report.totals["USD"]["total"] == D("166.00")
        lines = list(csv.reader(io.StringIO(aging_csv(today=TODAY).decode())))
    assert lines[0] == ["account", "name", "currency", "current", "1-30", "31-60", "61-90", "90+", "total"]
    assert ["Dora Debtor", "USD", "11.00", "20.00", "30.00", "40.00", "50.00", "151.00"] == lines[1][1:]


def test_reminders_go_out_once_however_often_the_job_runs(db, realm_a, debtor, mail_to_smtp_server):
    with realm_context(realm_a.id):
        update_policy(**RULES)
        make_invoice(debtor, total="80.00", due=TODAY - timedelta(days=3), number="G1")  # within grace
        make_invoice(debtor, total="60.00", due=TODAY - timedelta(days=15), number="R1")
        db.session.commit()
        first = run_dunning(today=TODAY)
        db.session.commit()
        second = run_dunning(today=TODAY)
        db.session.commit()
        assert (first.reminders, second.reminders) == (2, 0)
        assert _mails_to(db, "dora@example.org") == ["Payment reminder: invoice R1"] * 2
    assert len(_dunning_messages(mail_to_smtp_server)) == 2
    # A week later only the final warning is new.
    with realm_context(realm_a.id):
        later = run_dunning(today=TODAY + timedelta(days=7))
        db.session.commit()
        assert (later.reminders, later.final_warnings, later.penalties) == (1, 1, 0)
        assert _mails_to(db, "dora@example.org")[2:] == ["Final warning: invoice R1 is overdue",
                                                         "Payment reminder: invoice G1"]


def test_penalty_is_a_pending_charge_once(db, realm_a, debtor):
    from app.models import Charge

    with realm_context(realm_a.id):
        update_policy(**{**RULES, "penalty_kind": "percent", "penalty_amount": "10"})
        invoice_id = make_invoice(debtor, total="123.45", due=TODAY - timedelta(days=31), number="PEN1")
        db.session.commit()
        assert run_dunning(today=TODAY).penalties == 1
        assert run_dunning(today=TODAY + timedelta(days=1)).penalties == 0
        db.session.commit()
        [charge] = db.session.scalars(select(Charge).where(Charge.account_id == debtor))
        assert (charge.kind, charge.amount, charge.status) == ("penalty", D("12.35"), "pending")
        assert charge.source_key == f"penalty:{invoice_id}"
        assert "PEN1" in charge.description


def test_suspension_at_m_days_and_reactivation_when_paid(db, realm_a, debtor):
    from app.models import Account
    from app.models.events import Event
    from app.services.payments import record_payment

    with realm_context(realm_a.id):
        update_policy(**RULES)
        invoice_id = make_invoice(debtor, total="70.00", due=TODAY - timedelta(days=46), number="S1")
        db.session.commit()
        assert run_dunning(today=TODAY).suspensions == 1
        db.session.commit()
        assert db.session.get(Account, debtor).status == "suspended"
        event = db.session.scalar(select(Event).where(Event.type == "account.suspended"))
        assert "S1" in str(event.data) and "46 days overdue" in str(event.data)
        assert run_dunning(today=TODAY).suspensions == 0
        # Half paid: still overdue, stays suspended.
        record_payment(debtor, amount="30.00", invoice_id=invoice_id, idempotency_key="s1-part")
        db.session.commit()
        assert db.session.get(Account, debtor).status == "suspended"
        record_payment(debtor, amount="40.00", invoice_id=invoice_id, idempotency_key="s1-rest")
        db.session.commit()
        assert db.session.get(Account, debtor).status == "active"
        assert db.session.scalar(select(func.count(Event.id)).where(Event.type == "account.resumed")) == 1


def test_staff_suspension_is_not_lifted_by_a_payment(db, realm_a, debtor):
    from app.models import Account
    from app.services.accounts import suspend_account

    with realm_context(realm_a.id):
        suspend_account(debtor, reason="abuse")
        db.session.commit()
        assert reevaluate_account(debtor, today=TODAY) is False
        assert db.session.get(Account, debtor).status == "suspended"


def test_policy_is_validated(db, realm_a):
    from app.services.errors import Invalid

    with realm_context(realm_a.id):
        with pytest.raises(Invalid) as caught:
            update_policy(**{**RULES, "grace_days": "-1", "reminder_days": "7,x", "penalty_kind": "percent",
                             "penalty_amount": "150"})
        assert set(caught.value.errors) == {"grace_days", "reminder_days", "penalty_amount"}


@pytest.mark.postgres
def test_two_workers_send_each_reminder_once(committed_pg_app, smtp_server):
    from app.extensions import db
    from app.models.collections import DunningStep
    from app.models.document import MailMessage
    from app.services.accounts import create_account
    from app.services.realms import create_realm
    from app.services.uow import unit_of_work
    from workers.collections import dunning_job

    app = committed_pg_app
    app.config.update(MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port, MAIL_SECURITY="none",
                      MAIL_USERNAME=None, MAIL_PASSWORD=None, MAIL_FROM="Billing <billing@realmbill.test>")
    smtp_server.clear()
    with app.app_context():
        with unit_of_work():
            realm_id = create_realm(slug="dun", name="Dunning").id
        with realm_context(realm_id), unit_of_work():
            update_policy(**RULES)
            for i in range(6):
                account_id = create_account(username=f"late{i}", name=f"Late {i}",
                                            email=f"late{i}@example.org").id
                make_invoice(account_id, total="25.00", due=TODAY - timedelta(days=22), number=f"L{i}")

    start = threading.Barrier(2)
    errors = []

    def worker():
        try:
            with app.app_context():
                start.wait(timeout=30)
                for _ in range(3):  # and each worker reruns the job
                    dunning_job(realm_id, TODAY.isoformat())
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    with app.app_context(), realm_context(realm_id):
        # 6 invoices × (reminder-7, reminder-14, final) = 18 steps, 18 mails.
        assert db.session.scalar(select(func.count(DunningStep.id))) == 18
        assert db.session.scalar(select(func.count(MailMessage.id)).where(
            MailMessage.dedupe_key.like("dunning:%"))) == 18
    received = sorted((m["To"], m["Subject"]) for m in _dunning_messages(smtp_server))
    assert len(received) == 18 and len(set(received)) == 12  # both reminders share a subject


def test_the_scheduler_sweeps_every_realm(db, realm_a, debtor):
    from app.models.collections import DunningStep
    from workers import scheduler
    from workers.collections import dunning_sweep_job

    assert scheduler.TASKS["collections-dunning"].func is dunning_sweep_job
    with realm_context(realm_a.id):
        update_policy(**RULES)
        make_invoice(debtor, total="9.00", due=date.today() - timedelta(days=8), number="SW1")
        db.session.commit()
    assert dunning_sweep_job() >= 2  # provider and alpha
    assert dunning_sweep_job() >= 2
    with realm_context(realm_a.id):
        assert list(db.session.scalars(select(DunningStep.step))) == ["reminder-7"]
