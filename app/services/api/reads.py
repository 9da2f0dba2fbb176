"""Read side for the API where no page has one yet: subscriptions."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Subscription

from ..lookups import get_or_not_found


def list_subscriptions(*, account_id: int | None = None, limit: int = 200) -> list[Subscription]:
    query = select(Subscription).order_by(Subscription.id).limit(limit)
    if account_id is not None:
        query = query.where(Subscription.account_id == account_id)
    return list(db.session.scalars(query))


def get_subscription(subscription_id: int) -> Subscription:
    return get_or_not_found(Subscription, subscription_id, "subscription")
