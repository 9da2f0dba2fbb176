"""Billing periods and proration by days.

Periods run from an anchor date: monthly, quarterly and annual periods start on the
anchor's day of the month, clamped to the month's end (anchor 31 → 28/29 February, 30
April); a period of N days starts every N days. A period is ``[start, end)``.

Proration rule: a fee for part of a period is the fee times the days used over the days
of the period, with *cumulative rounding*: the part ``[a, b)`` of period ``[s, e)`` costs
``q(fee × (b − s) / D) − q(fee × (a − s) / D)``, ``D = e − s`` in days and ``q`` rounding to
the currency. So the parts of any split of a period (a plan change, a start and an end
mid-period) always add up exactly to the full fee, and a full period costs the fee.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from .money import quantize_money

MONTHS = {"monthly": 1, "quarterly": 3, "annual": 12}


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date  # exclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def __contains__(self, day: date) -> bool:
        return self.start <= day < self.end


def add_months(anchor: date, months: int) -> date:
    """``anchor`` moved by ``months``, its day clamped to the target month's length."""
    index = anchor.year * 12 + (anchor.month - 1) + months
    year, month = divmod(index, 12)
    day = min(anchor.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day)


def period_containing(anchor: date, period: str, day: date, every_days: int | None = None) -> Period:
    if period == "days":
        if not every_days or every_days < 1:
            raise ValueError("period 'days' needs every_days >= 1")
        k = (day - anchor).days // every_days
        start = anchor + timedelta(days=k * every_days)
        return Period(start, start + timedelta(days=every_days))
    months = MONTHS.get(period)
    if months is None:
        raise ValueError(f"unknown period {period!r}")
    # Estimate the index from the month difference, then step to the exact period.
    k = ((day.year - anchor.year) * 12 + day.month - anchor.month) // months
    while add_months(anchor, k * months) > day:
        k -= 1
    while add_months(anchor, (k + 1) * months) <= day:
        k += 1
    return Period(add_months(anchor, k * months), add_months(anchor, (k + 1) * months))


def next_period(anchor: date, period: str, current: Period, every_days: int | None = None) -> Period:
    return period_containing(anchor, period, current.end, every_days)


def prorate(amount: Decimal, period: Period, start: date, end: date, currency: str) -> Decimal:
    """The part of ``amount`` for ``[start, end)`` within ``period`` (see the module rule)."""
    a = min(max(start, period.start), period.end)
    b = min(max(end, period.start), period.end)
    if b <= a:
        return quantize_money(Decimal(0), currency)
    days = Decimal(period.days)

    def upto(moment: date) -> Decimal:
        return quantize_money(amount * Decimal((moment - period.start).days) / days, currency)

    return upto(b) - upto(a)
