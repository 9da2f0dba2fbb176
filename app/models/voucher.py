"""Scratch-card vouchers: batches, the vouchers in them, and product access grants.

A voucher has a public ``serial`` (printed, used for stock keeping and batch operations)
and a secret PIN that is never stored: only its keyed hash (HMAC-SHA256 with a key derived
from the application's encryption keys, see ``app/services/vouchers.py``). Until the batch
is exported once, the printable PIN list is kept encrypted on the batch (``pins_enc``)
and wiped by the export. What a voucher is worth lives on the voucher itself (copied from
the batch), so a batch operation may change the product of a range of serials.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from tenants.scoping import RealmScoped

from .base import Timestamped
from .types import ExactDecimal, UTCDateTime

VOUCHER_KINDS = ("money", "quota", "product")
VOUCHER_STATUSES = ("inactive", "active", "redeemed", "void")


class VoucherBatch(RealmScoped, Timestamped, db.Model):
    __tablename__ = "voucher_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal | None] = mapped_column(ExactDecimal(scale=6))
    currency: Mapped[str | None] = mapped_column(String(3))
    unit: Mapped[str | None] = mapped_column(String(20))
    product_code: Mapped[str | None] = mapped_column(String(60))
    product_name: Mapped[str | None] = mapped_column(String(200))
    count: Mapped[int] = mapped_column(Integer)
    pin_digits: Mapped[int] = mapped_column(Integer)
    first_number: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str | None] = mapped_column(String(254))
    # The PINs, encrypted, until the one export; NULL afterwards.
    pins_enc: Mapped[str | None] = mapped_column(Text)
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    export_format: Mapped[str | None] = mapped_column(String(10))

    vouchers: Mapped[list[Voucher]] = relationship(back_populates="batch", order_by="Voucher.number")


class Voucher(RealmScoped, db.Model):
    __tablename__ = "vouchers"
    __table_args__ = (
        UniqueConstraint("realm_id", "serial"),
        UniqueConstraint("realm_id", "pin_hash"),
        Index("ix_vouchers_batch_number", "batch_id", "number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("voucher_batches.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    serial: Mapped[str] = mapped_column(String(40))
    pin_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(12), default="inactive")
    kind: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal | None] = mapped_column(ExactDecimal(scale=6))
    currency: Mapped[str | None] = mapped_column(String(3))
    unit: Mapped[str | None] = mapped_column(String(20))
    product_code: Mapped[str | None] = mapped_column(String(60))
    product_name: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    redeemed_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )

    batch: Mapped[VoucherBatch] = relationship(back_populates="vouchers")


class AccessGrant(RealmScoped, Timestamped, db.Model):
    """An account's right to a product (conference, event, ...) bought with a voucher."""

    __tablename__ = "access_grants"
    __table_args__ = (UniqueConstraint("voucher_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    voucher_id: Mapped[int | None] = mapped_column(ForeignKey("vouchers.id", ondelete="SET NULL"))
    product_code: Mapped[str] = mapped_column(String(60))
    product_name: Mapped[str | None] = mapped_column(String(200))
