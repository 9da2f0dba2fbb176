"""An account's usage this period: totals per day and unit, the rated lines with their
explanations, and what its quota pools have left. Read-only: the self-care page and the
console show it; billing rates the same records with the same engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cache

from sqlalchemy import (
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.models import (
    Account,
    CostCentre,
    QuotaBalance,
    QuotaDraw,
    QuotaPool,
    Realm,
    Subscription,
    UsageRecord,
)
from app.rating.proration import Period, period_containing
from app.rating.quote import rate_usage
from app.rating.units import lookup
from tenants import realm_filter, require_realm_id, run_in_realm

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
    # (unit, quantity) of the pool draws in the period's balances, for a caller that needs
    # them again (the dashboard's next-invoice preview of the same period); None: not read.
    draws: list[tuple[str, Decimal]] | None = None
    plan_name: str | None = None  # of the current subscription


def current_subscription(account: Account, day: date) -> Subscription | None:
    for subscription in account.subscriptions:
        if subscription.status in ("active", "suspended") and subscription.starts_on <= day and (
                subscription.ends_on is None or subscription.ends_on > day):
            return subscription
    return None


def _load_plans(account: Account) -> dict:
    """The account's subscriptions (one statement, ordered by id) and the compiled plan
    versions they use (``billing.draft._Version`` by id), kept between page views under the
    realm's settings stamp: a version is read once per process and change of plans."""
    from ..billing.draft import kept_versions

    if "subscriptions" not in account.__dict__:
        subscriptions = db.session.scalars(_subscriptions_query(), {"account_id": account.id}).all()
        set_committed_value(account, "subscriptions", list(subscriptions))
    realm = db.session.get(Realm, require_realm_id())  # the request's own (g.realm): no statement
    return kept_versions(realm, {s.plan_version_id for s in account.subscriptions})


# The hot path's statements are built once (with bound parameters) instead of per page view:
# building a statement cost about as much CPU as running it. The ORM ones get the realm filter
# from the scoping hook on every execution; the lean ones (run_in_realm) write it in.
@cache
def _subscriptions_query():
    return select(Subscription).where(Subscription.account_id == bindparam("account_id")).order_by(Subscription.id)


@cache
def _daily_query(with_draws: bool):
    """Usage per day of the period; with ``with_draws`` the period's pool draws ride along in
    the same statement (rows of kind "draw": unit and quantity). A lean read (tenants/lean.py):
    every realm table carries ``realm_filter``."""
    day_column = func.date(UsageRecord.event_time)
    days = (select(literal("day").label("kind"), day_column.label("day"),
                   func.sum(UsageRecord.bytes_in + UsageRecord.bytes_out).label("octets"),
                   func.sum(UsageRecord.duration_s).label("seconds"), func.count(UsageRecord.id).label("records"),
                   cast(null(), QuotaPool.unit.type).label("unit"),
                   cast(null(), QuotaDraw.quantity.type).label("quantity"))
            .where(UsageRecord.account_id == bindparam("account_id"), UsageRecord.event_time >= bindparam("start"),
                   UsageRecord.event_time < bindparam("end"), realm_filter(UsageRecord))
            .group_by(day_column))
    if not with_draws:
        return days.order_by(day_column)
    draws = (select(literal("draw"), null(), null(), null(), null(), QuotaPool.unit, QuotaDraw.quantity)
             .join(QuotaBalance, (QuotaBalance.id == QuotaDraw.balance_id) & realm_filter(QuotaBalance))
             .join(QuotaPool, (QuotaPool.id == QuotaBalance.pool_id) & realm_filter(QuotaPool))
             .where(QuotaDraw.account_id == bindparam("account_id"), realm_filter(QuotaDraw),
                    QuotaBalance.period_start >= bindparam("first"), QuotaBalance.period_start < bindparam("last")))
    return union_all(days, draws).order_by(literal_column("kind"), literal_column("day"))


def usage_summary(account: Account, *, today: date | None = None) -> UsageSummary:
    today = today or datetime.now(UTC).date()
    versions = _load_plans(account)
    subscription = current_subscription(account, today)
    anchor = subscription.starts_on.replace(day=min(subscription.anchor_day, 28)) if subscription else date(today.year, 1, 1)
    period = period_containing(anchor, "monthly", today)
    summary = UsageSummary(period=period, currency=None)
    start = datetime.combine(period.start, time(), tzinfo=UTC)
    end = datetime.combine(period.end, time(), tzinfo=UTC)
    rows = run_in_realm(db.session, _daily_query(subscription is not None), {
        "account_id": account.id, "start": start, "end": end, "first": period.start, "last": period.end}).all()
    by_day = {}
    draws = []
    for kind, day, octets, seconds, count, unit, quantity in rows:
        if kind == "draw":
            draws.append((unit, quantity))
            continue
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
        summary.draws = draws
        pooled = summary.pooled = _absorbed(draws)
        version = versions[subscription.plan_version_id]
        compiled = version.compiled
        summary.plan_name = version.name
        summary.currency = compiled.currency
        summary.lines = rate_usage(compiled, {
            "MB": max(Decimal(0), summary.traffic_mb - pooled.get("MB", Decimal(0))),
            "hour": max(Decimal(0), summary.hours - pooled.get("hour", Decimal(0))),
        })
    summary.pools = _pools(account, today)
    return summary


