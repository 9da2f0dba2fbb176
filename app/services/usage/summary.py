"""An account's usage this period: totals per day and unit, the rated lines with their
explanations, and what its quota pools have left. Read-only: the self-care page and the
console show it; billing rates the same records with the same engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from app.extensions import db
from app.models import Account, QuotaPool, Subscription, UsageRecord
from app.rating.proration import Period, period_containing
from app.rating.quote import compile_plan, rate_usage

from ..plans import spec_of
from ..quotas import absorbed_by_pools

MB = Decimal(10) ** 6


@dataclass
class UsageSummary:
    period: Period
    currency: str | None
    traffic_mb: Decimal = Decimal(0)
    hours: Decimal = Decimal(0)
    sessions: int = 0
    daily: list[tuple[date, Decimal, Decimal]] = field(default_factory=list)  # day, MB, hours
    lines: list = field(default_factory=list)
    pools: list[tuple[str, str, Decimal, Decimal]] = field(default_factory=list)  # name, unit, left, size
    pooled: dict[str, Decimal] = field(default_factory=dict)  # absorbed by pools, per unit


def current_subscription(account: Account, day: date) -> Subscription | None:
    for subscription in account.subscriptions:
        if subscription.status in ("active", "suspended") and subscription.starts_on <= day and (
                subscription.ends_on is None or subscription.ends_on > day):
            return subscription
    return None


def usage_summary(account: Account, *, today: date | None = None) -> UsageSummary:
    today = today or datetime.now(UTC).date()
    subscription = current_subscription(account, today)
    anchor = subscription.starts_on.replace(day=min(subscription.anchor_day, 28)) if subscription else date(today.year, 1, 1)
    period = period_containing(anchor, "monthly", today)
    summary = UsageSummary(period=period, currency=None)
    start = datetime.combine(period.start, time(), tzinfo=UTC)
    end = datetime.combine(period.end, time(), tzinfo=UTC)
    day_column = func.date(UsageRecord.event_time)
    rows = db.session.execute(
        select(day_column, func.sum(UsageRecord.bytes_in + UsageRecord.bytes_out),
               func.sum(UsageRecord.duration_s), func.count(UsageRecord.id))
        .where(UsageRecord.account_id == account.id, UsageRecord.event_time >= start,
               UsageRecord.event_time < end)
        .group_by(day_column).order_by(day_column)
    ).all()
    by_day = {}
    for day, octets, seconds, count in rows:
        day = day if isinstance(day, date) else date.fromisoformat(str(day))
        mb, hours = Decimal(octets or 0) / MB, Decimal(seconds or 0) / 3600
        by_day[day] = (mb, hours)
        summary.traffic_mb += mb
        summary.hours += hours
        summary.sessions += count
    cursor = period.start
    while cursor < min(period.end, today + timedelta(days=1)):
        mb, hours = by_day.get(cursor, (Decimal(0), Decimal(0)))
        summary.daily.append((cursor, mb, hours))
        cursor += timedelta(days=1)
    if subscription is not None:
        # Pools drew their share as the usage arrived; the plan rates what they left.
        pooled = absorbed_by_pools(account.id, period.start, period.end)
        summary.pooled = pooled
        compiled = compile_plan(spec_of(subscription.plan_version))
        summary.currency = compiled.currency
        summary.lines = rate_usage(compiled, {
            "MB": max(Decimal(0), summary.traffic_mb - pooled.get("MB", Decimal(0))),
            "hour": max(Decimal(0), summary.hours - pooled.get("hour", Decimal(0))),
        })
    summary.pools = _pools(account, today)
    return summary


def _pools(account: Account, today: date) -> list[tuple[str, str, Decimal, Decimal]]:
    from ..quotas import peek_balance

    centre_ids = [node.id for node in account.cost_centre.path()] if account.cost_centre else []
    pools = db.session.scalars(select(QuotaPool).where(
        (QuotaPool.account_id == account.id)
        | (QuotaPool.cost_centre_id.in_(centre_ids))
        | (QuotaPool.scope == "realm")
    ).order_by(QuotaPool.id)).all()
    result = []
    for pool in pools:
        remaining, available = peek_balance(pool, today)
        result.append((pool.name, pool.unit, remaining, available))
    return result
