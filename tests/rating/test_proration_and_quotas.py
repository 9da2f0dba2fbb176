"""Proration sums exactly to the fee; periods clamp to month ends; pools cascade."""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.rating.money import allocate
from app.rating.proration import Period, add_months, period_containing, prorate
from app.rating.quotas import PoolState, crossed_thresholds, draw, next_period_balance


def test_anchor_day_clamps_to_month_end():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    p = period_containing(date(2026, 1, 31), "monthly", date(2026, 3, 15))
    assert p == Period(date(2026, 2, 28), date(2026, 3, 31))
    assert period_containing(date(2026, 1, 1), "quarterly", date(2026, 5, 5)) == Period(date(2026, 4, 1), date(2026, 7, 1))
    assert period_containing(date(2026, 1, 1), "annual", date(2026, 12, 31)).end == date(2027, 1, 1)
    assert period_containing(date(2026, 1, 1), "days", date(2026, 1, 20), 7) == Period(date(2026, 1, 15), date(2026, 1, 22))


def test_half_a_month():
    period = Period(date(2026, 4, 1), date(2026, 5, 1))
    assert prorate(D("30.00"), period, date(2026, 4, 16), date(2026, 5, 1), "USD") == D("15.00")
    assert prorate(D("30.00"), period, date(2026, 3, 1), date(2026, 6, 1), "USD") == D("30.00")


@settings(max_examples=300, deadline=None)
@given(
    amount=st.decimals(min_value=0, max_value=100000, places=2),
    currency=st.sampled_from(["USD", "JPY", "KWD"]),
    anchor=st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)),
    kind=st.sampled_from(["monthly", "quarterly", "annual", "days"]),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=6),
)
def test_prorated_parts_sum_to_the_full_fee(amount, currency, anchor, kind, cuts):
    amount = amount.quantize(D(1).scaleb(-{"USD": 2, "JPY": 0, "KWD": 3}[currency]))
    period = period_containing(anchor, kind, anchor + timedelta(days=40), 30)
    points = sorted({period.start, period.end, *(period.start + timedelta(days=c % period.days) for c in cuts)})
    parts = [prorate(amount, period, a, b, currency) for a, b in zip(points, points[1:], strict=False)]
    assert sum(parts, D(0)) == amount


def test_leap_february():
    assert period_containing(date(2028, 1, 31), "monthly", date(2028, 2, 29)) == Period(date(2028, 2, 29), date(2028, 3, 31))
    february = Period(date(2028, 2, 1), date(2028, 3, 1))
    assert february.days == 29
    assert prorate(D("29.00"), february, date(2028, 2, 15), date(2028, 3, 1), "USD") == D("15.00")


def test_allocate_parts_sum_exactly():
    assert allocate(D("10.00"), [D(1), D(1), D(1)], "USD") == [D("3.34"), D("3.33"), D("3.33")]
    assert sum(allocate(D("-0.05"), [D(2), D(3)], "USD")) == D("-0.05")


def test_cascading_draw():
    pools = [PoolState("me", "MB", D("100")), PoolState("dept", "MB", D("50")), PoolState("all", "MB", D("0"))]
    result = draw(pools, D("180"))
    assert result.absorbed == (("me", D("100")), ("dept", D("50")))
    assert result.overflow == D("30")
    assert draw(pools, D("20")).absorbed == (("me", D("20")),)
    with pytest.raises(ValueError):
        draw(pools, D("-1"))


def test_thresholds_and_carry_over():
    assert crossed_thresholds(D("1000"), D("700"), D("1000")) == [80, 100]
    assert crossed_thresholds(D("1000"), D("800"), D("900")) == []
    assert next_period_balance(D("10"), D("4"), "none") == D("10")
    assert next_period_balance(D("10"), D("4"), "full") == D("14")
    assert next_period_balance(D("10"), D("4"), "capped", D("3")) == D("13")
