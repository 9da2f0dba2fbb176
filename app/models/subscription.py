"""An account's instance of a plan version (a service / order)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from tenants.scoping import RealmScoped

from .base import Timestamped

# ordered → paid → in_progress → active; suspended; cancelled.
SUBSCRIPTION_STATUSES = ("ordered", "paid", "in_progress", "active", "suspended", "cancelled")


class Subscription(RealmScoped, Timestamped, db.Model):
    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    plan_version_id: Mapped[int] = mapped_column(
        ForeignKey("plan_versions.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="ordered")
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    anchor_day: Mapped[int] = mapped_column(Integer, default=1)

    account: Mapped[Account] = relationship(back_populates="subscriptions")  # noqa: F821
    plan_version: Mapped[PlanVersion] = relationship()  # noqa: F821
