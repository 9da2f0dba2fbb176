"""Quota pools: cascading draws, threshold crossings and period carry-over.

An account draws usage from its pools in a set order (e.g. individual → cost centre →
realm); each pool gives what it has left, and whatever no pool covers overflows to the
charge bands. Pure functions: the database side locks and stores the balances.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)
CARRY_OVER_POLICIES = ("none", "full", "capped")


@dataclass(frozen=True, slots=True)
class PoolState:
    pool_id: object
    unit: str
    remaining: Decimal
    label: str = ""


@dataclass(frozen=True, slots=True)
class Draw:
    absorbed: tuple[tuple[object, Decimal], ...]  # (pool id, quantity) in draw order
    overflow: Decimal

    @property
    def total_absorbed(self) -> Decimal:
        return sum((q for _, q in self.absorbed), ZERO)


def draw(pools: Sequence[PoolState], quantity: Decimal) -> Draw:
    """Take ``quantity`` from ``pools`` in order; pools of other units are skipped by the caller."""
    if quantity < 0:
        raise ValueError("usage quantity must not be negative")
    left = quantity
    absorbed = []
    for pool in pools:
        if left <= 0:
            break
        take = min(left, max(pool.remaining, ZERO))
        if take > 0:
            absorbed.append((pool.pool_id, take))
            left -= take
    return Draw(tuple(absorbed), left)


def crossed_thresholds(size: Decimal, used_before: Decimal, used_after: Decimal,
                       percents: Iterable[int] = (80, 100)) -> list[int]:
    """The threshold percentages newly reached by going from ``used_before`` to ``used_after``."""
    if size <= 0:
        return []
    crossed = []
    for percent in sorted(percents):
        mark = size * Decimal(percent) / 100
        if used_before < mark <= used_after:
            crossed.append(percent)
    return crossed


def next_period_balance(size: Decimal, remaining: Decimal, policy: str = "none",
                        cap: Decimal | None = None) -> Decimal:
    """Opening balance of the next period: the size, plus what carries over.

    ``none``: unused units expire; ``full``: all unused units carry over; ``capped``: at
    most ``cap`` units carry over.
    """
    if policy not in CARRY_OVER_POLICIES:
        raise ValueError(f"unknown carry-over policy {policy!r}")
    left = max(remaining, ZERO)
    if policy == "none":
        return size
    if policy == "full":
        return size + left
    if cap is None or cap < 0:
        raise ValueError("a capped carry-over needs a cap >= 0")
    return size + min(left, cap)
