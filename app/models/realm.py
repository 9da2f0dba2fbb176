"""Realms (tenants) and the domains that route to them."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

from .base import Timestamped


class Realm(Timestamped, db.Model):
    """A tenant. Not realm-scoped itself: the provider console lists and creates realms."""

    __tablename__ = "realms"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("realms.id"), index=True)
    # The VISP's own customer account in the parent realm (billed for wholesale usage).
    owner_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", use_alter=True, ondelete="SET NULL")
    )
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    locale: Mapped[str] = mapped_column(String(10), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Branding on top of the chosen theme.
    theme: Mapped[str] = mapped_column(String(40), default="default")
    primary_colour: Mapped[str] = mapped_column(String(7), default="#1f5fbf")
    secondary_colour: Mapped[str] = mapped_column(String(7), default="#f2f5fa")
    watermark: Mapped[str | None] = mapped_column(String(60))
    # Deferred: every page asks only whether there is one (logo_mime, set with it).
    logo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    logo_mime: Mapped[str | None] = mapped_column(String(40))
    # Invoice settings.
    invoice_prefix: Mapped[str] = mapped_column(String(20), default="INV-")
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=14)
    invoice_footer: Mapped[str | None] = mapped_column(Text)
    email_invoices: Mapped[bool] = mapped_column(Boolean, default=True)
    seller_tax_id: Mapped[str | None] = mapped_column(String(40))
    # Raised with every change of the realm's tax settings, tax rates, discounts or plans
    # (models/settings_stamp.py), so a kept copy of them can be checked for free.
    settings_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    parent: Mapped[Realm | None] = relationship(remote_side=[id])
    domains: Mapped[list[RealmDomain]] = relationship(
        back_populates="realm", cascade="all, delete-orphan", order_by="RealmDomain.domain"
    )

    @property
    def is_visp(self) -> bool:
        return self.parent_id is not None

    def __repr__(self) -> str:
        return f"<Realm {self.slug}>"


class RealmDomain(db.Model):
    """A custom domain that routes to a realm (besides <slug>.<base domain>)."""

    __tablename__ = "realm_domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    realm_id: Mapped[int] = mapped_column(ForeignKey("realms.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(253), unique=True)

    realm: Mapped[Realm] = relationship(back_populates="domains")
