"""Shared helpers of the benchmarks: throw-away databases, timing, a figures table.

Benchmarks are measurements, not tests: run them by hand (see bench/README.md). Each one
creates what it needs (a PostgreSQL database on 127.0.0.1:5432 as user ``postgres``, a
temporary SQLite file) and removes it again, also when it fails.
"""

from __future__ import annotations

import contextlib
import os
import platform
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BENCH_PG_PORT", "5432"))
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")
PG_ADMIN_URL = f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/postgres"
TEST_KEY = "bench-key-0123456789abcdef0123456789abcdef0123456="


def _admin_engine():
    import sqlalchemy as sa

    return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


@contextlib.contextmanager
def pg_database(prefix: str = "realmbill_bench") -> Iterator[str]:
    """A fresh PostgreSQL database (its SQLAlchemy URL), dropped at the end."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextlib.contextmanager
def sqlite_database() -> Iterator[str]:
    """A temporary SQLite file (its SQLAlchemy URL), removed at the end."""
    with tempfile.TemporaryDirectory(prefix="realmbill-bench-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.sqlite'}"


def libpq_url(sqlalchemy_url: str) -> str:
    """The psycopg (libpq) form of a ``postgresql+psycopg://`` URL."""
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


def make_app(database_url: str):
    """The Realmbill app on ``database_url`` with its schema created (all models)."""
    from app import create_app
    from app.config import Config
    from app.extensions import db

    config = Config(**{
        "SQLALCHEMY_DATABASE_URI": database_url,
        "TESTING": False,
        "SECRET_KEY": "bench-secret-key",
        "ENCRYPTION_KEYS": os.environ.get("REALMBILL_ENCRYPTION_KEYS") or _encryption_key(),
        "REDIS_URL": None,
        "RATELIMIT_STORAGE_URI": "memory://",
        "JOBS_EAGER": True,
    })
    app = create_app(config)
    with app.app_context():
        db.create_all()
    return app


def _encryption_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self) -> Timer:
        self.began = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.began


