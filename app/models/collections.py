"""Collections (dunning): a realm's rules for overdue invoices and the steps taken.

``DunningStep`` is the idempotency record of the dunning job: one row per invoice and
step (``reminder-7``, ``final``, ``penalty``, ``suspend``), inserted with ON CONFLICT DO
NOTHING before the step's side effect, so a step happens once per invoice however often
the job runs and however many workers run it at once.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from tenants.scoping import RealmScoped

from .base import Timestamped
from .types import ExactDecimal, UTCDateTime

PENALTY_KINDS = ("none", "fixed", "percent")


class CollectionPolicy(RealmScoped, db.Model):
    """One row per realm; a realm without a row uses the defaults of the service."""

    __tablename__ = "collection_policies"
    __table_args__ = (UniqueConstraint("realm_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    grace_days: Mapped[int] = mapped_column(Integer, default=3)
    # Days overdue at which reminders go out, e.g. "7,14".
    reminder_days: Mapped[str] = mapped_column(String(100), default="7,14")
    final_warning_days: Mapped[int | None] = mapped_column(Integer, default=21)
    penalty_kind: Mapped[str] = mapped_column(String(10), default="none")
    penalty_amount: Mapped[Decimal] = mapped_column(ExactDecimal(scale=4), default=Decimal(0))
    penalty_days: Mapped[int | None] = mapped_column(Integer, default=30)
    suspend_days: Mapped[int | None] = mapped_column(Integer, default=30)
    # Whether suspended accounts still get recurring invoices (billing checks this).
    bill_suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DunningStep(RealmScoped, Timestamped, db.Model):
    __tablename__ = "dunning_steps"
    __table_args__ = (UniqueConstraint("invoice_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(20))
    days_overdue: Mapped[int] = mapped_column(Integer)
    # For "suspend": set when the account was resumed because it paid.
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
