"""Customer accounts (subscribers) and the cost-centre tree they are attributed to."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from tenants.scoping import RealmScoped

from .base import Timestamped

ACCOUNT_STATUSES = ("active", "suspended", "closed")


class CostCentre(RealmScoped, db.Model):
    """A node in a tree (university → faculty → department)."""

    __tablename__ = "cost_centres"
    __table_args__ = (UniqueConstraint("realm_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("cost_centres.id", ondelete="RESTRICT"), index=True
    )

    parent: Mapped[CostCentre | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[CostCentre]] = relationship(back_populates="parent")

    def path(self) -> list[CostCentre]:
        node, chain = self, []
        while node is not None:
            chain.append(node)
            node = node.parent
        return list(reversed(chain))


class Account(RealmScoped, Timestamped, db.Model):
    """A subscriber. ``username`` is the service login (``alice`` → ``alice@<realm domain>``)."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("realm_id", "username"), UniqueConstraint("realm_id", "number"))

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30))
    username: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(Text)
    tax_id: Mapped[str | None] = mapped_column(String(40))
    locale: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default="active")
    # Self-care login (argon2) and the service password pushed to RADIUS/LDAP (encrypted).
    password_hash: Mapped[str | None] = mapped_column(String(200))
    service_password_enc: Mapped[str | None] = mapped_column(Text)
    cost_centre_id: Mapped[int | None] = mapped_column(
        ForeignKey("cost_centres.id", ondelete="SET NULL"), index=True
    )

    cost_centre: Mapped[CostCentre | None] = relationship()
    subscriptions: Mapped[list[Subscription]] = relationship(  # noqa: F821
        back_populates="account", order_by="Subscription.id"
    )

    is_authenticated = True
    is_anonymous = False
    kind = "subscriber"

    @property
    def is_active(self) -> bool:
        return self.status != "closed"

    def get_id(self) -> str:
        return f"account:{self.id}"