@dataclass
class Figures:
    """Rows of (what, count, seconds, rate, note), printed as an aligned table."""

    title: str
    unit: str = "items/s"
    rows: list[tuple[str, int, float, str]] = field(default_factory=list)

    def add(self, what: str, count: int, seconds: float, note: str = "") -> float:
        rate = count / seconds if seconds > 0 else float("inf")
        self.rows.append((what, count, seconds, note))
        print(f"  {what}: {count:,} in {seconds:.2f} s = {rate:,.0f} {self.unit} {note}".rstrip(),
              flush=True)
        return rate

    def rate(self, what: str) -> float:
        for name, count, seconds, _ in self.rows:
            if name == what:
                return count / seconds if seconds > 0 else float("inf")
        raise KeyError(what)

    def table(self) -> str:
        header = ("measurement", "count", "seconds", self.unit, "note")
        cells = [header] + [
            (name, f"{count:,}", f"{seconds:.2f}",
             f"{count / seconds:,.0f}" if seconds > 0 else "inf", note)
            for name, count, seconds, note in self.rows
        ]
        widths = [max(len(row[i]) for row in cells) for i in range(5)]
        lines = [f"{self.title} ({machine()})"]
        for index, row in enumerate(cells):
            lines.append("  ".join(
                c.ljust(w) if i in (0, 4) else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip())
            if index == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def print(self) -> None:
        print()
        print(self.table(), flush=True)


def machine() -> str:
    """Date, CPU count, load, Python and the two reference readings of this run, for the figures."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    loop, walk = reference_ms()
    return (f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
            f"load {load:.1f}, Python {platform.python_version()}, reference loop {loop:.1f} ms, walk {walk:.1f} ms")


_WALK = []  # the walk's list, built once per process (an array: 32 MB, not 150 MB of int objects)


def reference_ms() -> tuple[float, float]:
    """CPU ms of two fixed pure-Python workloads, best of five each: a loop of dict, string and
    integer work in the CPU's caches, and a walk of 300,000 random steps through a 4,000,000
    entry list (memory latency, which a web worker's large working set feels too). This VM's
    speed drifts within an hour (the same build's CPU per request from 5 to 13 ms): runs
    compare only beside these readings (lower is a faster machine)."""
    import random
    import time

    if not _WALK:
        from array import array

        order = list(range(4_000_000))
        random.Random(7).shuffle(order)
        _WALK.append(array("q", order))
        del order
    loop = walk = float("inf")
    for _ in range(5):
        began = time.process_time()
        table: dict[str, int] = {}
        for n in range(60_000):
            key = f"k{n % 997}"
            table[key] = table.get(key, 0) + (n * 7) % 13
        loop = min(loop, time.process_time() - began)
        began = time.process_time()
        at, steps = 0, _WALK[0]
        for _ in range(300_000):
            at = steps[at]
        walk = min(walk, time.process_time() - began)
    return loop * 1000, walk * 1000


def seed_realm(app, *, accounts: int, ip_sessions: int = 0, slug: str = "bench") -> int:
    """A realm ``slug`` (domain ``<slug>.example``) with ``accounts`` accounts ``user0``…,
    and ``ip_sessions`` open RADIUS sessions holding ``100.64.x.y`` for the first accounts
    (for attribution by IP). Accounts are inserted in bulk; returns the realm id."""
    from sqlalchemy import insert, select

    from app.extensions import db
    from app.models import Account, RadiusSession
    from app.services.realms import create_realm
    from tenants import all_realms

    with app.app_context():
        realm = create_realm(slug=slug, name=slug.title(), domains=[f"{slug}.example"],
                             owner={"email": f"owner@{slug}.example", "name": "Owner",
                                    "password": "bench-password"})
        db.session.commit()
        realm_id = realm.id
        table = Account.__table__
        rows = [{"realm_id": realm_id, "number": f"B{i:07d}", "username": f"user{i}",
                 "name": f"User {i}", "status": "active"} for i in range(accounts)]
        for start in range(0, len(rows), 10_000):
            db.session.execute(insert(table), rows[start:start + 10_000])
        db.session.commit()
        if ip_sessions:
            with all_realms():
                ids = dict(db.session.execute(
                    select(table.c.username, table.c.id).where(table.c.realm_id == realm_id)).all())
            began = datetime(2026, 1, 1, tzinfo=UTC)
            db.session.execute(insert(RadiusSession.__table__), [
                {"session_key": f"bench-ip-{i}", "realm_id": realm_id, "account_id": ids[f"user{i}"],
                 "nas": "192.0.2.1", "session_id": f"ip{i}", "framed_ip": session_ip(i),
                 "started_at": began, "stopped_at": None, "last_event_at": began,
                 "total_in": 0, "total_out": 0, "total_time": 0}
                for i in range(ip_sessions)
            ])
            db.session.commit()
    return realm_id


def session_ip(i: int) -> str:
    return f"100.64.{i // 250 % 256}.{i % 250 + 1}"


# ------------------------------------------------------------------ the app under gunicorn
SUBSCRIBER_PASSWORD = "bench-subscriber-pw-1"  # noqa: S105 - a throw-away database's password
STAFF_PASSWORD = "bench-staff-password-1"  # noqa: S105
LOAD_PLAN = {
    "code": "load", "name": "Load plan", "currency": "USD",
    "fees": [{"kind": "recurring", "period": "monthly", "amount": "20.00"}],
    "bands": [{"unit": "MB", "max_usage": "0", "price": "0.01"},
              {"unit": "hour", "max_usage": "0", "price": "0.50"}],
    "quotas": [{"unit": "MB", "amount": "1000"}],
}


@dataclass
class SeededRealm:
    """What a load run needs to know of one seeded realm (JSON-serialisable)."""

    id: int
    slug: str
    host: str                      # Host header that routes to the realm (<slug>.localhost)
    staff_email: str
    usernames: list[str]
    account_ids: list[int]
    api_token: str
    billed_period: str             # the month the seeding billed (invoices exist for it)
    usage_records: int = 0         # records sent while seeding (all current or billed month)
    usage_bytes: int = 0           # their bytes_in + bytes_out


def _month_before(day) -> str:
    from datetime import timedelta

    last = day.replace(day=1) - timedelta(days=1)
    return f"{last:%Y-%m}"


def seed_load(app, *, realms: int = 2, accounts: int = 10, usage: int = 4, prefix: str = "load",
              today=None, progress=None) -> list[SeededRealm]:
    """``realms`` realms (slugs ``<prefix>0``…), each with three cost centres, one plan,
    ``accounts`` subscribers (``user0``… signing in with ``SUBSCRIBER_PASSWORD``, subscribed
    since January), ``usage`` usage records per account in the last month and as many in
    this month (through the API's batch ingest), last month billed by the billing run
    (one invoice per account), a staff owner and an API key. Everything goes through the
    real services; only the subscribers' password hash is computed once and shared (one
    Argon2 hash per account would dominate the seeding)."""
    from datetime import UTC, date, datetime, timedelta

    from sqlalchemy import update

    from app.extensions import db
    from app.models import Account
    from app.models.api import API_SCOPES
    from app.security.passwords import hash_password
    from app.services.accounts import create_account, create_cost_centre
    from app.services.api.keys import create_api_key
    from app.services.api.usage_batch import ingest_api_batch
    from app.services.billing import followups
    from app.services.billing.run import start_billing_run
    from app.services.plans import save_plan, spec_from_mapping
    from app.services.realms import create_realm
    from app.services.subscriptions import subscribe
    from app.services.uow import unit_of_work
    from tenants import realm_context

    today = today or datetime.now(UTC).date()
    billed = _month_before(today)
    billed_start = date.fromisoformat(f"{billed}-01")
    month_start = today.replace(day=1)
    seeded: list[SeededRealm] = []
    saved_follow_ups = list(followups.FOLLOW_UPS)
    followups.FOLLOW_UPS.clear()  # no invoice PDFs or mail while seeding
    try:
        with app.app_context():
            shared_hash = hash_password(SUBSCRIBER_PASSWORD)
            for r in range(realms):
                slug = f"{prefix}{r}"
                email = f"owner@{slug}.example"
                with unit_of_work():
                    realm = create_realm(slug=slug, name=f"Load {r}", owner={
                        "email": email, "name": "Owner", "password": STAFF_PASSWORD})
                realm_id = realm.id
                with realm_context(realm_id):
                    with unit_of_work():
                        root = create_cost_centre(code="hq", name="Head office")
                        centres = [create_cost_centre(code=c, name=c.title(), parent_code=root.code).id
                                   for c in ("sales", "support")]
                        plan = save_plan(spec_from_mapping(LOAD_PLAN, source="bench"),
                                         effective_from=date(2020, 1, 1))
                        ids, names = [], []
                        for i in range(accounts):
                            account = create_account(username=f"user{i}", name=f"User {i}",
                                                     email=f"user{i}@{slug}.example",
                                                     cost_centre_id=centres[i % 2])
                            subscribe(account.id, plan_id=plan.id, starts_on=date(2026, 1, 1), anchor_day=1)
                            ids.append(account.id)
                            names.append(account.username)
                            if progress:
                                progress(1)
                        db.session.execute(update(Account).where(Account.id.in_(ids))
                                           .values(password_hash=shared_hash))
                    records, sent_bytes = [], 0
                    for n, name in enumerate(names):
                        for k in range(usage):
                            for first, days in ((billed_start, 28), (month_start, max((today - month_start).days, 1))):
                                moment = datetime.combine(first + timedelta(days=(n + k) % days), datetime.min.time(),
                                                          tzinfo=UTC) + timedelta(hours=(n * 7 + k) % 24)
                                size_in, size_out = 1_000_000 * (1 + (n + k) % 50), 250_000 * (1 + k)
                                records.append({"id": f"seed-{first:%Y%m}-{n}-{k}", "username": name,
                                                "event_time": moment.isoformat(), "duration_s": 60 * (10 + k),
                                                "bytes_in": size_in, "bytes_out": size_out})
                                sent_bytes += size_in + size_out
                    for start in range(0, len(records), 10_000):
                        with unit_of_work():
                            result = ingest_api_batch(records[start:start + 10_000], name="load seed")
                        assert result.accepted == len(records[start:start + 10_000]), result.errors[:3]
                    with unit_of_work():
                        start_billing_run(billed)  # chunks run after the commit (eagerly here)
                    with unit_of_work():
                        token = create_api_key(name="load", scopes=list(API_SCOPES)).token
                seeded.append(SeededRealm(
                    id=realm_id, slug=slug, host=f"{slug}.localhost", staff_email=email, usernames=names,
                    account_ids=ids, api_token=token, billed_period=billed, usage_records=len(records),
                    usage_bytes=sent_bytes))
    finally:
        followups.FOLLOW_UPS[:] = saved_follow_ups
    return seeded


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class AppServer:
    """A running gunicorn (see ``gunicorn_app``)."""

    url: str
    port: int
    pid: int
    log_path: Path
    process: object = field(repr=False, default=None)
    ready_host: str = "localhost"

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until a page answers (RuntimeError with the log's tail when gunicorn exits or hangs)."""
        _wait_ready(self.process, self, self.ready_host, timeout)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextlib.contextmanager
def gunicorn_app(database_url: str, *, workers: int = 2, threads: int = 4, ready_host: str = "localhost",
                 encryption_keys: str | None = None, timeout: float = 60.0, wait: bool = True,
                 extra_env: dict[str, str] | None = None, worker_class: str = "gthread",
                 keep_alive: float = 2.0) -> Iterator[AppServer]:
    """The real app (``bench/_wsgi.py``) under gunicorn (gthread: ``workers`` processes ×
    ``threads`` threads) on a free 127.0.0.1 port, on ``database_url``, without Redis
    (embedded job threads). Ready when a page answers; stopped with SIGTERM (SIGKILL of
    its process group after 10 s) also when the body fails. ``encryption_keys`` must be the
    seeding app's ``ENCRYPTION_KEYS`` (API key hashes are keyed with them). The app is
    imported once (``--preload``) and forked. ``wait=False`` returns while it boots (seed
    the database meanwhile, then ``server.wait_ready()``); the schema must exist by then."""
    import signal
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="realmbill-gunicorn-") as tmp:
        log_path = Path(tmp) / "gunicorn.log"
        env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "bench-secret-key",
               "REALMBILL_ENCRYPTION_KEYS": encryption_keys or _encryption_key(),
               "REALMBILL_INSTANCE": tmp, "REALMBILL_BASE_DOMAIN": "localhost", **(extra_env or {})}
        env.pop("REDIS_URL", None)
        command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
                   "--workers", str(workers), "--threads", str(threads), "--worker-class", worker_class,
                   "--keep-alive", f"{keep_alive:g}",
                   "--graceful-timeout", "5", "--timeout", "60", "--log-level", "warning", "--preload",
                   "bench._wsgi:app"]
        with open(log_path, "wb") as log:
            process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        server = AppServer(url=f"http://127.0.0.1:{port}", port=port, pid=process.pid, log_path=log_path,
                           process=process, ready_host=ready_host)
        try:
            if wait:
                server.wait_ready(timeout)
            yield server
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)  # the group this helper started
                    process.wait(timeout=10)


