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
    """Date, CPU count, load and Python of this run, for the figures."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
            f"load {load:.1f}, Python {platform.python_version()}")


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
