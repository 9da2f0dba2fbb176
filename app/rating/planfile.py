"""Plan files: the YAML format of DESIGN.md "Plan files and quotes", read and written.

::

    code: jet-mixed
    name: Mixed time and traffic
    currency: USD
    fees:
      - {kind: setup, amount: "10.00"}
      - {kind: recurring, period: monthly, amount: "20.00"}
    bands:
      - {unit: MB, max_usage: "0", price: "0.50"}
    quotas:
      - {unit: MB, amount: "0"}

Amounts, prices and usage limits are decimal *strings* (an unquoted ``0.5`` is a float in
YAML and is refused; an unquoted whole number such as ``0`` is accepted, being exact).
Keys beyond DESIGN.md, all optional:

- fee ``every_days`` (with ``period: days``): a recurring fee every N days;
- band ``increment``: usage rounded up to a multiple of it (per started minute, MB …);
- band ``round_per``: ``total`` (default) or ``record`` (round each session/call);
- top-level ``units``: ``[{name: SMS}]``, extra count units the plan bills.

Every problem is collected and reported at once, each with the file, the key path
(``bands[2].price``, indices from 0 as in the file's list) and what is wrong; nothing of
a file with a problem is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import yaml

from .money import MINOR_UNITS, MoneyError, parse_decimal
from .plan import FEE_KINDS, PERIODS, ROUND_PER, Band, Fee, PlanSpec, Quota
from .units import is_known

TOP_KEYS = {"code", "name", "currency", "fees", "bands", "quotas", "units"}
REQUIRED_TOP = ("code", "name", "currency")
FEE_KEYS = {"kind", "amount", "period", "every_days"}
BAND_KEYS = {"unit", "max_usage", "price", "increment", "round_per"}
QUOTA_KEYS = {"unit", "amount"}
UNIT_KEYS = {"name"}


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    message: str


class PlanFileError(ValueError):
    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p.path}: {p.message}" for p in problems))


class _Reader:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def mapping(self, value: Any, path: str, allowed: set[str], required: tuple[str, ...]) -> dict | None:
        if not isinstance(value, dict):
            self.problem(path, f"expected a mapping, got {_kind(value)}")
            return None
        for key in value:
            if key not in allowed:
                self.problem(_join(path, key), "unknown key")
        for key in required:
            if key not in value:
                self.problem(_join(path, key), "missing required key")
        return value

    def text(self, data: dict, key: str, path: str) -> str | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(_join(path, key), "expected non-empty text")
            return None
        return value.strip()

    def decimal(self, data: dict, key: str, path: str, *, positive: bool = False) -> Decimal | None:
        if key not in data:
            return None
        value = data[key]
        where = _join(path, key)
        if isinstance(value, float):
            self.problem(where, f"write amounts as quoted strings, e.g. \"{value}\"")
            return None
        try:
            number = parse_decimal(value)
        except MoneyError:
            self.problem(where, f"not a decimal number: {value!r}")
            return None
        if number < 0:
            self.problem(where, f"must not be negative: {value!r}")
            return None
        if positive and number == 0:
            self.problem(where, "must be greater than 0")
            return None
        if number.as_tuple().exponent < -6:
            self.problem(where, f"more than 6 decimal places: {value!r}")
            return None
        return number

    def items(self, data: dict, key: str) -> list:
        value = data.get(key, [])
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(key, f"expected a list, got {_kind(value)}")
            return []
        return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else str(key)


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text"}.get(type(value), type(value).__name__)


def load_plan_yaml(text: str, source: str = "<file>") -> PlanSpec:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        raise PlanFileError(source, [Problem(where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from None
    return load_plan_mapping(data, source)


def load_plan_mapping(data: Any, source: str = "<data>") -> PlanSpec:
    reader = _Reader()
    top = reader.mapping(data, "", TOP_KEYS, REQUIRED_TOP)
    if top is None:
        raise PlanFileError(source, reader.problems)
    code = reader.text(top, "code", "")
    name = reader.text(top, "name", "")
    currency = reader.text(top, "currency", "")
    if currency is not None and currency not in MINOR_UNITS:
        reader.problem("currency", f"unknown currency {currency!r}")

    extra_units: list[str] = []
    for i, raw in enumerate(reader.items(top, "units")):
        item = reader.mapping(raw, f"units[{i}]", UNIT_KEYS, ("name",))
        if item is not None and (unit_name := reader.text(item, "name", f"units[{i}]")):
            if is_known(unit_name):
                reader.problem(f"units[{i}].name", f"{unit_name!r} is a built-in unit")
            else:
                extra_units.append(unit_name)
    extra = tuple(extra_units)

    fees = []
    for i, raw in enumerate(reader.items(top, "fees")):
        path = f"fees[{i}]"
        item = reader.mapping(raw, path, FEE_KEYS, ("kind", "amount"))
        if item is None:
            continue
        kind = item.get("kind")
        if kind not in FEE_KINDS:
            reader.problem(f"{path}.kind", f"unknown fee kind {kind!r} (one of {', '.join(FEE_KINDS)})")
        amount = reader.decimal(item, "amount", path)
        period, every_days = item.get("period"), item.get("every_days")
        if kind == "recurring":
            if period not in PERIODS:
                reader.problem(f"{path}.period", f"unknown period {period!r} (one of {', '.join(PERIODS)})")
            if period == "days":
                if not isinstance(every_days, int) or isinstance(every_days, bool) or every_days < 1:
                    reader.problem(f"{path}.every_days", "a whole number of days >= 1 is required")
            elif every_days is not None:
                reader.problem(f"{path}.every_days", "only with period: days")
        elif period is not None or every_days is not None:
            reader.problem(f"{path}.period", f"a {kind} fee has no period")
        if amount is not None and kind in FEE_KINDS:
            fees.append(Fee(kind, amount, period if kind == "recurring" else None,
                            every_days if period == "days" else None))

    bands = []
    seen_bands: dict[tuple[str, Decimal], int] = {}
    for i, raw in enumerate(reader.items(top, "bands")):
        path = f"bands[{i}]"
        item = reader.mapping(raw, path, BAND_KEYS, ("unit", "max_usage", "price"))
        if item is None:
            continue
        unit = reader.text(item, "unit", path)
        if unit is not None and not is_known(unit, extra):
            reader.problem(f"{path}.unit", f"unknown unit {unit!r}")
            unit = None
        max_usage = reader.decimal(item, "max_usage", path)
        price = reader.decimal(item, "price", path)
        increment = reader.decimal(item, "increment", path, positive=True)
        round_per = item.get("round_per", "total")
        if round_per not in ROUND_PER:
            reader.problem(f"{path}.round_per", f"one of {', '.join(ROUND_PER)}")
        if unit is not None and max_usage is not None:
            key = (unit, max_usage)
            if key in seen_bands:
                reader.problem(f"{path}.max_usage",
                               f"same unit and maximum as bands[{seen_bands[key]}]")
            seen_bands[key] = i
        if None not in (unit, max_usage, price) and round_per in ROUND_PER:
            bands.append(Band(unit, max_usage, price, increment, round_per))

    first_rounding: dict[str, tuple[int, Decimal | None, str]] = {}
    for i, band in enumerate(bands):
        rule = first_rounding.setdefault(band.unit, (i, band.increment, band.round_per))
        if (band.increment, band.round_per) != rule[1:]:
            reader.problem(f"bands[{i}].increment",
                           f"bands of {band.unit} must share increment and round_per")

    quotas = []
    for i, raw in enumerate(reader.items(top, "quotas")):
        path = f"quotas[{i}]"
        item = reader.mapping(raw, path, QUOTA_KEYS, ("unit", "amount"))
        if item is None:
            continue
        unit = reader.text(item, "unit", path)
        if unit is not None and not is_known(unit, extra):
            reader.problem(f"{path}.unit", f"unknown unit {unit!r}")
            unit = None
        amount = reader.decimal(item, "amount", path)
        if unit is not None and amount is not None:
            quotas.append(Quota(unit, amount))

    if reader.problems:
        raise PlanFileError(source, reader.problems)
    return PlanSpec(code, name, currency, tuple(fees), tuple(bands), tuple(quotas), extra)


def _quantity(value: Decimal) -> str:
    """A usage figure without trailing zeros: ``150``, ``0.5``."""
    text = format(value.normalize(), "f")
    return text


def _price(value: Decimal, places: int) -> str:
    """A money figure with at least the currency's decimals: ``0.50``, ``0.125``."""
    value = value.normalize()
    if value.as_tuple().exponent > -places:
        value = value.quantize(Decimal(1).scaleb(-places))
    return format(value, "f")