def _wait_ready(process, server: AppServer, host: str, timeout: float) -> None:
    import http.client

    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{server.log_tail()}")
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        try:
            connection.request("GET", "/login", headers={"Host": host})
            status = connection.getresponse().status
            if status < 500:
                return
        except OSError:
            pass
        finally:
            connection.close()
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn not ready after {timeout:.0f} s:\n{server.log_tail()}")
        time.sleep(0.1)


# ------------------------------------------------------------------ at scale (bench.portal)
def bulk_phase(name: str, timings: dict[str, float]):
    """``with bulk_phase("what", timings):`` prints when it starts and how long it took."""
    @contextlib.contextmanager
    def phase() -> Iterator[None]:
        print(f"  {name} …", flush=True)
        began = time.perf_counter()
        yield
        timings[name] = time.perf_counter() - began
        print(f"  {name}: {timings[name]:.1f} s", flush=True)

    return phase()


def seed_portal(app, url: str, *, accounts: int, service_accounts: int, usage: int, usage_rows: int,
                days: int = 30, regions: int = 8, departments: int = 8,
                today=None) -> tuple[SeededRealm, dict[str, float]]:
    """One realm at scale: ``service_accounts`` subscribers through the services
    (``seed_load``: plan, cost centres, subscriptions, ``usage`` records per account and month
    through the API's ingest, last month billed, staff, API key), a cost-centre tree of
    ``regions`` × ``departments`` more centres (services), then by COPY the remaining
    accounts (spread over the tree; every 20th outside any centre) with a subscription
    each, and usage rows of those accounts over the last ``days`` days (arrival order, so
    accounts interleave as ingest stores them) until usage_records holds ``usage_rows``;
    usage_records' secondary indexes are dropped for the COPY and built again after it, as
    a bulk loader would. Finally ``rebuild`` computes the daily rollups the reports read.
    Returns the realm and the seconds of each phase."""
    import psycopg

    from app.services.accounts import create_cost_centre
    from app.services.uow import unit_of_work
    from app.services.usage.rollups import rebuild
    from tenants import realm_context

    timings: dict[str, float] = {}
    bulk_accounts = max(accounts - service_accounts, 0)
    with bulk_phase(f"services: realm, plan, {service_accounts:,} subscribers with usage, billing run",
                    timings):
        realm = seed_load(app, realms=1, accounts=service_accounts, usage=usage, today=today)[0]
        with app.app_context(), realm_context(realm.id), unit_of_work():
            leaves = []
            for r in range(regions):
                region = create_cost_centre(code=f"r{r:02d}", name=f"Region {r:02d}", parent_code="hq")
                leaves.append(region.id)
                leaves += [create_cost_centre(code=f"r{r:02d}d{d:02d}", name=f"Department {r:02d}-{d:02d}",
                                              parent_code=region.code).id for d in range(departments)]
    with psycopg.connect(libpq_url(url)) as conn:
        with bulk_phase(f"COPY {bulk_accounts:,} accounts and their subscriptions", timings):
            bulk_ids = _copy_accounts(conn, realm, bulk_accounts, leaves)
        rows = max(usage_rows - realm.usage_records, 0) if bulk_ids else 0
        with bulk_phase(f"COPY {rows:,} usage rows (secondary indexes dropped)", timings):
            indexes = _drop_usage_indexes(conn)
            _copy_usage_rows(conn, realm, bulk_ids, rows, days, today)
        with bulk_phase("build usage_records' indexes again, VACUUM (ANALYZE)", timings):
            _restore_usage_indexes(conn, indexes)
    realm.usage_records += rows
    with bulk_phase("rebuild the daily rollups (realmbill usage rollups rebuild)", timings):
        with app.app_context(), unit_of_work():
            result = rebuild(realm.id)
        with psycopg.connect(libpq_url(url)) as conn:
            _vacuum(conn, "usage_daily", "usage_daily_centres")
    print(f"  rollups: {result.daily_rows:,} account-days, {result.centre_rows:,} cost-centre-days", flush=True)
    return realm, timings


