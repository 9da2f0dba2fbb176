"""Moving grandfathered subscribers to a newer plan version, previewed per account first.

Changing the price of a plan in use adds a version (app/services/plans.py ``save_plan``);
subscribers keep theirs until moved. ``preview_migration`` shows, for every subscriber on
an older version, the monthly amount before and after: recurring fees as a monthly
equivalent plus last month's usage rated with both versions (one grouped query for all
accounts). ``migrate_subscribers`` then moves them with ``change_plan`` on the chosen day,
so a move inside an invoiced period is prorated like any plan change. Nothing is written
by the preview.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from app.extensions import db
from app.models import Account, Plan, PlanVersion, Subscription, UsageRecord
from app.rating.money import quantize_money
from app.rating.proration import add_months
from app.rating.quote import compile_plan, rate_usage
from app.rating.units import is_known

from .billing.draft import local_midnight, local_today, realm_zone
from .errors import Invalid, NotFound
from .lookups import get_or_not_found
from .plans import spec_of
from .subscriptions import change_plan

ZERO = Decimal(0)
PER_MONTH = {"monthly": Decimal(1), "quarterly": Decimal(3), "annual": Decimal(12)}


@dataclass
class MigrationRow:
    subscription_id: int
    account_id: int
    account_number: str
    account_name: str
    from_version: int
    old_amount: Decimal
    new_amount: Decimal

    @property
    def difference(self) -> Decimal:
        return self.new_amount - self.old_amount


@dataclass
class MigrationPreview:
    plan_id: int
    plan_code: str
    currency: str
    to_version: int
    to_version_id: int
    on: date
    usage_month: date
    rows: list[MigrationRow]

    @property
    def old_total(self) -> Decimal:
        return sum((r.old_amount for r in self.rows), ZERO)

    @property
    def new_total(self) -> Decimal:
        return sum((r.new_amount for r in self.rows), ZERO)


def monthly_fees(version: PlanVersion) -> Decimal:
    """Recurring fees of a version as a monthly equivalent (30-day months for N-day fees)."""
    total = ZERO
    for fee in version.fees:
        if fee.kind != "recurring":
            continue
        if fee.period == "days":
            total += fee.amount * Decimal(30) / Decimal(fee.every_days or 30)
        else:
            total += fee.amount / PER_MONTH[fee.period]
    return total


def _month_usage(account_ids: list[int], month: date) -> dict[int, dict[str, Decimal]]:
    zone = realm_zone()
    start, end = local_midnight(month, zone), local_midnight(add_months(month, 1), zone)
    usage: dict[int, dict[str, Decimal]] = {}
    for part in range(0, len(account_ids), 900):
        ids = account_ids[part:part + 900]
        for account_id, octets, seconds, unit, quantity in db.session.execute(
            select(UsageRecord.account_id, func.sum(UsageRecord.bytes_in + UsageRecord.bytes_out),
                   func.sum(UsageRecord.duration_s), UsageRecord.unit, func.sum(UsageRecord.quantity))
            .where(UsageRecord.account_id.in_(ids), UsageRecord.event_time >= start, UsageRecord.event_time < end)
            .group_by(UsageRecord.account_id, UsageRecord.unit)
        ):
            bucket = usage.setdefault(account_id, {})
            if octets:
                bucket["MB"] = bucket.get("MB", ZERO) + Decimal(int(octets)) / Decimal(10) ** 6
            if seconds:
                bucket["hour"] = bucket.get("hour", ZERO) + Decimal(int(seconds)) / Decimal(3600)
            if unit and quantity is not None:
                bucket[unit] = bucket.get(unit, ZERO) + Decimal(quantity)
    return usage


def _rated(compiled, usage: dict[str, Decimal]) -> Decimal:
    known = {u: q for u, q in usage.items() if q > 0 and is_known(u, compiled.spec.units)}
    if not known:
        return ZERO
    return sum((line.amount for line in rate_usage(compiled, known)), ZERO)


def _target(plan: Plan, to_version_id: int | None) -> PlanVersion:
    if to_version_id is None:
        version = plan.latest_version
    else:
        version = next((v for v in plan.versions if v.id == to_version_id), None)
    if version is None:
        raise NotFound("plan version")
    return version


def preview_migration(plan_id: int, *, to_version_id: int | None = None, on: date | None = None) -> MigrationPreview:
    plan = get_or_not_found(Plan, plan_id, "plan")
    target = _target(plan, to_version_id)
    on = on or local_today()
    usage_month = add_months(on.replace(day=1), -1)
    versions = {v.id: v for v in plan.versions}
    rows = db.session.execute(
        select(Subscription.id, Subscription.account_id, Subscription.plan_version_id, Account.number, Account.name)
        .join(Account, Account.id == Subscription.account_id)
        .where(Subscription.plan_version_id.in_([v for v in versions if v != target.id]),
               Subscription.status.not_in(("cancelled", "ended")),
               (Subscription.ends_on.is_(None)) | (Subscription.ends_on > on))
        .order_by(Account.number)
    ).all()
    usage = _month_usage(sorted({r.account_id for r in rows}), usage_month)
    compiled = {v.id: compile_plan(spec_of(v)) for v in versions.values()}
    fees = {v.id: monthly_fees(v) for v in versions.values()}
    currency = plan.currency
    out = []
    for sub_id, account_id, version_id, number, name in rows:
        used = usage.get(account_id, {})
        old = quantize_money(fees[version_id] + _rated(compiled[version_id], used), currency)
        new = quantize_money(fees[target.id] + _rated(compiled[target.id], used), currency)
        out.append(MigrationRow(sub_id, account_id, number, name, versions[version_id].number, old, new))
    return MigrationPreview(plan.id, plan.code, currency, target.number, target.id, on, usage_month, out)


def migrate_subscribers(plan_id: int, *, to_version_id: int, on: date,
                        subscription_ids: list[int] | None = None) -> int:
    """Move the previewed subscribers (or the chosen ones) to ``to_version_id`` on ``on``."""
    preview = preview_migration(plan_id, to_version_id=to_version_id, on=on)
    chosen = set(subscription_ids) if subscription_ids is not None else None
    moved = 0
    if chosen is not None and not chosen <= {r.subscription_id for r in preview.rows}:
        raise Invalid({"subscription_ids": ["not_migratable"]})
    for row in preview.rows:
        if chosen is not None and row.subscription_id not in chosen:
            continue
        subscription = db.session.get(Subscription, row.subscription_id)
        effective = max(on, subscription.starts_on)
        change_plan(row.subscription_id, version_id=preview.to_version_id, on=effective)
        moved += 1
    return moved
