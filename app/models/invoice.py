"""Invoices, their lines, per-realm numbering, and billing runs.

An invoice is built as a draft, then *finalized*: it gets the next number of its realm's
counter (a row locked in the finalizing transaction, so numbers are gapless and in order
under concurrency) and is immutable from then on; corrections are credit notes that point
at it. ``period_key`` makes a billing run idempotent: one invoice per account and period.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from tenants.scoping import RealmScoped

from .base import Timestamped
from .types import ExactDecimal, UTCDateTime

INVOICE_STATUSES = ("draft", "finalized", "void")
INVOICE_KINDS = ("invoice", "credit_note")


class InvoiceCounter(RealmScoped, db.Model):
    __tablename__ = "invoice_counters"
    __table_args__ = (UniqueConstraint("realm_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class BillingRun(RealmScoped, Timestamped, db.Model):
    __tablename__ = "billing_runs"
    __table_args__ = (UniqueConstraint("realm_id", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="running")
    total_accounts: Mapped[int] = mapped_column(Integer, default=0)
    done_accounts: Mapped[int] = mapped_column(Integer, default=0)
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Invoice(RealmScoped, Timestamped, db.Model):
    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("realm_id", "number"),
        UniqueConstraint("realm_id", "account_id", "period_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="invoice")
    status: Mapped[str] = mapped_column(String(20), default="draft")
    number: Mapped[str | None] = mapped_column(String(40))
    sequence: Mapped[int | None] = mapped_column(Integer)
    # "YYYY-MM-DD" of the period for run invoices (one per account and period); NULL otherwise.
    period_key: Mapped[str | None] = mapped_column(String(10))
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    issue_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[Decimal] = mapped_column(ExactDecimal(scale=4), default=Decimal(0))
    tax_total: Mapped[Decimal] = mapped_column(ExactDecimal(scale=4), default=Decimal(0))
    total: Mapped[Decimal] = mapped_column(ExactDecimal(scale=4), default=Decimal(0))
    credited_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="RESTRICT"))
    billing_run_id: Mapped[int | None] = mapped_column(ForeignKey("billing_runs.id", ondelete="SET NULL"), index=True)
    seller_tax_id: Mapped[str | None] = mapped_column(String(40))
    buyer_tax_id: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[str | None] = mapped_column(Text)
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    # Billing terms (0007): the tax applied, reverse charge, voiding.
    tax_rate: Mapped[Decimal | None] = mapped_column(ExactDecimal(scale=4))
    prices_include_tax: Mapped[bool] = mapped_column(Boolean, default=False)
    reverse_charge: Mapped[bool] = mapped_column(Boolean, default=False)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    void_reason: Mapped[str | None] = mapped_column(Text)

    lines: Mapped[list[InvoiceLine]] = relationship(order_by="InvoiceLine.position", cascade="all, delete-orphan")
    account: Mapped[Account] = relationship()  # noqa: F821


class InvoiceLine(RealmScoped, db.Model):
    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    quantity: Mapped[Decimal | None] = mapped_column(ExactDecimal(scale=6))
    unit: Mapped[str | None] = mapped_column(String(20))
    unit_price: Mapped[Decimal | None] = mapped_column(ExactDecimal(scale=6))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal(scale=4))
