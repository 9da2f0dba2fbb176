"""Quotes: one full billing period of a plan for given usage (DESIGN.md contract).

``quote(plan, {"MB": Decimal("700")})`` rates recurring fees (and, with ``with_setup``,
setup and one-time fees), then per unit: included quota, then the charge bands. Every
amount is quantized to the plan's currency; ``total`` is the sum of the lines.
``Quote.to_dict()`` is the ``realmbill rate --json`` shape, every amount a decimal string.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from .bands import (
    ZERO,
    RatedLine,
    billed_quantity,
    compile_rules,
    fmt,
    normalise_usage,
    price_text,
    rate_unit,
    usage_route,
)
from .money import MoneyError, minor_units, parse_decimal, quantize_money
from .plan import PlanSpec
from .units import UnitError, canonical

PERIOD_WORDS = {"monthly": "monthly", "quarterly": "quarterly", "annual": "annual"}


class UsageArgumentError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class CompiledPlan:
    """A plan version ready to rate: band tables per unit, included quotas, unit routes.

    Built once per distinct plan content (``compile_plan`` caches by value) and shared:
    it is never changed after it was built, except for ``routes``, a cache of how each
    usage unit name reaches a band unit (filled on first use, same answer every time).
    """

    spec: PlanSpec
    rules: dict
    quotas: dict  # canonical unit -> included quantity
    routes: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def currency(self) -> str:
        return self.spec.currency


COMPILED_CACHE_SIZE = 4096


def compile_plan(spec: PlanSpec) -> CompiledPlan:
    """The compiled form of ``spec``; equal specs share one (cached, read-only) CompiledPlan."""
    try:
        return _compile_cached(spec)
    except TypeError:  # pragma: no cover - an unhashable spec (a list smuggled in a field)
        return _compile(spec)


def _compile(spec: PlanSpec) -> CompiledPlan:
    quotas: dict[str, Decimal] = {}
    for quota in spec.quotas:
        unit = canonical(quota.unit, spec.units)
        quotas[unit] = quotas.get(unit, ZERO) + quota.amount
    return CompiledPlan(spec, compile_rules(spec.bands, spec.units), quotas)


_compile_cached = lru_cache(maxsize=COMPILED_CACHE_SIZE)(_compile)


@dataclass(frozen=True, slots=True)
class FeeLine:
    kind: str
    amount: Decimal
    period: str | None
    every_days: int | None

    @property
    def explanation(self) -> str:
        if self.kind == "recurring":
            every = (f"every {self.every_days} days" if self.period == "days"
                     else PERIOD_WORDS.get(self.period or "", self.period or ""))
            return f"recurring fee ({every}): {format(self.amount, 'f')}"
        return f"{self.kind.replace('_', '-')} fee: {format(self.amount, 'f')}"


@dataclass(frozen=True, slots=True)
class QuotaLine:
    unit: str
    units: Decimal
    included: Decimal
    amount: Decimal

    @property
    def explanation(self) -> str:
        return f"included quota: {fmt(self.units)} of {fmt(self.included)} {self.unit} at no charge"


@dataclass(frozen=True)
class Quote:
    currency: str
    lines: list = field(default_factory=list)
    unpriced: dict = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return quantize_money(sum((line.amount for line in self.lines), ZERO), self.currency)

    def to_dict(self) -> dict:
        places = minor_units(self.currency)
        out = []
        for line in self.lines:
            if isinstance(line, FeeLine):
                item = {"kind": line.kind, "amount": format(line.amount, "f")}
                if line.period:
                    item["period"] = line.period
                if line.every_days:
                    item["every_days"] = line.every_days
            elif isinstance(line, QuotaLine):
                item = {"kind": "quota", "unit": line.unit, "units": fmt(line.units),
                        "amount": format(line.amount, "f")}
            else:
                item = {"kind": "usage", "band": line.band, "unit": line.unit,
                        "units": fmt(line.units), "raw_units": fmt(line.raw_units),
                        "price": price_text(line.price, places), "amount": format(line.amount, "f")}
            item["explanation"] = line.explanation
            out.append(item)
        return {"currency": self.currency, "total": format(self.total, "f"), "lines": out}


def quote(plan: PlanSpec | CompiledPlan, usage: Mapping[str, Decimal | list[Decimal]],
          with_setup: bool = False) -> Quote:
    compiled = plan if isinstance(plan, CompiledPlan) else compile_plan(plan)
    spec, currency = compiled.spec, compiled.currency
    lines: list = []
    for fee in spec.fees:
        if fee.kind == "recurring" or with_setup:
            lines.append(FeeLine(fee.kind, quantize_money(fee.amount, currency), fee.period, fee.every_days))
    lines.extend(rate_usage(compiled, usage))
    _, unpriced = normalise_usage(usage, compiled.rules, spec.units)
    return Quote(currency, lines, unpriced)


def rate_usage(compiled: CompiledPlan, usage: Mapping[str, Decimal | list[Decimal]]) -> list:
    """Quota and band lines for one period's usage (the hot path of billing runs)."""
    priced = _priced(compiled, usage)
    if not priced:
        return []
    currency = compiled.currency
    zero = quantize_money(ZERO, currency)
    lines: list = []
    quotas = compiled.quotas
    for unit, rule in compiled.rules.items():
        quantity = priced.get(unit)
        if quantity is None:
            continue
        raw, billed = billed_quantity(rule, quantity)
        included = quotas.get(unit, ZERO)
        if included > 0 and billed > 0:
            absorbed = min(included, billed)
            lines.append(QuotaLine(unit, absorbed, included, zero))
            billed -= absorbed
            raw = max(ZERO, raw - absorbed)
        lines.extend(rate_unit(rule, billed, currency, raw))
    return lines


