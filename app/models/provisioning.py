"""Service processing: processing modules, services, operations, manual tasks, event
actions with their webhook deliveries, and the realm's subscriber authentication.

A *processing module* (a "handler") is a configured adapter instance of a realm (no adapter =
manual setup). A *service* is what an account's plan provides through a module; its
lifecycle is ordered → paid → in_progress → active, then suspended / cancelled / deleted.
Every change pushed to the module is an *operation* with its attempts; after too many
failures (or always, for manual setup) it becomes a *task* for the module's department.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from tenants.scoping import RealmScoped

from .base import Timestamped
from .types import UTCDateTime

SERVICE_STATUSES = ("ordered", "paid", "in_progress", "active", "suspended", "cancelled", "deleted")
OPERATION_KINDS = (
    "create", "suspend", "resume", "delete", "update_details", "change_password", "change_plan",
)
# queued → running → succeeded | failed (retry due at next_attempt_at) → … → manual (a task)
# → done (closed by staff); cancelled (superseded or dropped by staff).
OPERATION_STATUSES = ("queued", "running", "succeeded", "failed", "manual", "done", "cancelled")
TASK_STATUSES = ("open", "assigned", "closed")
ACTION_KINDS = ("email", "operation", "webhook", "command")
DELIVERY_STATUSES = ("pending", "delivered", "failed")
AUTH_METHODS = ("local", "radius", "ldap")


class ProcessingModule(RealmScoped, Timestamped, db.Model):
    __tablename__ = "processing_modules"
    __table_args__ = (UniqueConstraint("realm_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # Entry-point name of the adapter; NULL = manual setup (every operation is a task).
    adapter: Mapped[str | None] = mapped_column(String(40))
    data_centre: Mapped[str | None] = mapped_column(String(100))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"), index=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Non-secret settings as given; secret ones encrypted together as one JSON object.
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    secrets_enc: Mapped[str | None] = mapped_column(Text)
    retry_interval_seconds: Mapped[int] = mapped_column(Integer, default=300)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    last_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_check_ok: Mapped[bool | None] = mapped_column(Boolean)
    last_check_message: Mapped[str | None] = mapped_column(Text)

    department: Mapped[Department | None] = relationship()  # noqa: F821


class Service(RealmScoped, Timestamped, db.Model):
    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="SET NULL"), index=True
    )
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id", ondelete="SET NULL"), index=True)
    module_id: Mapped[int | None] = mapped_column(
        ForeignKey("processing_modules.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="ordered")
    # Filled by the module's summary or by staff closing a manual task (host, IP, notes …).
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    account: Mapped[Account] = relationship()  # noqa: F821
    plan: Mapped[Plan | None] = relationship()  # noqa: F821
    module: Mapped[ProcessingModule | None] = relationship()


class Operation(RealmScoped, Timestamped, db.Model):
    __tablename__ = "provisioning_operations"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[int | None] = mapped_column(
        ForeignKey("processing_modules.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    reason: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    service: Mapped[Service] = relationship()
    module: Mapped[ProcessingModule | None] = relationship()
    attempt_log: Mapped[list[OperationAttempt]] = relationship(
        order_by="OperationAttempt.number", cascade="all, delete-orphan", back_populates="operation"
    )


class OperationAttempt(RealmScoped, db.Model):
    __tablename__ = "provisioning_attempts"
    __table_args__ = (UniqueConstraint("operation_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_id: Mapped[int] = mapped_column(
        ForeignKey("provisioning_operations.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    message: Mapped[str | None] = mapped_column(Text)

    operation: Mapped[Operation] = relationship(back_populates="attempt_log")


class ProvisioningTask(RealmScoped, Timestamped, db.Model):
    __tablename__ = "provisioning_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    operation_id: Mapped[int] = mapped_column(
        ForeignKey("provisioning_operations.id", ondelete="CASCADE"), unique=True
    )
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"), index=True
    )
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="open")
    notes: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    operation: Mapped[Operation] = relationship()
    department: Mapped[Department | None] = relationship()  # noqa: F821
    assignee: Mapped[StaffUser | None] = relationship()  # noqa: F821


class EventAction(RealmScoped, Timestamped, db.Model):
    """What a realm does when an event happens."""

    __tablename__ = "event_actions"
    __table_args__ = (UniqueConstraint("realm_id", "default_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_type: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # email: {subject: {locale: …}, body: {locale: …}}; operation: {operation};
    # webhook: {url}; command: {module_id, operation}; any: {min_percent} for quota.threshold.
    config: Mapped[dict] = mapped_column(JSON, default=dict)
    secret_enc: Mapped[str | None] = mapped_column(Text)  # webhook signing secret
    # Set on the actions shipped by default, so they are created once per realm.
    default_key: Mapped[str | None] = mapped_column(String(40))


class ActionDelivery(RealmScoped, Timestamped, db.Model):
    """One outbound webhook call of an action for an event (the delivery log)."""

    __tablename__ = "action_deliveries"
    __table_args__ = (UniqueConstraint("action_id", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("event_actions.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    action: Mapped[EventAction] = relationship()


class SubscriberAuth(RealmScoped, db.Model):
    """How a realm checks its subscribers' self-care passwords (one row per realm)."""

    __tablename__ = "subscriber_auth"
    __table_args__ = (UniqueConstraint("realm_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    method: Mapped[str] = mapped_column(String(10), default="local")
    # radius: {host, port, timeout, nas_identifier}; ldap: {url, user_dn_template, start_tls, ca_file}
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    secret_enc: Mapped[str | None] = mapped_column(Text)  # RADIUS shared secret
