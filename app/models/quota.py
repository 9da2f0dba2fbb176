"""Quota pools: units (traffic, time) shared by an account, a cost centre or a whole realm.

An account draws usage from its pools in cascade order (its own pools, then its cost
centre's and the centres above it, then the realm's); what no pool covers is rated by the
plan's bands. A pool's balance is kept per period in ``quota_balances``, the row that is
locked while usage is drawn, so concurrent ingestion never over- or under-counts.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from tenants.scoping import RealmScoped

from .base import Timestamped
from .types import ExactDecimal

POOL_SCOPES = ("account", "cost_centre", "realm")


class QuotaPool(RealmScoped, Timestamped, db.Model):
    __tablename__ = "quota_pools"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    cost_centre_id: Mapped[int | None] = mapped_column(
        ForeignKey("cost_centres.id", ondelete="CASCADE"), index=True
    )
    unit: Mapped[str] = mapped_column(String(20))
    size: Mapped[Decimal] = mapped_column(ExactDecimal(scale=6))
    anchor: Mapped[date] = mapped_column(Date)
    period: Mapped[str] = mapped_column(String(20), default="monthly")
    carry_over: Mapped[str] = mapped_column(String(10), default="none")
    carry_cap: Mapped[Decimal | None] = mapped_column(ExactDecimal(scale=6))
    # Threshold percentages of this pool ("50,90"); empty: the drawing accounts' plans'
    # (app/services/enforcement.py, migration 0013).
    thresholds: Mapped[str | None] = mapped_column(String(40))

    balances: Mapped[list[QuotaBalance]] = relationship(back_populates="pool", order_by="QuotaBalance.period_start")


class QuotaBalance(RealmScoped, db.Model):
    """One pool's units in one period: opening (size + carried), top-ups, and use."""

    __tablename__ = "quota_balances"
    __table_args__ = (UniqueConstraint("pool_id", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("quota_pools.id", ondelete="CASCADE"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    opening: Mapped[Decimal] = mapped_column(ExactDecimal(scale=6))
    topped_up: Mapped[Decimal] = mapped_column(ExactDecimal(scale=6), default=Decimal(0))
    used: Mapped[Decimal] = mapped_column(ExactDecimal(scale=6), default=Decimal(0))

    pool: Mapped[QuotaPool] = relationship(back_populates="balances")

    @property
    def remaining(self) -> Decimal:
        return self.opening + self.topped_up - self.used


class QuotaDraw(RealmScoped, db.Model):
    """How much of an account's usage a pool absorbed in a period (summed per account)."""

    __tablename__ = "quota_draws"
    __table_args__ = (UniqueConstraint("balance_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    balance_id: Mapped[int] = mapped_column(ForeignKey("quota_balances.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal(scale=6), default=Decimal(0))
    records: Mapped[int] = mapped_column(Integer, default=0)
