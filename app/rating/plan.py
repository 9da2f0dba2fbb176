"""A plan as the rating engine sees it: plain frozen values, no database."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

FEE_KINDS = ("setup", "recurring", "one_time")
PERIODS = ("monthly", "quarterly", "annual", "days")
ROUND_PER = ("total", "record")


@dataclass(frozen=True, slots=True)
class Fee:
    kind: str
    amount: Decimal
    period: str | None = None       # recurring fees only
    every_days: int | None = None   # period "days" only


@dataclass(frozen=True, slots=True)
class Band:
    """Price per unit up to ``max_usage`` (0 = unlimited, see DESIGN.md "Band semantics").

    ``increment`` rounds usage *up* to a multiple of itself (per started minute, MB …),
    either of the unit's total (``round_per="total"``) or of each record
    (``round_per="record"``, e.g. per started minute of every call).
    """

    unit: str
    max_usage: Decimal
    price: Decimal
    increment: Decimal | None = None
    round_per: str = "total"


@dataclass(frozen=True, slots=True)
class Quota:
    """Units of ``unit`` included per period before bands apply."""

    unit: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class PlanSpec:
    code: str
    name: str
    currency: str
    fees: tuple[Fee, ...] = ()
    bands: tuple[Band, ...] = ()
    quotas: tuple[Quota, ...] = ()
    units: tuple[str, ...] = field(default=())  # extra count units the plan declares

    def __post_init__(self) -> None:
        # Normalise so two specs with the same content compare equal, whatever their source.
        object.__setattr__(self, "fees", tuple(self.fees))
        object.__setattr__(self, "bands", tuple(self.bands))
        object.__setattr__(self, "quotas", tuple(self.quotas))
        object.__setattr__(self, "units", tuple(self.units))