def _copy_accounts(conn, realm: SeededRealm, count: int, centres: list[int]) -> list[int]:
    if not count:
        return []
    now = datetime.now(UTC)
    with conn.cursor() as cur:
        cur.execute("SELECT plan_version_id FROM subscriptions WHERE realm_id = %s ORDER BY id LIMIT 1",
                    (realm.id,))
        version = cur.fetchone()[0]
        with cur.copy("COPY accounts (realm_id, number, username, name, status, cost_centre_id, created_at) "
                      "FROM STDIN") as copy:
            for i in range(count):
                centre = None if i % 20 == 19 else centres[i % len(centres)]
                copy.write_row((realm.id, f"B{i:07d}", f"bulk{i}", f"Bulk {i}", "active", centre, now))
        cur.execute("SELECT id FROM accounts WHERE realm_id = %s AND number LIKE 'B%%' ORDER BY id", (realm.id,))
        ids = [row[0] for row in cur.fetchall()]
        with cur.copy("COPY subscriptions (realm_id, account_id, plan_version_id, status, starts_on, anchor_day, "
                      "kind, created_at) FROM STDIN") as copy:
            for account_id in ids:
                copy.write_row((realm.id, account_id, version, "active", "2026-01-01", 1, "recurring", now))
    conn.commit()
    return ids


