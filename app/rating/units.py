"""Units of usage and their conversion, done once at the edge of rating.

Data units are decimal SI, as ISPs bill and as the sizes on a customer's contract read:
1 kB = 1,000 bytes, 1 MB = 1,000,000 bytes, 1 GB = 10**9 bytes, 1 TB = 10**12 bytes.
Time: 1 minute = 60 s, 1 hour = 3,600 s. Count units (messages, calls, sessions, items,
kWh) do not convert into each other. A plan may declare more count units by name
(``units: [{name: SMS}]`` in its file); any other unit is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Unit:
    name: str
    dimension: str  # "data", "time", or the unit's own name for count units
    size: Decimal   # in the dimension's base unit (byte, second, one item)


_BUILTIN = [
    Unit("byte", "data", Decimal(1)),
    Unit("kB", "data", Decimal(10) ** 3),
    Unit("MB", "data", Decimal(10) ** 6),
    Unit("GB", "data", Decimal(10) ** 9),
    Unit("TB", "data", Decimal(10) ** 12),
    Unit("second", "time", Decimal(1)),
    Unit("minute", "time", Decimal(60)),
    Unit("hour", "time", Decimal(3600)),
    Unit("message", "message", Decimal(1)),
    Unit("call", "call", Decimal(1)),
    Unit("session", "session", Decimal(1)),
    Unit("item", "item", Decimal(1)),
    Unit("kWh", "kWh", Decimal(1)),
]
UNITS = {u.name: u for u in _BUILTIN}
ALIASES = {"s": "second", "sec": "second", "min": "minute", "h": "hour", "B": "byte",
           "KB": "kB", "messages": "message", "sms": "message", "SMS": "message"}


class UnitError(ValueError):
    pass


def lookup(name: str, extra: tuple[str, ...] = ()) -> Unit:
    """The unit called ``name`` (an alias, a built-in, or one of the plan's ``extra`` units)."""
    name = ALIASES.get(name, name)
    unit = UNITS.get(name)
    if unit is not None:
        return unit
    if name in extra:
        return Unit(name, name, Decimal(1))
    raise UnitError(f"unknown unit {name!r}")


def is_known(name: str, extra: tuple[str, ...] = ()) -> bool:
    try:
        lookup(name, extra)
    except UnitError:
        return False
    return True


def convert(quantity: Decimal, source: str, target: str, extra: tuple[str, ...] = ()) -> Decimal:
    """``quantity`` of ``source`` expressed in ``target`` (same dimension), exactly."""
    a, b = lookup(source, extra), lookup(target, extra)
    if a.dimension != b.dimension:
        raise UnitError(f"cannot convert {a.name} to {b.name}")
    if a.size == b.size:
        return quantity
    return quantity * a.size / b.size


def canonical(name: str, extra: tuple[str, ...] = ()) -> str:
    return lookup(name, extra).name
