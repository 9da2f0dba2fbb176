"""Invoices, their lines, per-realm numbering, and billing runs.

An invoice is built as a draft, then *finalized*: it gets the next number of its realm's
counter (a row locked in the finalizing transaction, so numbers are gapless and in order
under concurrency) and is immutable from then on; corrections are credit notes that point
at it. ``period_key`` makes a billing run idempotent: one invoice per account and period.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

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


# ------------------------------------------------------------------ immutability
# Once finalized, an invoice only changes by being voided (status, voided_at, void_reason)
# or by getting its document's hash recorded once; its lines never change. Corrections are
# credit notes. Bulk paths (Core inserts/updates) go through app/services/billing, which
# never updates a finalized invoice.
MUTABLE_AFTER_FINALIZING = frozenset({"status", "voided_at", "void_reason", "pdf_sha256"})


class FinalizedInvoiceError(RuntimeError):
    """A finalized invoice (or one of its lines) was about to be changed or deleted."""


FINALIZING = "realmbill_finalizing_invoices"


def finalizing(session: Session, invoice_ids) -> None:
    """Mark invoices finalized in this transaction: until it commits, their writer may still
    annotate them (e.g. notes); once committed they are immutable."""
    session.info.setdefault(FINALIZING, set()).update(invoice_ids)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_finalizing(session: Session, *args) -> None:
    session.info.pop(FINALIZING, None)


@event.listens_for(Session, "before_flush")
def _guard_finalized_invoices(session: Session, flush_context, instances) -> None:
    fresh = session.info.get(FINALIZING, ())
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Invoice) and obj.id in fresh and obj not in session.deleted:
            continue
        if isinstance(obj, Invoice):
            _check_invoice(obj, deleted=obj in session.deleted)
        elif isinstance(obj, InvoiceLine):
            invoice = session.get(Invoice, obj.invoice_id) if obj.invoice_id else None
            if invoice is not None and _was_finalized(invoice):
                raise FinalizedInvoiceError(f"invoice {invoice.number}: lines of a finalized invoice are final")
    for obj in session.new:
        if isinstance(obj, InvoiceLine) and obj.invoice_id:
            invoice = session.get(Invoice, obj.invoice_id)
            if invoice is not None and _was_finalized(invoice):
                raise FinalizedInvoiceError(f"invoice {invoice.number}: no lines can be added once finalized")


def _was_finalized(invoice: Invoice) -> bool:
    history = inspect(invoice).attrs.status.history
    before = history.deleted[0] if history.deleted else invoice.status
    return before in ("finalized", "void")


def _check_invoice(invoice: Invoice, *, deleted: bool) -> None:
    if not _was_finalized(invoice):
        return
    if deleted:
        raise FinalizedInvoiceError(f"invoice {invoice.number} is finalized and cannot be deleted")
    state = inspect(invoice)
    for attr in state.attrs:
        if attr.key in MUTABLE_AFTER_FINALIZING or not attr.history.has_changes():
            continue
        if attr.key == "lines":
            raise FinalizedInvoiceError(f"invoice {invoice.number}: lines of a finalized invoice are final")
        if hasattr(Invoice, attr.key) and attr.key in Invoice.__table__.columns:
            raise FinalizedInvoiceError(f"invoice {invoice.number} is finalized: {attr.key} cannot change")
    status = state.attrs.status.history
    if status.has_changes():
        if (status.deleted[0] if status.deleted else None) == "void":
            raise FinalizedInvoiceError(f"invoice {invoice.number} is void")
        if invoice.status != "void":
            raise FinalizedInvoiceError(f"invoice {invoice.number} is finalized: it can only be voided")
    pdf = state.attrs.pdf_sha256.history
    if pdf.has_changes() and pdf.deleted and pdf.deleted[0] is not None:
        raise FinalizedInvoiceError(f"invoice {invoice.number}: its document is recorded already")
