"""Meters: registers whose cumulative readings become usage."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.models import Account, Meter
from app.rating.units import UnitError, canonical

from .errors import FieldErrors


def add_meter(*, serial: str, account_id: int, unit: str, modulus: Decimal | None = None) -> Meter:
    errors = FieldErrors()
    errors.require("serial", serial)
    if serial and db.session.scalar(select(Meter.id).where(Meter.serial == serial)):
        errors.add("serial", "taken")
    if db.session.scalar(select(Account.id).where(Account.id == account_id)) is None:
        errors.add("account_id", "not_found")
    try:
        unit = canonical(unit)
    except UnitError:
        errors.add("unit", "unknown")
    if modulus is not None and modulus <= 0:
        errors.add("modulus", "invalid")
    errors.raise_if_any()
    meter = Meter(serial=serial.strip(), account_id=account_id, unit=unit, modulus=modulus)
    db.session.add(meter)
    db.session.flush()
    return meter
