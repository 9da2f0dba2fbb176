"""API keys per realm, and the stored responses that make POSTs idempotent.

A key is shown once at creation as ``rb_<prefix>_<secret>``. Only the prefix (to find the
row) and a keyed hash of the whole token (HMAC with a key derived from the app's
encryption keys, bound to the realm) are stored, so a database dump holds no usable key.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from tenants.scoping import RealmScoped

from .base import Timestamped
from .types import UTCDateTime

API_SCOPES = (
    "accounts:read", "accounts:write", "plans:read", "plans:write", "quotes", "usage:write",
    "invoices:read", "subscriptions:read", "realms:read", "wholesale:read",
    "payments:read", "payments:write", "vouchers:read", "vouchers:write",
    "provisioning:read", "provisioning:write", "events:read", "events:write", "reports:read",
)


class ApiKey(RealmScoped, Timestamped, db.Model):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(80))
    scopes: Mapped[str] = mapped_column(Text, default="")  # space-separated
    created_by: Mapped[str | None] = mapped_column(String(254))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def scope_list(self) -> list[str]:
        return [s for s in (self.scopes or "").split() if s]

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class IdempotencyRecord(RealmScoped, Timestamped, db.Model):
    """The response given to a POST with an ``Idempotency-Key``, replayed for the same body."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("realm_id", "api_key_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(100))
    response_body: Mapped[str] = mapped_column(Text)
