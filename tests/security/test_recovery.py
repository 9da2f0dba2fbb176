"""Work survives a crash between commit and enqueue (or a Redis restart): sweepers re-enqueue
from the database, and doing so twice changes nothing."""

from datetime import date, timedelta

import sqlalchemy as sa

from app.models import BillingRun, Invoice
from tenants import realm_context

PLAN = """
code: sweep
name: Sweep
currency: USD
fees:
  - {kind: recurring, period: monthly, amount: "10.00"}
"""


def _subscribers(db, realm, create_account, count=3):
    from app.services.plans import import_plan
    from app.services.subscriptions import subscribe

    ids = [create_account(realm, f"sweep{i}").id for i in range(count)]
    with realm_context(realm.id):
        plan = import_plan(PLAN, source="test")
        db.session.flush()
        for account_id in ids:
            subscribe(account_id, plan_id=plan.id, starts_on=date(2026, 1, 1))
        db.session.commit()
    return ids


def _invoices(db):
    return db.session.scalars(sa.select(Invoice.account_id).where(Invoice.kind == "invoice")).all()


def test_a_run_whose_chunks_were_never_enqueued_is_finished_by_the_sweeper(db, realm_a, create_account,
                                                                          monkeypatch):
    from app.services.billing import run as billing_run
    from workers.billing import resume_stalled_runs_job

    ids = _subscribers(db, realm_a, create_account)
    with realm_context(realm_a.id):
        # The process dies right after the run's commit: its chunk jobs are never enqueued.
        monkeypatch.setattr(billing_run, "after_commit", lambda callback: None)
        billing_run.start_billing_run("2026-02")
        db.session.commit()
        monkeypatch.undo()
        assert _invoices(db) == []
        assert db.session.scalar(sa.select(BillingRun.status)) == "running"
    # Later the sweeper finds the run still running and resumes it.
    resumed = _sweep(realm_a, older_than=timedelta(0))
    assert len(resumed) == 1
    with realm_context(realm_a.id):
        db.session.expire_all()
        assert sorted(_invoices(db)) == sorted(ids)
        assert db.session.scalar(sa.select(BillingRun.status)) == "done"
    assert _sweep(realm_a, older_than=timedelta(0)) == []  # nothing running: nothing to do
    with realm_context(realm_a.id):
        assert sorted(_invoices(db)) == sorted(ids)
    assert resume_stalled_runs_job  # the scheduler's job wraps the same service


def _sweep(realm, *, older_than):
    from app.extensions import db
    from app.services.billing.run import resume_stalled_runs

    with realm_context(realm.id):
        resumed = resume_stalled_runs(older_than=older_than)
        db.session.commit()
    return resumed


def test_the_billing_cycle_bills_last_month_once(db, realm_a, create_account):
    from workers.billing import bill_last_month_job

    ids = _subscribers(db, realm_a, create_account, count=2)
    first = bill_last_month_job(realm_a.id)
    assert first is not None
    assert bill_last_month_job(realm_a.id) is None  # the month has its run already
    with realm_context(realm_a.id):
        db.session.expire_all()
        assert sorted(_invoices(db)) == sorted(ids)
        assert db.session.scalar(sa.select(sa.func.count(BillingRun.id))) == 1


def test_the_scheduler_knows_both_billing_tasks():
    from workers.billing import billing_cycle_job, billing_sweep_job
    from workers.scheduler import TASKS

    assert TASKS["billing-cycle"].func is billing_cycle_job
    assert TASKS["billing-sweep"].func is billing_sweep_job
