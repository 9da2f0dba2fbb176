"""Usage: rated events, accounting sessions (for IP attribution), imports and rejects.

``usage_records`` is the hot table: written in bulk (COPY on PostgreSQL, executemany on
SQLite) by app/services/usage, never one ORM object per record. A unique
(source, source_record_id) makes ingestion idempotent: a record seen twice is stored once.
Counters are per-record deltas (bytes, seconds); ``quantity``/``unit`` carry non-network
usage (messages, kWh).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from tenants.scoping import RealmScoped

from .base import Timestamped
from .types import ExactDecimal, UTCDateTime


class UsageImport(RealmScoped, Timestamped, db.Model):
    """One ingestion batch: a file, an API call or a run of the RADIUS listener."""

    __tablename__ = "usage_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str | None] = mapped_column(String(64))
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="running")
    # The CSV header of a CDR file, so a corrected reject can be parsed again.
    header: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class UsageRecord(RealmScoped, db.Model):
    """A bulk fact table: no foreign keys (each costs a check per inserted row).

    Integrity without them (migration 0018): the writer locks a batch's accounts
    ``FOR KEY SHARE`` once (what an FK check does per row), and AFTER DELETE triggers on
    accounts, realms and usage_imports do what ON DELETE CASCADE / SET NULL did.
    """

    __tablename__ = "usage_records"
    __table_args__ = (
        UniqueConstraint("source", "source_record_id"),
        Index("ix_usage_records_account_time", "account_id", "event_time"),
        # New rows are never invoiced yet: a partial index leaves them out.
        Index("ix_usage_records_invoice_id", "invoice_id",
              postgresql_where=text("invoice_id IS NOT NULL"), sqlite_where=text("invoice_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # No index: every realm-filtered query also names accounts or adds up a whole period.
    realm_id: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[int] = mapped_column(Integer)
    import_id: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(10))
    source_record_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    session_key: Mapped[str | None] = mapped_column(String(200))
    username: Mapped[str | None] = mapped_column(String(200))
    ip: Mapped[str | None] = mapped_column(String(45))
    nas: Mapped[str | None] = mapped_column(String(100))
    event_time: Mapped[datetime] = mapped_column(UTCDateTime())
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_s: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_in: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_out: Mapped[int] = mapped_column(BigInteger, default=0)
    quantity: Mapped[Decimal | None] = mapped_column(ExactDecimal(scale=6))
    unit: Mapped[str | None] = mapped_column(String(20))
    destination: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)
    # Set when the record is rated onto an invoice; late records are rated into the next one.
    invoice_id: Mapped[int | None] = mapped_column(Integer)


class RadiusSession(RealmScoped, db.Model):
    """An accounting session: who held which IP when, and its counters so far.

    The counters are the corrected cumulative totals (app/mediation/counters.py), so each
    new interim update becomes a delta against the stored state, in any process.
    """

    __tablename__ = "radius_sessions"
    __table_args__ = (
        UniqueConstraint("session_key"),
        Index("ix_radius_sessions_ip_time", "framed_ip", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_key: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    nas: Mapped[str | None] = mapped_column(String(100))
    session_id: Mapped[str | None] = mapped_column(String(100))
    framed_ip: Mapped[str | None] = mapped_column(String(45))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_event_at: Mapped[datetime] = mapped_column(UTCDateTime())
    total_in: Mapped[int] = mapped_column(BigInteger, default=0)
    total_out: Mapped[int] = mapped_column(BigInteger, default=0)
    total_time: Mapped[int] = mapped_column(BigInteger, default=0)

    account: Mapped[Account] = relationship()  # noqa: F821


class UsageReject(RealmScoped, Timestamped, db.Model):
    """A record that could not be read or attributed, kept with where and why.

    ``fingerprint`` (file, line, raw text) makes replaying a file add no second reject.
    """

    __tablename__ = "usage_rejects"
    __table_args__ = (UniqueConstraint("realm_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("usage_imports.id", ondelete="SET NULL"), index=True)
    source: Mapped[str] = mapped_column(String(10))
    file: Mapped[str | None] = mapped_column(String(300))
    line: Mapped[int | None] = mapped_column(Integer)
    field: Mapped[str | None] = mapped_column(String(60))
    code: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64))
    # A record that was read but not attributed, as JSON, to be ingested again after a fix.
    payload: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open")
