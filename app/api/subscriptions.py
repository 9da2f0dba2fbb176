"""Subscriptions (read): an account's services and their plan versions."""

from __future__ import annotations

from app.services.api.reads import get_subscription, list_subscriptions

from .registry import endpoint
from .schemas import DATE, ID, LIMIT, listing, nullable, obj

SUBSCRIPTION = obj({
    "id": ID, "account_id": ID, "plan_id": ID, "plan_code": {"type": "string"}, "plan_version": {"type": "integer"},
    "status": {"type": "string"}, "starts_on": DATE, "ends_on": nullable(DATE), "anchor_day": {"type": "integer"},
}, ["id", "account_id", "status", "starts_on"], closed=False)


def subscription_json(s) -> dict:
    version = s.plan_version
    return {
        "id": s.id, "account_id": s.account_id, "plan_id": version.plan_id, "plan_code": version.plan.code,
        "plan_version": version.number, "status": s.status, "starts_on": s.starts_on.isoformat(),
        "ends_on": s.ends_on.isoformat() if s.ends_on else None, "anchor_day": s.anchor_day,
    }


@endpoint("/subscriptions", summary="List subscriptions", scope="subscriptions:read", tag="subscriptions",
          query={"account_id": ID, "limit": LIMIT}, response=listing(SUBSCRIPTION))
def api_list_subscriptions(query):
    items = list_subscriptions(account_id=query.get("account_id"), limit=query.get("limit", 200))
    return {"items": [subscription_json(s) for s in items]}


@endpoint("/subscriptions/{subscription_id}", summary="Get a subscription", scope="subscriptions:read",
          tag="subscriptions", response=SUBSCRIPTION)
def api_get_subscription(subscription_id):
    return subscription_json(get_subscription(subscription_id))
