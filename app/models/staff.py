"""People who manage a realm, and the departments they work in."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from tenants.scoping import RealmScoped

from .base import Timestamped

ROLES = ("owner", "admin", "operator", "finance", "support")
# What each role may do; checked by app/web/access.py.
ROLE_PERMISSIONS = {
    "owner": {"manage_realm", "manage_staff", "manage_plans", "manage_accounts", "finance"},
    "admin": {"manage_realm", "manage_plans", "manage_accounts", "finance"},
    "operator": {"manage_accounts", "manage_plans"},
    "finance": {"finance"},
    "support": set(),
}

staff_departments = Table(
    "staff_departments",
    db.metadata,
    Column("staff_id", ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True),
)


class Department(RealmScoped, db.Model):
    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("realm_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class StaffUser(RealmScoped, Timestamped, db.Model):
    """A console login. Staff of the default (provider) realm also use the provider console."""

    __tablename__ = "staff_users"
    __table_args__ = (UniqueConstraint("realm_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="operator")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(10))

    departments: Mapped[list[Department]] = relationship(secondary=staff_departments)

    # Flask-Login protocol; ids are prefixed so staff and subscribers never collide.
    is_authenticated = True
    is_anonymous = False
    kind = "staff"

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"staff:{self.id}"

    def can(self, permission: str) -> bool:
        return permission in ROLE_PERMISSIONS.get(self.role, set())