def plan_to_mapping(spec: PlanSpec) -> dict:
    places = MINOR_UNITS.get(spec.currency, 2)

    def _amount(value: Decimal) -> str:
        return _price(value, places)

    data: dict[str, Any] = {"code": spec.code, "name": spec.name, "currency": spec.currency}
    if spec.units:
        data["units"] = [{"name": u} for u in spec.units]
    fees = []
    for fee in spec.fees:
        item: dict[str, Any] = {"kind": fee.kind}
        if fee.period:
            item["period"] = fee.period
        if fee.every_days:
            item["every_days"] = fee.every_days
        item["amount"] = _amount(fee.amount)
        fees.append(item)
    data["fees"] = fees
    bands = []
    for band in spec.bands:
        item = {"unit": band.unit, "max_usage": _quantity(band.max_usage), "price": _amount(band.price)}
        if band.increment is not None:
            item["increment"] = _quantity(band.increment)
        if band.round_per != "total":
            item["round_per"] = band.round_per
        bands.append(item)
    data["bands"] = bands
    if spec.quotas:
        data["quotas"] = [{"unit": q.unit, "amount": _quantity(q.amount)} for q in spec.quotas]
    return data


def dump_plan_yaml(spec: PlanSpec) -> str:
    return yaml.safe_dump(plan_to_mapping(spec), sort_keys=False, allow_unicode=True, default_flow_style=None)
