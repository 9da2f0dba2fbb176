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
