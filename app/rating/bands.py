"""Charge bands, exactly as DESIGN.md "Band semantics" defines them.

Per unit, bands apply in ascending order of their maximum usage: the smallest maximum
rates usage from 0 to that maximum, the next from there to its own maximum, and so on. A
band whose maximum is 0 is unlimited: it rates all usage of its unit above the highest
non-zero maximum (and all usage, when it is the unit's only band). Units are independent.

Where DESIGN.md is silent:

- A unit with no unlimited band: usage above its highest maximum goes on being rated by
  that highest band (a plan never gives usage away by accident).
- Increments: a unit's bands share one ``increment``/``round_per`` (the plan file refuses
  bands of one unit that disagree). Usage is rounded *up* to a multiple of the increment,
  of the unit's total or of every record, before quotas and bands; the rated line shows
  the raw quantity next to the billed one.
- Usage given in another unit of the same dimension (bytes for a MB band, seconds for an
  hour band) is converted once, before anything else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from .money import quantum
from .plan import Band
from .units import canonical, convert, lookup

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Tier:
    band: int              # 1-based position of the band in the plan
    lower: Decimal
    upper: Decimal | None  # None: no upper bound
    price: Decimal
    max_usage: Decimal


@dataclass(frozen=True, slots=True)
class UnitRule:
    unit: str
    tiers: tuple[Tier, ...]
    increment: Decimal | None
    round_per: str


@dataclass(frozen=True, slots=True)
class RatedLine:
    band: int
    unit: str
    raw_units: Decimal
    units: Decimal
    price: Decimal
    amount: Decimal
    lower: Decimal
    upper: Decimal | None

    @property
    def explanation(self) -> str:
        key = (self.band, self.unit, self.lower, self.upper, self.price)
        head = _HEADS.get(key)
        if head is None:
            if self.upper is not None:
                span = f"from {fmt(self.lower)} to {fmt(self.upper)} {self.unit}"
            elif self.lower > 0:
                span = f"above {fmt(self.lower)} {self.unit}"
            else:
                span = f"all {self.unit}"
            head = f"band {self.band} ({span}): ", f" {self.unit}", f" x {price_text(self.price)} = "
            if len(_HEADS) > 10_000:
                _HEADS.clear()
            _HEADS[key] = head
        start, unit, price = head
        rounding = f" ({fmt(self.raw_units)} used, rounded up)" if self.raw_units != self.units else ""
        return f"{start}{fmt(self.units)}{unit}{rounding}{price}{format(self.amount, 'f')}"


# The fixed parts of a band line's explanation, per tier (a plan has few; billing has many lines).
_HEADS: dict[tuple, tuple[str, str, str]] = {}


_MICRO = Decimal("0.000001")


def fmt(value: Decimal) -> str:
    """A quantity as people read it: no exponent, no trailing zeros, at most 6 decimals."""
    # format(d, "f") writes exactly -exponent decimals: more than 6 means exponent < -6.
    text = format(value, "f")
    point = text.find(".")
    if point < 0:
        return text
    if len(text) - point > 7:
        text = format(value.quantize(_MICRO, rounding=ROUND_HALF_UP), "f")
        if "." not in text:
            return text
    return text.rstrip("0").rstrip(".")


def price_text(value: Decimal, places: int = 2) -> str:
    """A price with at least ``places`` decimals and no needless trailing zeros: 0.10, 0.125."""
    text = fmt(value)
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(places, '0')}" if places else text


def compile_rules(bands: Iterable[Band], extra_units: tuple[str, ...] = ()) -> dict[str, UnitRule]:
    by_unit: dict[str, list[tuple[int, Band]]] = {}
    for position, band in enumerate(bands, 1):
        by_unit.setdefault(canonical(band.unit, extra_units), []).append((position, band))
    rules = {}
    for unit, entries in by_unit.items():
        limited = sorted((e for e in entries if e[1].max_usage > 0), key=lambda e: e[1].max_usage)
        unlimited = [e for e in entries if e[1].max_usage == 0]
        tiers, lower = [], ZERO
        for index, (position, band) in enumerate(limited):
            last = index == len(limited) - 1 and not unlimited
            tiers.append(Tier(position, lower, None if last else band.max_usage, band.price, band.max_usage))
            lower = band.max_usage
        for position, band in unlimited[:1]:
            tiers.append(Tier(position, lower, None, band.price, band.max_usage))
        first = entries[0][1]
        rules[unit] = UnitRule(unit, tuple(tiers), first.increment, first.round_per)
    return rules


def round_up(quantity: Decimal, increment: Decimal | None) -> Decimal:
    if not increment or quantity <= 0:
        return quantity
    steps = (quantity / increment).to_integral_value(rounding=ROUND_CEILING)
    return steps * increment


def billed_quantity(rule: UnitRule, usage: Decimal | list[Decimal]) -> tuple[Decimal, Decimal]:
    """(raw, billed) quantity of a unit's usage after increment rounding."""
    if isinstance(usage, list):
        raw = sum(usage, ZERO)
        if rule.round_per == "record":
            return raw, sum((round_up(q, rule.increment) for q in usage), ZERO)
        return raw, round_up(raw, rule.increment)
    return usage, round_up(usage, rule.increment)


