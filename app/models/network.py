"""Network access servers (NASes) that send accounting and receive CoA requests."""

from __future__ import annotations

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from tenants.scoping import RealmScoped

from .base import Timestamped


class NasClient(RealmScoped, Timestamped, db.Model):
    """A NAS of the realm; its RADIUS shared secret is encrypted at rest."""

    __tablename__ = "nas_clients"
    __table_args__ = (UniqueConstraint("realm_id", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(45))
    secret_enc: Mapped[str] = mapped_column(Text)
    coa_port: Mapped[int] = mapped_column(Integer, default=3799)
