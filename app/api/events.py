"""Events, event actions (webhooks created and deleted here) and the webhook delivery log.

A webhook's signing secret is write-only: it is sent when the action is created, stored
encrypted, and answered only as ``secret_set``. Deleting a shipped default action disables it.
"""

from __future__ import annotations

from flask import Response

from app.models.events import EVENT_TYPES
from app.models.provisioning import DELIVERY_STATUSES
from app.services.event_actions import (
    delete_action,
    get_action,
    list_actions,
    list_deliveries,
    save_action,
    webhook_secret_set,
)
from app.services.events import get_event, list_events

from .registry import endpoint
from .schemas import DATETIME, ID, LIMIT, listing, nullable, obj, text

EVENT_TYPE = {"type": "string", "enum": list(EVENT_TYPES)}
EVENT = obj({
    "id": ID, "type": {"type": "string"}, "account_id": nullable(ID), "data": {"type": "object"},
    "state": {"type": "string"}, "attempts": {"type": "integer"}, "error": nullable({"type": "string"}),
    "processed_at": nullable(DATETIME), "created_at": nullable(DATETIME),
}, ["id", "type", "state"], closed=False)
ACTION = obj({
    "id": ID, "event_type": {"type": "string"}, "kind": {"type": "string"}, "name": {"type": "string"},
    "enabled": {"type": "boolean"}, "default": {"type": "boolean"}, "config": {"type": "object"},
    "secret_set": {"type": "boolean"}, "created_at": nullable(DATETIME),
}, ["id", "event_type", "kind", "name", "enabled"], closed=False)
CREATE_WEBHOOK = obj({
    "event_type": EVENT_TYPE, "name": text(100, 1),
    "url": {"type": "string", "minLength": 8, "maxLength": 2000, "pattern": r"^https?://"},
    "secret": text(200, 16), "enabled": {"type": "boolean"},
}, ["event_type", "name", "url", "secret"])
DELIVERY = obj({
    "id": ID, "action_id": ID, "event_id": ID, "status": {"type": "string", "enum": list(DELIVERY_STATUSES)},
    "attempts": {"type": "integer"}, "response_status": nullable({"type": "integer"}),
    "last_error": nullable({"type": "string"}), "next_attempt_at": nullable(DATETIME),
    "delivered_at": nullable(DATETIME), "created_at": nullable(DATETIME),
}, ["id", "action_id", "event_id", "status"], closed=False)


def _when(value) -> str | None:
    return value.isoformat() if value else None


def event_json(event) -> dict:
    return {"id": event.id, "type": event.type, "account_id": event.account_id, "data": event.data or {},
            "state": event.state, "attempts": event.attempts or 0, "error": event.error,
            "processed_at": _when(event.processed_at), "created_at": _when(event.created_at)}


def action_json(action) -> dict:
    return {"id": action.id, "event_type": action.event_type, "kind": action.kind, "name": action.name,
            "enabled": action.enabled, "default": action.default_key is not None,
            "config": dict(action.config or {}), "secret_set": webhook_secret_set(action),
            "created_at": _when(action.created_at)}


def delivery_json(delivery) -> dict:
    return {"id": delivery.id, "action_id": delivery.action_id, "event_id": delivery.event_id,
            "status": delivery.status, "attempts": delivery.attempts or 0,
            "response_status": delivery.response_status, "last_error": delivery.last_error,
            "next_attempt_at": _when(delivery.next_attempt_at), "delivered_at": _when(delivery.delivered_at),
            "created_at": _when(delivery.created_at)}


@endpoint("/events", summary="List events (newest first)", scope="events:read", tag="events",
          query={"type": EVENT_TYPE, "account_id": ID, "limit": LIMIT}, response=listing(EVENT))
def api_list_events(query):
    events = list_events(event_type=query.get("type"), account_id=query.get("account_id"),
                         limit=query.get("limit", 100))
    return {"items": [event_json(e) for e in events]}


@endpoint("/events/{event_id}", summary="Get an event", scope="events:read", tag="events", response=EVENT)
def api_get_event(event_id):
    return event_json(get_event(event_id))


@endpoint("/event-actions", summary="List event actions", scope="events:read", tag="events",
          query={"event_type": EVENT_TYPE}, response=listing(ACTION),
          description="Every kind (e-mail, operation, webhook, command, suspend), the shipped defaults included. "
                      "Webhook secrets are never answered (`secret_set` only).")
def api_list_event_actions(query):
    return {"items": [action_json(a) for a in list_actions(event_type=query.get("event_type"))]}


@endpoint("/event-actions/{action_id}", summary="Get an event action", scope="events:read", tag="events",
          response=ACTION)
def api_get_event_action(action_id):
    return action_json(get_action(action_id))


@endpoint("/event-actions", "POST", summary="Create a webhook action", scope="events:write", tag="events",
          request=CREATE_WEBHOOK, response=ACTION, status=201,
          example={"event_type": "payment.received", "name": "ERP sync", "url": "https://erp.example.com/hooks",
                   "secret": "a-long-shared-signing-secret"},
          description="The event is POSTed as JSON to `url`, signed with HMAC-SHA256 over "
                      "`<timestamp>.<body>` with `secret` (headers `X-Realmbill-Timestamp`, "
                      "`X-Realmbill-Signature: sha256=<hex>`). The secret is stored encrypted and never answered.")
def api_create_event_action(body):
    action = save_action(event_type=body["event_type"], kind="webhook", name=body["name"],
                         enabled=body.get("enabled", True), config={"url": body["url"]},
                         webhook_secret=body["secret"])
    return action_json(action), 201


@endpoint("/event-actions/{action_id}", "DELETE", summary="Delete an event action", scope="events:write",
          tag="events", status=204, description="A shipped default action is disabled instead (so it stays gone).")
def api_delete_event_action(action_id):
    delete_action(action_id)
    return Response(status=204)


@endpoint("/webhook-deliveries", summary="The webhook delivery log (newest first)", scope="events:read",
          tag="events", query={"limit": LIMIT}, response=listing(DELIVERY))
def api_list_webhook_deliveries(query):
    return {"items": [delivery_json(d) for d in list_deliveries(limit=query.get("limit", 100))]}