def rate_unit(rule: UnitRule, quantity: Decimal, currency: str, raw: Decimal | None = None) -> list[RatedLine]:
    """Spread ``quantity`` (already rounded, after quotas) over the unit's tiers."""
    step = quantum(currency)
    lines = []
    raw = quantity if raw is None else raw
    for tier in rule.tiers:
        if quantity <= tier.lower:
            break
        top = quantity if tier.upper is None else min(quantity, tier.upper)
        units = top - tier.lower
        raw_units = max(ZERO, min(raw, top) - tier.lower) if raw != quantity else units
        amount = (units * tier.price).quantize(step, rounding=ROUND_HALF_UP)
        lines.append(_new_line(tier.band, rule.unit, raw_units, units, tier.price, amount, tier.lower, tier.upper))
    return lines


def _line_factory():
    """``RatedLine(*values)`` without the frozen dataclass's per-field ``object.__setattr__``
    by name (same object, set through the slot descriptors; the rating hot loop makes many)."""
    new = object.__new__
    setters = tuple(getattr(RatedLine, name).__set__ for name in RatedLine.__slots__)
    assert RatedLine.__slots__ == ("band", "unit", "raw_units", "units", "price", "amount", "lower", "upper")
    s_band, s_unit, s_raw, s_units, s_price, s_amount, s_lower, s_upper = setters

    def make(band, unit, raw_units, units, price, amount, lower, upper) -> RatedLine:
        line = new(RatedLine)
        s_band(line, band)
        s_unit(line, unit)
        s_raw(line, raw_units)
        s_units(line, units)
        s_price(line, price)
        s_amount(line, amount)
        s_lower(line, lower)
        s_upper(line, upper)
        return line

    return make


_new_line = _line_factory()


def usage_route(name: str, rules: Mapping[str, UnitRule],
                extra_units: tuple[str, ...] = ()) -> tuple[str | None, Decimal | None, Decimal | None]:
    """Where usage named ``name`` goes: (band unit or None if unpriced, source size, target size).

    The sizes are None when no conversion is needed; otherwise the quantity becomes
    ``quantity * source size / target size``. Raises UnitError for an unknown unit.
    """
    unit = lookup(name, extra_units)
    target = unit.name if unit.name in rules else next(
        (u for u in rules if lookup(u, extra_units).dimension == unit.dimension), None)
    if target is None:
        return None, None, None
    size = lookup(target, extra_units).size
    if unit.size == size:
        return target, None, None
    return target, unit.size, size


def normalise_usage(usage: Mapping[str, Decimal | list[Decimal]], rules: Mapping[str, UnitRule],
                    extra_units: tuple[str, ...] = ()) -> tuple[dict[str, Decimal | list[Decimal]], dict[str, Decimal]]:
    """Usage keyed by the plan's band units (converted), and what the plan does not price."""
    priced: dict[str, Decimal | list[Decimal]] = {}
    unpriced: dict[str, Decimal] = {}
    for name, quantity in usage.items():
        unit = lookup(name, extra_units)
        target = unit.name if unit.name in rules else next(
            (u for u in rules if lookup(u, extra_units).dimension == unit.dimension), None)
        if target is None:
            unpriced[unit.name] = sum(quantity, ZERO) if isinstance(quantity, list) else quantity
            continue
        if isinstance(quantity, list):
            converted: Decimal | list[Decimal] = [convert(q, unit.name, target, extra_units) for q in quantity]
            previous = priced.get(target, [])
            priced[target] = (previous if isinstance(previous, list) else [previous]) + converted
        else:
            converted = convert(quantity, unit.name, target, extra_units)
            previous = priced.get(target, ZERO)
            if isinstance(previous, list):
                priced[target] = previous + [converted]
            else:
                priced[target] = previous + converted
    return priced, unpriced
