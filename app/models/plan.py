"""Plans (tariffs), grouped in bundles, with versioned prices.

A plan's fees, bands and quotas live on a ``PlanVersion``: changing the price of a plan in
use adds a version effective from a date, and subscribers keep the version they signed up
to (grandfathering) until moved.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from tenants.scoping import RealmScoped

from .base import Timestamped
from .types import ExactDecimal

FEE_KINDS = ("setup", "recurring", "one_time")
FEE_PERIODS = ("monthly", "quarterly", "annual", "days")


class Bundle(RealmScoped, db.Model):
    """A product grouping plans (e.g. "Home broadband")."""

    __tablename__ = "bundles"
    __table_args__ = (UniqueConstraint("realm_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))


class Plan(RealmScoped, Timestamped, db.Model):
    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("realm_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    bundle_id: Mapped[int | None] = mapped_column(ForeignKey("bundles.id", ondelete="SET NULL"))
    # Service processing (app/models/provisioning.py): the module that provides the plan's
    # service, and either an account template name or resources passed to it.
    processing_module_id: Mapped[int | None] = mapped_column(
        ForeignKey("processing_modules.id", ondelete="SET NULL"), index=True
    )
    account_template: Mapped[str | None] = mapped_column(String(100))
    resources: Mapped[dict | None] = mapped_column(JSON)
    # Quota enforcement (app/services/enforcement.py, migration 0013): what happens when the
    # account's pools run out (overage | shape | suspend), the normal and shaped rate limits
    # ("up/down", e.g. "10M/10M"), threshold percentages and the pool cascade order.
    quota_policy: Mapped[str] = mapped_column(String(10), default="overage", server_default="overage")
    quota_thresholds: Mapped[str] = mapped_column(String(40), default="80,100", server_default="80,100")
    quota_cascade: Mapped[str | None] = mapped_column(String(100))
    rate_limit: Mapped[str | None] = mapped_column(String(64))
    shaped_rate_limit: Mapped[str | None] = mapped_column(String(64))

    bundle: Mapped[Bundle | None] = relationship()
    versions: Mapped[list[PlanVersion]] = relationship(
        back_populates="plan", order_by="PlanVersion.number", cascade="all, delete-orphan"
    )

    def version_on(self, day: date) -> PlanVersion | None:
        """The version in force on ``day`` (the latest one effective by then)."""
        current = None
        for version in self.versions:
            if version.effective_from <= day:
                current = version
        return current

    @property
    def latest_version(self) -> PlanVersion | None:
        return self.versions[-1] if self.versions else None


class PlanVersion(RealmScoped, Timestamped, db.Model):
    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("plan_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer, default=1)
    effective_from: Mapped[date] = mapped_column(Date)
    # Extra count units the plan declares (plan file `units:`), comma-separated.
    custom_units: Mapped[str | None] = mapped_column(String(200))

    plan: Mapped[Plan] = relationship(back_populates="versions")
    fees: Mapped[list[PlanFee]] = relationship(
        order_by="PlanFee.position", cascade="all, delete-orphan"
    )
    bands: Mapped[list[ChargeBand]] = relationship(
        order_by="ChargeBand.position", cascade="all, delete-orphan"
    )
    quotas: Mapped[list[PlanQuota]] = relationship(
        order_by="PlanQuota.position", cascade="all, delete-orphan"
    )


class PlanFee(RealmScoped, db.Model):
    __tablename__ = "plan_fees"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("plan_versions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    period: Mapped[str | None] = mapped_column(String(20))
    every_days: Mapped[int | None] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal(scale=4))


class ChargeBand(RealmScoped, db.Model):
    """Per-unit price up to a maximum usage; ``max_usage`` 0 means unlimited (DESIGN.md)."""

    __tablename__ = "charge_bands"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("plan_versions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(20))
    max_usage: Mapped[Decimal] = mapped_column(ExactDecimal(scale=6))
    price: Mapped[Decimal] = mapped_column(ExactDecimal(scale=6))
    increment: Mapped[Decimal | None] = mapped_column(ExactDecimal(scale=6))
    round_per: Mapped[str] = mapped_column(String(10), default="total")


class PlanQuota(RealmScoped, db.Model):
    """Units included per period before bands apply."""

    __tablename__ = "plan_quotas"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("plan_versions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal(scale=6))