def _drop_usage_indexes(conn) -> list[str]:
    """Drop usage_records' indexes and unique constraints except the primary key; return the
    statements that build them again."""
    with conn.cursor() as cur:
        cur.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = 'usage_records'::regclass AND contype = 'u'")
        constraints = cur.fetchall()
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'usage_records' "
                    "AND indexname NOT IN (SELECT conname FROM pg_constraint "
                    "WHERE conrelid = 'usage_records'::regclass)")
        indexes = cur.fetchall()
        restore = [f'ALTER TABLE usage_records ADD CONSTRAINT "{name}" {definition}'
                   for name, definition in constraints] + [definition for _, definition in indexes]
        for name, _ in constraints:
            cur.execute(f'ALTER TABLE usage_records DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
    conn.commit()
    return restore


def _restore_usage_indexes(conn, statements: list[str]) -> None:
    with conn.cursor() as cur:
        cur.execute("SET maintenance_work_mem = '512MB'")
        for statement in statements:
            cur.execute(statement)
        conn.commit()
    _vacuum(conn, "usage_records", "accounts", "subscriptions")


def _vacuum(conn, *tables: str) -> None:
    """VACUUM (ANALYZE) bulk-loaded tables, as a bulk loader does after its load: without it,
    autovacuum's insert threshold starts a VACUUM of millions of fresh rows during the
    measurement (competing for the two cores), and index-only scans visit the heap until the
    visibility map is set, neither of which a table in steady state sees."""
    autocommit = conn.autocommit
    conn.autocommit = True  # VACUUM cannot run inside a transaction block
    try:
        for table in tables:
            conn.execute(f"VACUUM (ANALYZE) {table}")
    finally:
        conn.autocommit = autocommit


def _copy_usage_rows(conn, realm: SeededRealm, account_ids: list[int], rows: int, days: int, today) -> None:
    """``rows`` usage rows in arrival order over the last ``days`` days up to now: account
    ``n·φ mod N`` for row n (accounts interleave), traffic and time varying per row."""
    if not rows:
        return
    end = datetime.now(UTC).replace(microsecond=0)
    if today is not None:
        end = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
    first = int(end.timestamp()) - days * 86400
    span = days * 86400
    count = len(account_ids)
    names = [f"bulk{i}" for i in range(count)]
    prefix = f"{realm.id}\t"
    stamp_second, stamp = -1, ""
    chunk: list[str] = []
    with conn.cursor() as cur:
        with cur.copy("COPY usage_records (realm_id, account_id, source, source_record_id, status, username, "
                      "event_time, start, duration_s, bytes_in, bytes_out) FROM STDIN") as copy:
            for n in range(rows):
                second = first + n * span // rows
                if second != stamp_second:
                    stamp_second = second
                    stamp = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%d %H:%M:%S+00")
                a = n * 2654435761 % count
                duration = 60 + n % 600
                chunk.append(f"{prefix}{account_ids[a]}\tcdr\tbulk-{n:09d}\tcdr\t{names[a]}\t{stamp}\t{stamp}\t"
                             f"{duration}\t{1000 * (n % 5000)}\t{100 * (n % 700)}\n")
                if len(chunk) == 50_000:
                    copy.write("".join(chunk))
                    chunk.clear()
            if chunk:
                copy.write("".join(chunk))
    conn.commit()
