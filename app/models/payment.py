"""Payments: gateways per realm, stored payment methods, payments and their allocation to
invoices, refunds, charge retries, webhook deliveries, bank statements and top-ups.

A payment is money received (or being collected) through a gateway. Its
``idempotency_key`` is unique per realm, so asking twice for the same charge (a job rerun,
a double click, a webhook delivered five times) finds the first row instead of charging
again. What a payment paid is kept in ``payment_allocations`` (one row per invoice,
negative rows reverse part of it after a refund); what is not allocated is the account's
credit balance, used on the next invoices.
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

# pending (asked, no answer yet) → succeeded | failed; succeeded → (partially_)refunded
PAYMENT_STATUSES = ("pending", "succeeded", "failed", "partially_refunded", "refunded")
PAYMENT_METHODS = ("card", "cash", "cheque", "bank_transfer", "other")
RETRY_STATUSES = ("scheduled", "succeeded", "exhausted", "cancelled")
TOPUP_KINDS = ("quota", "credit")


class PaymentSettings(RealmScoped, db.Model):
    """Per-realm payment rules: the retry schedule of declined automatic charges."""

    __tablename__ = "payment_settings"
    __table_args__ = (UniqueConstraint("realm_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Days after the first decline on which the charge is tried again, e.g. "1,3,7".
    retry_days: Mapped[str] = mapped_column(String(60), default="1,3,7")
    auto_charge: Mapped[bool] = mapped_column(Boolean, default=True)
    receipt_prefix: Mapped[str] = mapped_column(String(20), default="RCT-")


class PaymentGateway(RealmScoped, Timestamped, db.Model):
    """A gateway plugin enabled for a realm; its settings are one encrypted JSON object."""

    __tablename__ = "payment_gateways"
    __table_args__ = (UniqueConstraint("realm_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    settings_enc: Mapped[str | None] = mapped_column(Text)


class PaymentMethod(RealmScoped, Timestamped, db.Model):
    """A gateway token for an account's card or mandate; never a card number or CVC."""

    __tablename__ = "payment_methods"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    gateway: Mapped[str] = mapped_column(String(40))
    token: Mapped[str] = mapped_column(String(255))
    customer_ref: Mapped[str | None] = mapped_column(String(255))
    brand: Mapped[str | None] = mapped_column(String(20))
    last4: Mapped[str | None] = mapped_column(String(4))
    exp_month: Mapped[int | None] = mapped_column(Integer)
    exp_year: Mapped[int | None] = mapped_column(Integer)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def label(self) -> str:
        brand = (self.brand or self.gateway).title()
        return f"{brand} •••• {self.last4}" if self.last4 else brand


class Payment(RealmScoped, Timestamped, db.Model):
    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("realm_id", "idempotency_key"),
        UniqueConstraint("realm_id", "gateway", "external_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), index=True)
    gateway: Mapped[str] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(20), default="card")
    purpose: Mapped[str] = mapped_column(String(20), default="invoice")
    payment_method_id: Mapped[int | None] = mapped_column(
        ForeignKey("payment_methods.id", ondelete="SET NULL"), index=True
    )
    # The invoice the payer chose (NULL: oldest open invoices first).
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="SET NULL"), index=True)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal(scale=4))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    idempotency_key: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(255))
    reference: Mapped[str | None] = mapped_column(String(200))
    refunded_amount: Mapped[Decimal] = mapped_column(ExactDecimal(scale=4), default=Decimal(0))
    failure_code: Mapped[str | None] = mapped_column(String(60))
    failure_message: Mapped[str | None] = mapped_column(String(255))
    retryable: Mapped[bool] = mapped_column(Boolean, default=False)
    receipt_number: Mapped[str | None] = mapped_column(String(40))
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str | None] = mapped_column(String(254))
    notes: Mapped[str | None] = mapped_column(Text)

    account: Mapped[Account] = relationship()  # noqa: F821
    allocations: Mapped[list[PaymentAllocation]] = relationship(
        back_populates="payment", order_by="PaymentAllocation.id"
    )
    refunds: Mapped[list[Refund]] = relationship(back_populates="payment", order_by="Refund.id")

    @property
    def net_amount(self) -> Decimal:
        return self.amount - self.refunded_amount


class PaymentAllocation(RealmScoped, Timestamped, db.Model):
    """Part of a payment applied to an invoice (negative: reversed after a refund)."""

    __tablename__ = "payment_allocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="RESTRICT"), index=True)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal(scale=4))

    payment: Mapped[Payment] = relationship(back_populates="allocations")
    invoice: Mapped[Invoice] = relationship()  # noqa: F821


class Refund(RealmScoped, Timestamped, db.Model):
    __tablename__ = "refunds"
    __table_args__ = (UniqueConstraint("realm_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal(scale=4))
    status: Mapped[str] = mapped_column(String(20), default="succeeded")
    idempotency_key: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(String(255))
    created_by: Mapped[str | None] = mapped_column(String(254))

    payment: Mapped[Payment] = relationship(back_populates="refunds")


class ChargeRetry(RealmScoped, Timestamped, db.Model):
    """The retry schedule of an invoice whose automatic charge was declined."""

    __tablename__ = "charge_retries"
    __table_args__ = (UniqueConstraint("realm_id", "invoice_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    first_failed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    last_error: Mapped[str | None] = mapped_column(String(255))


class WebhookDelivery(RealmScoped, db.Model):
    """A gateway event we processed (one row per event id: redeliveries are no-ops)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("realm_id", "gateway", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    gateway: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BankStatementImport(RealmScoped, Timestamped, db.Model):
    __tablename__ = "bank_statement_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    line_count: Mapped[int] = mapped_column(Integer, default=0)
    matched: Mapped[int] = mapped_column(Integer, default=0)
    unmatched: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    ignored: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str | None] = mapped_column(String(254))

    lines: Mapped[list[BankStatementLine]] = relationship(order_by="BankStatementLine.line_no")


class BankStatementLine(RealmScoped, db.Model):
    """One credit of a bank statement; the bank's transaction id makes re-imports no-ops."""

    __tablename__ = "bank_statement_lines"
    __table_args__ = (UniqueConstraint("realm_id", "bank_transaction_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("bank_statement_imports.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    bank_transaction_id: Mapped[str] = mapped_column(String(100))
    booked_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal(scale=4))
    currency: Mapped[str] = mapped_column(String(3))
    reference: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="SET NULL"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="SET NULL"))


class TopupProduct(RealmScoped, Timestamped, db.Model):
    """What subscribers can buy online: extra quota (e.g. 10 GB) or prepaid credit."""

    __tablename__ = "topup_products"
    __table_args__ = (UniqueConstraint("realm_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str | None] = mapped_column(String(20))
    quantity: Mapped[Decimal | None] = mapped_column(ExactDecimal(scale=6))
    price: Mapped[Decimal] = mapped_column(ExactDecimal(scale=4))
    currency: Mapped[str] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class TopupOrder(RealmScoped, Timestamped, db.Model):
    __tablename__ = "topup_orders"
    __table_args__ = (UniqueConstraint("realm_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("topup_products.id", ondelete="RESTRICT"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str | None] = mapped_column(String(20))
    quantity: Mapped[Decimal | None] = mapped_column(ExactDecimal(scale=6))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal(scale=4))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="SET NULL"), index=True)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    product: Mapped[TopupProduct] = relationship()
