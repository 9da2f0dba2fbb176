"""Money arithmetic: Decimal only, rounded by a rule per currency.

Amounts are quantized to the currency's minor unit (ISO 4217 exponent) with
ROUND_HALF_UP unless a realm chooses another rounding mode. Parsing is strict: a
plan file or a form gives decimal *strings*; floats, NaN, infinities and exponent
notation are refused, so no binary fraction ever enters a price.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 minor-unit exponents of the currencies we bill in.
MINOR_UNITS = {
    "USD": 2, "EUR": 2, "GBP": 2, "CHF": 2, "AUD": 2, "CAD": 2, "NZD": 2, "SEK": 2,
    "NOK": 2, "DKK": 2, "PLN": 2, "CZK": 2, "HUF": 2, "ZAR": 2, "BRL": 2, "MXN": 2,
    "INR": 2, "CNY": 2, "SGD": 2, "HKD": 2, "TRY": 2, "ILS": 2, "AED": 2,
    "JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0,
    "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3, "TND": 3,
}
_DECIMAL_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


class MoneyError(ValueError):
    """A value that is not an exact decimal amount, or an unknown currency."""


def minor_units(currency: str) -> int:
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise MoneyError(f"unknown currency {currency!r}") from None


# The minor unit of each currency as a Decimal (0.01, 1, 0.001), built once.
_QUANTA = {code: Decimal(1).scaleb(-places) for code, places in MINOR_UNITS.items()}


def quantum(currency: str) -> Decimal:
    try:
        return _QUANTA[currency]
    except KeyError:
        raise MoneyError(f"unknown currency {currency!r}") from None


def quantize_money(amount: Decimal, currency: str, rounding: str = ROUND_HALF_UP) -> Decimal:
    try:
        step = _QUANTA[currency]
    except KeyError:
        raise MoneyError(f"unknown currency {currency!r}") from None
    return amount.quantize(step, rounding=rounding)


def parse_decimal(value: object) -> Decimal:
    """A Decimal from a decimal string (or an int / Decimal); refuses floats and junk."""
    if isinstance(value, bool) or isinstance(value, float):
        raise MoneyError(f"not a decimal string: {value!r}")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise MoneyError(f"not a finite number: {value!r}")
        return value
    if isinstance(value, int):
        return Decimal(value)
    if not isinstance(value, str) or not _DECIMAL_TEXT.match(value.strip()):
        raise MoneyError(f"not a decimal number: {value!r}")
    try:
        return Decimal(value.strip())
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid text
        raise MoneyError(f"not a decimal number: {value!r}") from exc


def allocate(amount: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """Split ``amount`` in proportion to ``weights``; the parts sum exactly to ``amount``.

    Largest remainder: each part is rounded down to the minor unit, then the leftover
    units go to the parts with the largest remainders (earliest first on ties).
    """
    total_weight = sum(weights, Decimal(0))
    if not weights or total_weight <= 0:
        raise MoneyError("weights must be positive")
    step = quantum(currency)
    sign = -1 if amount < 0 else 1
    magnitude = abs(amount)
    raw = [magnitude * w / total_weight for w in weights]
    parts = [r.quantize(step, rounding=ROUND_DOWN) for r in raw]
    leftover = int(((magnitude - sum(parts, Decimal(0))) / step).to_integral_value())
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - parts[i]), i))
    for i in order[:leftover]:
        parts[i] += step
    return [p * sign for p in parts]