def _priced(compiled: CompiledPlan, usage: Mapping[str, Decimal | list[Decimal]]) -> dict:
    """``normalise_usage(...)[0]`` with each unit's route looked up once per plan.

    Same arithmetic as normalise_usage (``quantity * source size / target size``, in that
    order), so the same Decimals come out.
    """
    routes = compiled.routes
    priced: dict = {}
    for name, quantity in usage.items():
        route = routes.get(name)
        if route is None:
            route = routes[name] = usage_route(name, compiled.rules, compiled.spec.units)
        target, source_size, target_size = route
        if target is None:
            continue
        if isinstance(quantity, list):
            if source_size is not None:
                quantity = [q * source_size / target_size for q in quantity]
            previous = priced.get(target)
            if previous is None:
                priced[target] = list(quantity)
            else:
                priced[target] = (previous if isinstance(previous, list) else [previous]) + quantity
            continue
        if source_size is not None:
            quantity = quantity * source_size / target_size
        previous = priced.get(target)
        if previous is None:
            priced[target] = ZERO + quantity
        elif isinstance(previous, list):
            priced[target] = previous + [quantity]
        else:
            priced[target] = previous + quantity
    return priced


def parse_usage_args(values: Sequence[str], extra_units: tuple[str, ...] = ()) -> dict[str, Decimal]:
    """``["MB=700", "hour=3"]`` → ``{"MB": Decimal("700"), "hour": Decimal("3")}``."""
    usage: dict[str, Decimal] = {}
    for value in values:
        unit, sep, amount = value.partition("=")
        if not sep or not unit.strip():
            raise UsageArgumentError(f"expected UNIT=AMOUNT, got {value!r}")
        try:
            name = canonical(unit.strip(), extra_units)
        except UnitError as exc:
            raise UsageArgumentError(str(exc)) from None
        try:
            quantity = parse_decimal(amount.strip())
        except MoneyError:
            raise UsageArgumentError(f"{unit}: not a decimal number: {amount!r}") from None
        if quantity < 0:
            raise UsageArgumentError(f"{unit}: usage must not be negative")
        usage[name] = usage.get(name, ZERO) + quantity
    return usage


def format_quote_table(result: Quote) -> str:
    """The human form of a quote for the CLI: aligned columns, then each line's explanation."""
    rows = [("kind", "band", "unit", "units", "price", "amount")]
    places = minor_units(result.currency)
    for line in result.lines:
        if isinstance(line, FeeLine):
            rows.append((line.kind, "", "", "", "", format(line.amount, "f")))
        elif isinstance(line, QuotaLine):
            rows.append(("quota", "", line.unit, fmt(line.units), "", format(line.amount, "f")))
        elif isinstance(line, RatedLine):
            rows.append(("usage", str(line.band), line.unit, fmt(line.units),
                         price_text(line.price, places), format(line.amount, "f")))
    rows.append(("total", "", "", "", "", f"{format(result.total, 'f')} {result.currency}"))
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    right = {3, 4, 5}
    text = []
    for row in rows:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        text.append("  ".join(cells).rstrip())
    text.append("")
    text.extend(f"- {line.explanation}" for line in result.lines)
    for unit, quantity in result.unpriced.items():
        text.append(f"- {fmt(quantity)} {unit}: not priced by this plan")
    return "\n".join(text)
