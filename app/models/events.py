"""Events: things that happened to a realm's accounts, invoices and services.

An event row is written in the same transaction as the change it reports
(``app.services.events.emit``); after commit a job runs the realm's actions for it
(``workers.events.process_event_job``) and marks it processed. ``data`` carries the
event's details as JSON (no secrets).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from tenants.scoping import RealmScoped

from .base import Timestamped
from .types import UTCDateTime

EVENT_TYPES = (
    "account.created", "account.suspended", "account.resumed", "account.deleted",
    "account.details_changed", "account.password_changed", "account.plan_changed",
    "quota.threshold", "quota.exhausted", "invoice.issued", "invoice.overdue",
    "payment.received", "payment.failed", "service.active",
)
# pending → processed (all actions ran or were queued) | failed (see ``error``)
EVENT_STATES = ("pending", "processed", "failed")


class Event(RealmScoped, Timestamped, db.Model):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(40), index=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    account: Mapped[Account | None] = relationship()  # noqa: F821
