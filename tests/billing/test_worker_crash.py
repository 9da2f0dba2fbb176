"""A billing run on a real RQ worker over PostgreSQL and Redis, killed with SIGKILL midway,
then resumed: exactly one invoice per account, numbered without gaps."""

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from app.models import BillingRun, Invoice, Subscription
from tenants import realm_context
from tests.conftest import TEST_KEY

REDIS_URL = os.environ.get("REALMBILL_TEST_REDIS_BILLING", "redis://127.0.0.1:6379/14")
pytestmark = pytest.mark.postgres


@pytest.fixture
def redis_db():
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail("Redis is not reachable")
        pytest.skip("Redis is not reachable")
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


def test_sigkill_mid_run_then_resume_leaves_one_invoice_each(committed_pg_app, redis_db, tmp_path):
    from app.extensions import db
    from app.services.accounts import create_account
    from app.services.billing.run import start_billing_run
    from app.services.plans import save_plan, spec_from_mapping
    from app.services.realms import create_realm
    from app.services.uow import unit_of_work

    app = committed_pg_app
    app.config["REDIS_URL"] = REDIS_URL
    accounts = 300
    with app.app_context():
        with unit_of_work():
            realm_id = create_realm(slug="crash", name="Crash").id
        with realm_context(realm_id), unit_of_work():
            plan = save_plan(spec_from_mapping({
                "code": "p", "name": "P", "currency": "USD",
                "fees": [{"kind": "recurring", "period": "monthly", "amount": "9.99"}],
                "bands": [{"unit": "MB", "max_usage": "0", "price": "0.01"}]}, source="t"),
                effective_from=date(2026, 1, 1))
            for i in range(accounts):
                account = create_account(username=f"c{i:04d}", name=f"C {i}")
                db.session.add(Subscription(account_id=account.id, plan_version_id=plan.latest_version.id,
                                            status="active", starts_on=date(2026, 1, 1)))
        with realm_context(realm_id), unit_of_work():
            start_billing_run("2026-10", chunk_size=5)

    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": REDIS_URL,
           "REALMBILL_ENCRYPTION_KEYS": TEST_KEY, "SECRET_KEY": "test", "REALMBILL_INSTANCE": str(tmp_path)}
    realmbill = str(Path(sys.executable).parent / "realmbill")
    worker = subprocess.Popen([realmbill, "worker", "--burst", "--queue", "billing", "--no-scheduler"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)

    def done_accounts():
        with app.app_context(), realm_context(realm_id):
            return db.session.scalar(select(BillingRun.done_accounts))

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (done_accounts() or 0) < 20:
        time.sleep(0.02)
    os.killpg(worker.pid, signal.SIGKILL)  # the worker and the job it is running
    worker.wait(timeout=10)
    killed_at = done_accounts()
    assert 0 < killed_at < accounts, "the kill should land in the middle of the run"

    with app.app_context():
        with realm_context(realm_id), unit_of_work():
            start_billing_run("2026-10", chunk_size=50)  # resume: only what is missing
        from rq import SimpleWorker

        from workers.queues import get_queue

        SimpleWorker([get_queue("billing")], connection=redis_db).work(burst=True)
        with realm_context(realm_id):
            invoices = db.session.scalar(select(func.count()).select_from(Invoice))
            distinct = db.session.scalar(select(func.count(func.distinct(Invoice.account_id))))
            numbers = sorted(db.session.scalars(select(Invoice.sequence)))
            run = db.session.scalar(select(BillingRun))
    assert invoices == distinct == accounts
    assert numbers == list(range(1, accounts + 1))
    assert run.status == "done" and run.done_accounts == accounts
