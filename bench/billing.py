"""Billing run throughput: accounts/s for one month of a realm, without PDFs.

    .venv/bin/python -m bench.billing [--accounts 100000] [--usage 2] [--chunk 1000] [--workers 2]

On a throw-away PostgreSQL database (created and dropped here) it seeds a realm with
ACCOUNTS accounts, each subscribed to a plan ($20/month + minutes at $0.05 over 60
included minutes), USAGE CDR records per account in the month, a pending one-time charge
for every tenth account, a 10 % line discount on recurring fees and a 20 % tax rate.
Then it runs the billing run for the month through the same code as
``realmbill bill run``: ``start_billing_run`` records the run and enqueues one
``bill_chunk_job`` per chunk; the chunk jobs are run by WORKERS worker processes (like
``realmbill worker``; 1 = the embedded in-process queue of `make run`). Invoice follow-ups
(PDF rendering, mail, automatic charges) are switched off: this measures billing only.

Prints accounts/s and total seconds; checks one invoice per account, gapless numbers, and
that every usage record and pending charge was billed exactly once.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
from datetime import UTC, date, datetime
from decimal import Decimal

from ._common import Figures, Timer, libpq_url, make_app, pg_database, seed_realm

PERIOD = "2026-11"
PLAN = {
    "code": "bench", "name": "Bench plan", "currency": "USD",
    "fees": [{"kind": "recurring", "period": "monthly", "amount": "20.00"}],
    "bands": [{"unit": "minute", "max_usage": "0", "price": "0.05"}],
    "quotas": [{"unit": "minute", "amount": "60"}],
}


def seed(app, url: str, accounts: int, usage: int) -> int:
    import psycopg
    from sqlalchemy import insert, select

    from app.extensions import db
    from app.models import Account, Charge, Discount, Subscription, TaxRate
    from app.services.plans import save_plan, spec_from_mapping
    from tenants import realm_context

    realm_id = seed_realm(app, accounts=accounts)
    with app.app_context(), realm_context(realm_id):
        plan = save_plan(spec_from_mapping(PLAN, source="bench"), effective_from=date(2020, 1, 1))
        db.session.add(TaxRate(name="VAT", rate=Decimal(20), valid_from=date(2020, 1, 1)))
        db.session.add(Discount(name="Loyalty", kind="percent", value=Decimal(10), scope="line",
                                line_kind="recurring", valid_from=date(2020, 1, 1)))
        db.session.commit()
        version_id = plan.latest_version.id
        ids = list(db.session.scalars(select(Account.id).order_by(Account.id)))
        now = datetime.now(UTC)
        subs = [{"realm_id": realm_id, "account_id": a, "plan_version_id": version_id, "status": "active",
                 "kind": "recurring", "starts_on": date(2026, 1, 1), "anchor_day": 1, "created_at": now}
                for a in ids]
        for start in range(0, len(subs), 20_000):
            db.session.execute(insert(Subscription.__table__), subs[start:start + 20_000])
        charges = [{"realm_id": realm_id, "account_id": a, "kind": "one_time", "status": "pending",
                    "description": "Router", "quantity": Decimal(1), "unit_price": Decimal("4.99"),
                    "amount": Decimal("4.99"), "currency": "USD", "charge_on": date(2026, 11, 3),
                    "created_at": now} for a in ids[::10]]
        for start in range(0, len(charges), 20_000):
            db.session.execute(insert(Charge.__table__), charges[start:start + 20_000])
        db.session.commit()
    # Usage: COPY, as the ingest path stores it.
    columns = ("realm_id", "account_id", "source", "source_record_id", "status", "username", "event_time",
               "start", "duration_s", "bytes_in", "bytes_out")
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY usage_records ({', '.join(columns)}) FROM STDIN") as copy:
            for n, account_id in enumerate(ids):
                for k in range(usage):
                    moment = datetime(2026, 11, 1 + (n + k) % 28, (n * 7 + k) % 24, tzinfo=UTC)
                    copy.write_row((realm_id, account_id, "cdr", f"b{n}-{k}", "cdr", f"user{n}", moment, moment,
                                    60 * (20 + (n + 13 * k) % 50), 0, 0))
        conn.commit()
    return realm_id


def _worker_init(url: str) -> None:
    global _APP
    _APP = _bench_app(url, create=False)


def _run_chunk(args) -> tuple[int, float, float]:
    """One chunk job; returns (invoices, CPU s of this worker, CPU s of its PostgreSQL backend)."""
    import time

    from sqlalchemy import text

    from app.extensions import db
    from workers.billing import bill_chunk_job

    realm_id, run_id, chunk = args
    with _APP.app_context():
        backend = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        db.session.rollback()
        began, pg_began = time.process_time(), _proc_cpu(backend)
        written = bill_chunk_job(realm_id, run_id, chunk)
        return written, time.process_time() - began, _proc_cpu(backend) - pg_began


def _bench_app(url: str, *, create: bool):
    from app.services.billing import followups

    followups.FOLLOW_UPS.clear()  # no PDFs, mail or payments: billing alone is measured
    if create:
        return make_app(url)
    from app import create_app
    from app.config import Config

    return create_app(Config(SQLALCHEMY_DATABASE_URI=url, SECRET_KEY="bench", REDIS_URL=None,
                             RATELIMIT_STORAGE_URI="memory://", JOBS_EAGER=True,
                             ENCRYPTION_KEYS=os.environ.get("REALMBILL_ENCRYPTION_KEYS", "")
                             or _key()))


def _key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process on this machine, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        values = stat.read().rsplit(")", 1)[1].split()
    return (int(values[11]) + int(values[12])) / os.sysconf("SC_CLK_TCK")


def run(app, url: str, realm_id: int, *, chunk: int, workers: int) -> tuple[int, float, list[float]]:
    from app.extensions import db
    from app.services.billing.run import start_billing_run
    from app.services.uow import unit_of_work
    from tenants import realm_context
    from workers import queues

    captured: list[tuple] = []
    cpu = [0.0, 0.0]
    with Timer() as timer:
        if workers <= 1:
            # The embedded queue: chunk jobs run in-process (JOBS_EAGER waits for each).
            with app.app_context(), realm_context(realm_id), unit_of_work():
                run_ = start_billing_run(PERIOD, chunk_size=chunk)
                run_id = run_.id
        else:
            # RQ-style: the run enqueues its chunk jobs; WORKERS processes take them.
            original = queues.enqueue

            def capture(func, *args, **kwargs):
                captured.append(args)

            queues.enqueue = capture
            try:
                with app.app_context(), realm_context(realm_id), unit_of_work():
                    run_id = start_billing_run(PERIOD, chunk_size=chunk).id
            finally:
                queues.enqueue = original
            with app.app_context():
                db.engine.dispose()  # no inherited connections in the workers
            context = multiprocessing.get_context("fork")
            with context.Pool(workers, initializer=_worker_init, initargs=(url,)) as pool:
                for _, worker_cpu, pg_cpu in pool.imap_unordered(_run_chunk, captured):
                    cpu[0] += worker_cpu
                    cpu[1] += pg_cpu
    return run_id, timer.seconds, cpu


def check(app, realm_id: int, accounts: int, usage: int) -> str:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import BillingRun, Charge, Invoice, UsageRecord
    from tenants import realm_context

    with app.app_context(), realm_context(realm_id):
        count, low, high, total = db.session.execute(
            select(func.count(), func.min(Invoice.sequence), func.max(Invoice.sequence), func.sum(Invoice.total))
        ).one()
        assert count == accounts, (count, accounts)
        assert (low, high) == (1, accounts), (low, high)
        assert db.session.scalar(select(func.count()).select_from(UsageRecord)
                                 .where(UsageRecord.invoice_id.is_(None))) == 0
        assert db.session.scalar(select(func.count()).select_from(Charge).where(Charge.status != "billed")) == 0
        run = db.session.scalar(select(BillingRun))
        assert run.status == "done" and run.done_accounts == accounts, (run.status, run.done_accounts)
        return f"{count:,} invoices, total {total:,.2f} USD"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--usage", type=int, default=2, help="CDR records per account")
    parser.add_argument("--chunk", type=int, default=1000, help="accounts per chunk job")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (1 = embedded)")
    parser.add_argument("--profile", action="store_true", help="cProfile one chunk in-process, then exit")
    args = parser.parse_args(argv)
    figures = Figures("Billing run, no PDFs", unit="accounts/s")
    with pg_database("realmbill_bench_billing") as url:
        app = _bench_app(url, create=True)
        print(f"seeding {args.accounts:,} accounts, {args.accounts * args.usage:,} usage records …", flush=True)
        with Timer() as seeding:
            realm_id = seed(app, url, args.accounts, args.usage)
        print(f"  seeded in {seeding.seconds:.1f} s", flush=True)
        if args.profile:
            _profile(app, realm_id, args.chunk)
            return
        _, seconds, (cpu, pg_cpu) = run(app, url, realm_id, chunk=args.chunk, workers=args.workers)
        note = check(app, realm_id, args.accounts, args.usage)
        figures.add(f"billing run ({args.workers} worker{'s' if args.workers != 1 else ''}, chunks of {args.chunk})",
                    args.accounts, seconds, note)
        figures.print()
        print(f"total seconds: {seconds:.2f}  (target: <= 60 s for 100,000 accounts on 2 cores)")
        if cpu:
            busy = cpu + pg_cpu
            print(f"CPU seconds of the chunk jobs: workers {cpu:.1f} + their PostgreSQL backends {pg_cpu:.1f} "
                  f"= {busy:.1f}; on {os.cpu_count()} otherwise idle cores that is about "
                  f"{busy / (os.cpu_count() or 1):.1f} s wall ({args.accounts / (busy / (os.cpu_count() or 1)):,.0f} "
                  f"accounts/s); load average now {os.getloadavg()[0]:.1f}")
        with app.app_context():
            from app.extensions import db

            db.engine.dispose()


def _profile(app, realm_id: int, chunk: int) -> None:
    import cProfile
    import pstats

    from sqlalchemy import select

    from app.models import Account
    from app.services.billing.run import bill_chunk, start_billing_run
    from app.services.uow import unit_of_work
    from tenants import realm_context
    from workers import queues

    queues.enqueue = lambda *a, **k: None
    with app.app_context(), realm_context(realm_id):
        with unit_of_work():
            run_id = start_billing_run(PERIOD, chunk_size=chunk).id
        from app.extensions import db

        ids = list(db.session.scalars(select(Account.id).order_by(Account.id).limit(2 * chunk)))
        with unit_of_work():
            bill_chunk(run_id, ids[:chunk])  # warm-up: statement caches, prepared statements
        profiler = cProfile.Profile()
        profiler.enable()
        with unit_of_work():
            bill_chunk(run_id, ids[chunk:])
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)


if __name__ == "__main__":
    main()
