"""What an account owes for a billing period: the one computation behind previews and runs.

Periods are calendar months of the realm (``[first day, first day of next month)``).
Recurring fees are billed in advance for each fee period (anchored on the subscription's
start) that begins in the billing month, prorated by days when the subscription starts or
ends inside it (app/rating/proration.py); setup and one-time fees when the subscription
starts in the month. Usage of the month is rated with the subscription's plan version
after the quota pools took their share; usage from earlier months that no invoice has
carried yet is rated as *late usage* on this invoice, never by editing an old one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.models import Account, Subscription, UsageRecord
from app.rating.money import quantize_money
from app.rating.proration import Period, add_months, period_containing, prorate
from app.rating.quote import QuotaLine, compile_plan, rate_usage

from ..plans import spec_of
from ..quotas import absorbed_by_pools

ZERO = Decimal(0)
MB = Decimal(10) ** 6
HOUR = Decimal(3600)
PERIOD_WORDS = {"monthly": "month", "quarterly": "quarter", "annual": "year"}


@dataclass
class DraftLine:
    kind: str
    description: str
    amount: Decimal
    quantity: Decimal | None = None
    unit: str | None = None
    unit_price: Decimal | None = None


@dataclass
class InvoiceDraft:
    account_id: int
    currency: str
    period: Period
    lines: list[DraftLine] = field(default_factory=list)
    usage_record_ids: list[int] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return quantize_money(sum((line.amount for line in self.lines), ZERO), self.currency)


def month_period(text_or_day: str | date) -> Period:
    if isinstance(text_or_day, str):
        year, month = (int(part) for part in text_or_day.split("-"))
        first = date(year, month, 1)
    else:
        first = text_or_day.replace(day=1)
    return Period(first, add_months(first, 1))


def _active_in(subscription: Subscription, period: Period) -> bool:
    return (subscription.status not in ("ordered", "cancelled") or subscription.ends_on is not None) and \
        subscription.starts_on < period.end and (subscription.ends_on is None or subscription.ends_on > period.start)


def draft_invoice(account: Account, period: Period) -> InvoiceDraft | None:
    """The invoice ``account`` would get for ``period`` now; None when it owes nothing."""
    subscriptions = [s for s in account.subscriptions if _active_in(s, period)]
    if not subscriptions:
        return None
    currency = subscriptions[0].plan_version.plan.currency
    draft = InvoiceDraft(account.id, currency, period)
    for subscription in subscriptions:
        _fees(draft, subscription, period)
    _usage(draft, account, subscriptions[0], period)
    return draft


def _fees(draft: InvoiceDraft, subscription: Subscription, period: Period) -> None:
    version = subscription.plan_version
    plan_name = version.plan.name
    currency = draft.currency
    starts, ends = subscription.starts_on, subscription.ends_on
    for fee in version.fees:
        amount = quantize_money(fee.amount, currency)
        if fee.kind in ("setup", "one_time"):
            if starts in period:
                label = "Setup fee" if fee.kind == "setup" else "One-time fee"
                draft.lines.append(DraftLine(fee.kind, f"{label}: {plan_name}", amount, Decimal(1), None, amount))
            continue
        # Recurring: every fee period that begins inside the billing month is billed now.
        anchor = starts
        fee_period = period_containing(anchor, fee.period, max(period.start, starts), fee.every_days)
        if fee_period.start < period.start:
            fee_period = period_containing(anchor, fee.period, fee_period.end, fee.every_days)
        while fee_period.start < period.end:
            if ends is not None and fee_period.start >= ends:
                break
            charged = prorate(amount, fee_period, max(starts, fee_period.start),
                              min(ends or fee_period.end, fee_period.end), currency)
            unit = PERIOD_WORDS.get(fee.period, f"{fee.every_days} days")
            partial = "" if charged == amount else " (prorated)"
            draft.lines.append(DraftLine(
                "recurring", f"{plan_name}: {fee_period.start.isoformat()} to "
                             f"{fee_period.end.isoformat()}, one {unit}{partial}",
                charged, Decimal(1), None, charged))
            fee_period = period_containing(anchor, fee.period, fee_period.end, fee.every_days)


def _usage(draft: InvoiceDraft, account: Account, subscription: Subscription, period: Period) -> None:
    start = datetime.combine(period.start, time(), tzinfo=UTC)
    end = datetime.combine(period.end, time(), tzinfo=UTC)
    rows = db.session.execute(
        select(UsageRecord.id, UsageRecord.event_time, UsageRecord.bytes_in + UsageRecord.bytes_out,
               UsageRecord.duration_s, UsageRecord.quantity, UsageRecord.unit)
        .where(UsageRecord.account_id == account.id, UsageRecord.invoice_id.is_(None),
               UsageRecord.event_time < end)
    ).all()
    if not rows:
        return
    current: dict[str, Decimal] = {}
    late: dict[str, Decimal] = {}
    for record_id, moment, octets, seconds, quantity, unit in rows:
        bucket = current if moment >= start else late
        bucket["MB"] = bucket.get("MB", ZERO) + Decimal(octets or 0) / MB
        bucket["hour"] = bucket.get("hour", ZERO) + Decimal(seconds or 0) / HOUR
        if unit and quantity is not None:
            bucket[unit] = bucket.get(unit, ZERO) + quantity
        draft.usage_record_ids.append(record_id)
    spec = spec_of(subscription.plan_version)
    compiled = compile_plan(spec)
    pooled = absorbed_by_pools(account.id, period.start, period.end)
    for unit, quantity in pooled.items():
        if unit in current:
            current[unit] = max(ZERO, current[unit] - quantity)
            draft.lines.append(DraftLine("quota", f"Covered by quota pools: {quantity.normalize():f} {unit}",
                                         quantize_money(ZERO, draft.currency), quantity, unit))
    _rated_lines(draft, compiled, _known(current, compiled), "usage")
    if late:
        # Late usage is rated on its own: its month's included units were given on that
        # month's invoice already.
        late_plan = compile_plan(replace(spec, quotas=()))
        _rated_lines(draft, late_plan, _known(late, compiled), "late_usage")


def _known(usage: dict[str, Decimal], compiled) -> dict[str, Decimal]:
    from app.rating.units import UnitError, lookup

    known = {}
    for unit, quantity in usage.items():
        try:
            lookup(unit, compiled.spec.units)
        except UnitError:
            continue
        if quantity > 0:
            known[unit] = quantity
    return known


def _rated_lines(draft, compiled, usage, kind) -> None:
    for line in rate_usage(compiled, usage):
        if isinstance(line, QuotaLine):
            draft.lines.append(DraftLine("quota", line.explanation, line.amount, line.units, line.unit))
            continue
        prefix = "late usage, " if kind == "late_usage" else ""
        draft.lines.append(DraftLine(kind, prefix + line.explanation, line.amount, line.units,
                                     line.unit, line.price))
