"""Billing terms: pending charges, tax rates, discounts and the realm's invoice tax settings.

A ``Charge`` is a one-time amount waiting for the account's next invoice (a penalty, a
top-up, a credit, a proration from a plan change); the invoice that carries it is recorded
on it, so it is billed exactly once. ``source_key`` makes adding a charge idempotent.

Taxes: ``TaxSettings`` (one row per realm) say whether plan prices include tax, how tax is
rounded and the seller's country; ``TaxRate`` rows are valid between dates (the rate in
force on the invoice's issue date applies). ``BuyerTaxProfile`` holds the buyer's country
and reverse-charge flag. ``Discount`` rows take a percentage or a fixed amount off an
invoice or off lines of one kind, for one account, one plan, or everybody, between dates.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from tenants.scoping import RealmScoped

from .base import Timestamped
from .types import ExactDecimal

CHARGE_KINDS = ("one_time", "penalty", "topup", "credit", "proration")
CHARGE_STATUSES = ("pending", "billed", "cancelled")
DISCOUNT_KINDS = ("percent", "fixed")
DISCOUNT_SCOPES = ("invoice", "line")
TAX_ROUNDING = ("invoice", "line")


class Charge(RealmScoped, Timestamped, db.Model):
    """A pending one-time charge (or credit, negative) billed on the account's next invoice."""

    __tablename__ = "charges"
    __table_args__ = (UniqueConstraint("realm_id", "source_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="one_time")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    description: Mapped[str] = mapped_column(Text)
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal(scale=6), default=Decimal(1))
    unit: Mapped[str | None] = mapped_column(String(20))
    unit_price: Mapped[Decimal | None] = mapped_column(ExactDecimal(scale=6))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal(scale=4))
    currency: Mapped[str] = mapped_column(String(3))
    # Not billed on an invoice before this day (e.g. a proration dated at a plan change).
    charge_on: Mapped[date] = mapped_column(Date)
    source_key: Mapped[str | None] = mapped_column(String(120))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="SET NULL"), index=True)


class TaxSettings(RealmScoped, db.Model):
    """How a realm taxes its invoices (one row per realm; defaults when missing)."""

    __tablename__ = "tax_settings"
    __table_args__ = (UniqueConstraint("realm_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str | None] = mapped_column(String(2))
    prices_include_tax: Mapped[bool] = mapped_column(Boolean, default=False)
    # "invoice": tax of the net total, rounded once; "line": rounded per line, then summed.
    tax_rounding: Mapped[str] = mapped_column(String(10), default="invoice")
    # decimal rounding mode name (ROUND_HALF_UP, ROUND_HALF_EVEN, ...)
    rounding_mode: Mapped[str] = mapped_column(String(20), default="ROUND_HALF_UP")
    reverse_charge_note: Mapped[str | None] = mapped_column(Text)


class TaxRate(RealmScoped, Timestamped, db.Model):
    """A tax rate (percent) valid from a day until (exclusive) another, or open-ended."""

    __tablename__ = "tax_rates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    rate: Mapped[Decimal] = mapped_column(ExactDecimal(scale=4))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)


class BuyerTaxProfile(RealmScoped, db.Model):
    """An account's tax situation: country and an explicit reverse-charge flag."""

    __tablename__ = "buyer_tax_profiles"
    __table_args__ = (UniqueConstraint("realm_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    country: Mapped[str | None] = mapped_column(String(2))
    reverse_charge: Mapped[bool] = mapped_column(Boolean, default=False)


class Discount(RealmScoped, Timestamped, db.Model):
    """A percentage or fixed amount off an invoice or off its lines of one kind."""

    __tablename__ = "discounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10), default="percent")
    value: Mapped[Decimal] = mapped_column(ExactDecimal(scale=4))
    scope: Mapped[str] = mapped_column(String(10), default="invoice")
    # For scope "line": which line kind it reduces (recurring, usage, ...); NULL = every line.
    line_kind: Mapped[str | None] = mapped_column(String(20))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

