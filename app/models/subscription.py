"""An account's instance of a plan version (a service / order)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from tenants.scoping import RealmScoped

from .base import Timestamped

# ordered → paid → in_progress → active; suspended; cancelled (at ends_on) or ended
# (replaced by another subscription at a plan change).
SUBSCRIPTION_STATUSES = ("ordered", "paid", "in_progress", "active", "suspended", "cancelled", "ended")
SUBSCRIPTION_KINDS = ("recurring", "one_time")
TRANSITIONS = {
    "ordered": ("paid", "in_progress", "active", "cancelled"),
    "paid": ("in_progress", "active", "cancelled"),
    "in_progress": ("active", "cancelled"),
    "active": ("suspended", "cancelled", "ended"),
    "suspended": ("active", "cancelled", "ended"),
    "cancelled": (),
    "ended": (),
}


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
    # "recurring" (fees every period) or "one_time" (setup and one-time fees only).
    kind: Mapped[str] = mapped_column(String(20), default="recurring")
    # Fee periods run from this date (None: from starts_on); kept across plan changes.
    anchor_on: Mapped[date | None] = mapped_column(Date)
    # Recurring fees before this day are settled already (proration charges of a plan change).
    fees_from: Mapped[date | None] = mapped_column(Date)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id", ondelete="SET NULL"))

    account: Mapped[Account] = relationship(back_populates="subscriptions")  # noqa: F821
    plan_version: Mapped[PlanVersion] = relationship()  # noqa: F821
