"""Meters: registers read periodically (energy, water, pulses), owned by an account."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from tenants.scoping import RealmScoped

from .types import ExactDecimal, UTCDateTime


class Meter(RealmScoped, db.Model):
    """``last_value`` is the last accepted reading: the state that turns readings into use."""

    __tablename__ = "meters"
    __table_args__ = (UniqueConstraint("realm_id", "serial"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    unit: Mapped[str] = mapped_column(String(20))
    modulus: Mapped[Decimal | None] = mapped_column(ExactDecimal(scale=6))
    last_value: Mapped[Decimal | None] = mapped_column(ExactDecimal(scale=6))
    last_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
