"""The append-only audit log: who changed what, when, from where, before and after."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from tenants.scoping import RealmScoped

from .base import utcnow
from .types import UTCDateTime

ACTOR_KINDS = ("staff", "subscriber", "api_key", "system")


class AuditEntry(RealmScoped, db.Model):
    """One state change. Rows are only ever inserted (the database refuses UPDATE and DELETE)."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_label: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(60), index=True)
    entity_id: Mapped[str | None] = mapped_column(String(40))
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
