"""Account events → provisioning operations for each of the account's services."""

from __future__ import annotations

from app.models.events import Event

from .operations import queue_operation
from .services import account_services

# event type → (operation, statuses of the services it applies to)
REACTIONS = {
    "account.suspended": ("suspend", ("active",)),
    "account.resumed": ("resume", ("suspended",)),
    "account.deleted": ("delete", ("active", "suspended", "in_progress")),
    "account.password_changed": ("change_password", ("active", "suspended")),
    "account.details_changed": ("update_details", ("active", "suspended")),
    "account.plan_changed": ("change_plan", ("active", "suspended")),
}


def on_event(event: Event) -> None:
    if event.type == "payment.received" and event.account_id is not None:
        _payment_received(event.account_id)
        return
    if event.type == "account.plan_changed" and event.account_id is not None:
        _follow_plan_change(event)
    reaction = REACTIONS.get(event.type)
    if reaction is None or event.account_id is None:
        return
    kind, statuses = reaction
    only = (event.data or {}).get("service_id")
    for service in account_services(event.account_id, statuses):
        if only is not None and service.id != only:
            continue
        if service.module_id is None:
            # Nothing to push: follow the account directly.
            from .services import apply_success

            apply_success(service, kind)
            continue
        queue_operation(service.id, kind, reason=event.type)


def _payment_received(account_id: int) -> None:
    """Money came in: the account's subscriptions get their services, and ordered services
    are paid (they go in progress and their ``create`` is queued)."""
    from .services import account_services, mark_paid, sync_account_services

    sync_account_services(account_id)
    for service in account_services(account_id, ("ordered",)):
        mark_paid(service.id)


def _follow_plan_change(event: Event) -> None:
    """A plan change replaces the subscription: its services follow to the new one."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Subscription
    from app.models.provisioning import Service

    new_id = (event.data or {}).get("subscription_id")
    new = db.session.scalar(select(Subscription).where(Subscription.id == new_id)) if new_id else None
    if new is None or new.previous_id is None:
        return
    for service in db.session.scalars(select(Service).where(Service.subscription_id == new.previous_id)):
        service.subscription_id = new.id
        service.plan_id = new.plan_version.plan_id
    db.session.flush()
