"""Daily usage rollups: what reports and charts read instead of scanning usage_records.

Ingest appends one *delta* row per (account, UTC day, unit) and batch to
``usage_rollup_deltas`` (insert-only: no row locks, so a long file import never blocks the
RADIUS listener); a frequent job folds the deltas into ``usage_daily`` (per account) and
``usage_daily_centres`` (per cost centre, the account's centre at fold time) in one
transaction. Readers add the deltas not folded yet, so figures are exact at any moment.
``unit`` is ``""`` for network/time usage (bytes, seconds) and the record's unit
(``SMS``, ``kWh``) otherwise; days are UTC days, as in the usage summary and billing.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from tenants.scoping import RealmScoped

from .types import ExactDecimal

NO_CENTRE = 0  # usage_daily_centres.cost_centre_id of accounts outside any cost centre


class _Sums:
    records: Mapped[int] = mapped_column(BigInteger, default=0)
    duration_s: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_in: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_out: Mapped[int] = mapped_column(BigInteger, default=0)
    quantity: Mapped[Decimal | None] = mapped_column(ExactDecimal(scale=6))


class UsageDaily(RealmScoped, _Sums, db.Model):
    __tablename__ = "usage_daily"
    __table_args__ = (Index("ix_usage_daily_realm_day", "realm_id", "day"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    unit: Mapped[str] = mapped_column(String(20), primary_key=True, default="")


class UsageDailyCentre(RealmScoped, _Sums, db.Model):
    __tablename__ = "usage_daily_centres"
    # The realm is part of the key (as in migration 0017): NO_CENTRE rows of every realm.
    __table_args__ = (PrimaryKeyConstraint("realm_id", "cost_centre_id", "day", "unit"),)

    # Not a foreign key: NO_CENTRE (0) stands for "no cost centre"; cost centres with
    # accounts cannot be deleted (RESTRICT), so ids here stay meaningful.
    cost_centre_id: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)
    unit: Mapped[str] = mapped_column(String(20), default="")


class UsageRollupDelta(_Sums, db.Model):
    """Not realm-scoped by the mixin on purpose: no foreign key or index to maintain on
    the ingest hot path; only app/services/usage/rollups.py reads it, by realm."""

    __tablename__ = "usage_rollup_deltas"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    realm_id: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)
    unit: Mapped[str] = mapped_column(String(20), default="")
