"""Wholesale: a parent realm bills each VISP realm below it, per period.

A ``WholesaleAgreement`` (a row of the parent realm) names the parent's plan a VISP realm
is billed under. Each period's aggregation of the child realm (active subscribers, traffic,
time, retail invoices) is kept as a ``WholesaleStatement`` with one line per child account
(the drill-down), and points at the invoice it produced for the VISP owner's account in
the parent realm. ``(child realm, period)`` is unique: billing a period twice writes
nothing the second time.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from tenants.scoping import RealmScoped

from .base import Timestamped
from .types import ExactDecimal


class WholesaleAgreement(RealmScoped, Timestamped, db.Model):
    """The parent realm's plan a child (VISP) realm is billed under."""

    __tablename__ = "wholesale_agreements"
    __table_args__ = (UniqueConstraint("child_realm_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    child_realm_id: Mapped[int] = mapped_column(ForeignKey("realms.id", ondelete="CASCADE"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="RESTRICT"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    plan: Mapped[Plan] = relationship()  # noqa: F821
    child_realm: Mapped[Realm] = relationship(foreign_keys=[child_realm_id])  # noqa: F821


class WholesaleStatement(RealmScoped, Timestamped, db.Model):
    """One child realm's aggregated period, and the wholesale invoice it produced."""

    __tablename__ = "wholesale_statements"
    __table_args__ = (UniqueConstraint("child_realm_id", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    child_realm_id: Mapped[int] = mapped_column(ForeignKey("realms.id", ondelete="CASCADE"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    plan_version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id", ondelete="RESTRICT"))
    owner_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="SET NULL"))
    active_subscribers: Mapped[int] = mapped_column(Integer, default=0)
    traffic_mb: Mapped[Decimal] = mapped_column(ExactDecimal(scale=6), default=Decimal(0))
    time_hours: Mapped[Decimal] = mapped_column(ExactDecimal(scale=6), default=Decimal(0))
    # What the VISP billed its own subscribers for the period (its currency), for reference.
    retail_total: Mapped[Decimal] = mapped_column(ExactDecimal(scale=4), default=Decimal(0))
    retail_currency: Mapped[str] = mapped_column(String(3))
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(ExactDecimal(scale=4), default=Decimal(0))

    child_realm: Mapped[Realm] = relationship(foreign_keys=[child_realm_id])  # noqa: F821
    invoice: Mapped[Invoice | None] = relationship()  # noqa: F821
    lines: Mapped[list[WholesaleStatementLine]] = relationship(
        order_by="WholesaleStatementLine.position", cascade="all, delete-orphan"
    )


class WholesaleStatementLine(RealmScoped, db.Model):
    """One account of the child realm in a statement (a snapshot, for the drill-down)."""

    __tablename__ = "wholesale_statement_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(
        ForeignKey("wholesale_statements.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    # The child realm's account (not a foreign key: the snapshot outlives the account).
    account_id: Mapped[int] = mapped_column(Integer)
    account_number: Mapped[str] = mapped_column(String(30))
    username: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    traffic_mb: Mapped[Decimal] = mapped_column(ExactDecimal(scale=6), default=Decimal(0))
    time_hours: Mapped[Decimal] = mapped_column(ExactDecimal(scale=6), default=Decimal(0))
    retail_total: Mapped[Decimal] = mapped_column(ExactDecimal(scale=4), default=Decimal(0))
