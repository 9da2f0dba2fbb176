"""Quota enforcement: threshold notices, and what the network was told when a pool ran out.

``QuotaNotice`` is the once-per-pool-and-period record behind ``quota.threshold`` and
``quota.exhausted`` (its unique key makes the event race-free). An ``Enforcement`` is one
account running out of a unit (traffic, time) in one period under a plan policy (shape or
suspend); it has one ``EnforcementTarget`` per RADIUS session the NAS was asked to change.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from tenants.scoping import RealmScoped

from .base import Timestamped
from .types import UTCDateTime

NOTICE_KINDS = ("threshold", "exhausted")
QUOTA_POLICIES = ("overage", "shape", "suspend")
# pending → sent (NAS acknowledged) → confirmed (accounting shows it); retrying (re-sent
# while unconfirmed) → disconnected (Disconnect-Request after the last retry); failed
# (the NAS never answered); lifted (a top-up or a new period restored the quota).
ENFORCEMENT_STATES = ("pending", "sent", "confirmed", "retrying", "disconnected", "failed", "lifted")
TARGET_ACTIONS = ("coa", "disconnect", "restore")


class QuotaNotice(RealmScoped, Timestamped, db.Model):
    __tablename__ = "quota_notices"
    __table_args__ = (UniqueConstraint("pool_id", "period_start", "kind", "percent"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pool_id: Mapped[int] = mapped_column(ForeignKey("quota_pools.id", ondelete="CASCADE"))
    period_start: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(10))
    percent: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))


class Enforcement(RealmScoped, Timestamped, db.Model):
    __tablename__ = "enforcements"
    __table_args__ = (UniqueConstraint("account_id", "dimension", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    pool_id: Mapped[int | None] = mapped_column(ForeignKey("quota_pools.id", ondelete="SET NULL"))
    dimension: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    policy: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(15), default="pending", index=True)
    rate_limit: Mapped[str | None] = mapped_column(String(64))
    normal_rate_limit: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    account: Mapped[Account] = relationship()  # noqa: F821
    targets: Mapped[list[EnforcementTarget]] = relationship(
        back_populates="enforcement", order_by="EnforcementTarget.id", cascade="all, delete-orphan"
    )


class EnforcementTarget(RealmScoped, db.Model):
    """One session the NAS was asked to change (``coa``), end (``disconnect``) or restore."""

    __tablename__ = "enforcement_targets"
    __table_args__ = (UniqueConstraint("enforcement_id", "session_id", "action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enforcement_id: Mapped[int] = mapped_column(ForeignKey("enforcements.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("radius_sessions.id", ondelete="CASCADE"))
    nas: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(12))
    state: Mapped[str] = mapped_column(String(15), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    reply_code: Mapped[int | None] = mapped_column(Integer)
    error_cause: Mapped[int | None] = mapped_column(Integer)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    enforcement: Mapped[Enforcement] = relationship(back_populates="targets")
    session: Mapped[RadiusSession] = relationship()  # noqa: F821