def pool_draws(account_id: int, start: date, end: date) -> list[tuple[str, Decimal]]:
    """(pool unit, quantity) of what the pools absorbed of the account's usage in balances
    starting in ``[start, end)`` (the rows ``quotas.absorbed_by_pools`` adds up)."""
    return [tuple(row) for row in db.session.execute(
        _draws_query(), {"account_id": account_id, "start": start, "end": end})]


def _absorbed(draws: list[tuple[str, Decimal]]) -> dict[str, Decimal]:
    """``quotas.absorbed_by_pools`` of these draws: per dimension in the base rating unit."""
    totals: dict[str, Decimal] = {}
    for unit_name, quantity in draws:
        unit = lookup(unit_name)
        target = {"data": "MB", "time": "hour"}.get(unit.dimension, unit.name)
        totals[target] = totals.get(target, Decimal(0)) + quantity * unit.size / lookup(target).size
    return totals


@cache
def _draws_query():
    return (select(QuotaPool.unit, QuotaDraw.quantity)
            .join(QuotaBalance, QuotaBalance.id == QuotaDraw.balance_id)
            .join(QuotaPool, QuotaPool.id == QuotaBalance.pool_id)
            .where(QuotaDraw.account_id == bindparam("account_id"),
                   QuotaBalance.period_start >= bindparam("start"), QuotaBalance.period_start < bindparam("end")))


def _pools(account: Account, today: date) -> list[tuple[str, str, Decimal, Decimal]]:
    """(name, unit, remaining, available) of every pool the account draws from, in one
    statement whatever the number of pools and the depth of its cost centre (the same
    figures as ``quotas.peek_balance`` per pool): the pools of the account, of its cost
    centre and every ancestor (a recursive CTE) and of the realm, each with its balances
    up to today, newest first."""
    from app.rating.quotas import next_period_balance

    pools: dict[int, tuple] = {}
    balances: dict[int, list] = {}
    query = _pools_query(bool(account.cost_centre_id))
    for pool in run_in_realm(db.session, query, {
            "account_id": account.id, "centre_id": account.cost_centre_id, "today": today}):
        pools.setdefault(pool.id, pool)  # (the pool's columns repeat on each of its balances)
        if pool.period_start is not None:
            balances.setdefault(pool.id, []).append((pool.period_start, pool.opening, pool.topped_up, pool.used))
    result = []
    for pool in pools.values():
        start = period_containing(pool.anchor, pool.period, today).start
        # The balance of the current period, else the latest before it (carried over).
        row = next((b for b in balances.get(pool.id, ()) if b[0] <= start), None)
        if row is None:
            remaining = available = pool.size
        elif row[0] == start:
            available = row[1] + row[2]
            remaining = available - row[3]
        else:
            remaining = available = next_period_balance(pool.size, row[1] + row[2] - row[3], pool.carry_over,
                                                        pool.carry_cap)
        result.append((pool.name, pool.unit, remaining, available))
    return result


@cache
def _pools_query(in_centre: bool):
    """A lean read (tenants/lean.py): every realm table carries ``realm_filter`` (the balances'
    in their outer join's condition)."""
    reach = (QuotaPool.account_id == bindparam("account_id")) | (QuotaPool.scope == "realm")
    if in_centre:
        reach = reach | QuotaPool.cost_centre_id.in_(select(_centre_path().c.id))
    # Columns, not QuotaPool objects: the figures are all the page needs.
    return (select(QuotaPool.id, QuotaPool.name, QuotaPool.unit, QuotaPool.size, QuotaPool.anchor, QuotaPool.period,
                   QuotaPool.carry_over, QuotaPool.carry_cap, QuotaBalance.period_start, QuotaBalance.opening,
                   QuotaBalance.topped_up, QuotaBalance.used)
            .outerjoin(QuotaBalance, (QuotaBalance.pool_id == QuotaPool.id)
                       & (QuotaBalance.period_start <= bindparam("today")) & realm_filter(QuotaBalance))
            .where(reach, realm_filter(QuotaPool))
            .order_by(QuotaPool.id, QuotaBalance.period_start.desc()))


def _centre_path():
    """The ids of a cost centre (parameter ``centre_id``) and its ancestors as a recursive
    CTE (not a lazy load per level); UNION, not UNION ALL, so even a cycle ends."""
    path = (select(CostCentre.id, CostCentre.parent_id)
            .where(CostCentre.id == bindparam("centre_id"), realm_filter(CostCentre)).cte("centre_path", recursive=True))
    return path.union(select(CostCentre.id, CostCentre.parent_id).join(path, CostCentre.id == path.c.parent_id)
                      .where(realm_filter(CostCentre)))
