"""Pending charges: one-time amounts billed on an account's next invoice.

Any area adds a charge with ``add_charge`` (a penalty, a top-up bought in self-care, a
goodwill credit, the proration of a plan change); the next draft of the account (preview
or run) carries every pending charge due by the end of its period, and finalizing the
invoice marks the charges billed with it, in the same transaction. Given a
``source_key``, adding the same charge again returns the existing one (idempotent per
realm), so a retried job or a replayed webhook never charges twice.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.models import Account, Charge, Realm
from app.rating.money import MoneyError, minor_units, parse_decimal
from tenants import require_realm_id

from ..errors import FieldErrors, NotAllowed
from ..lookups import get_or_not_found
from ..uow import insert_once
from .draft import local_today

CHARGE_KINDS = ("one_time", "penalty", "topup", "credit", "proration")


def add_charge(account_id: int, *, description: str, amount: Decimal, kind: str = "one_time",
               source_key: str | None = None, quantity=1, unit: str | None = None,
               charge_on: date | None = None, currency: str | None = None) -> Charge:
    """Record a pending charge of ``amount`` (the line total) for the account's next invoice.

    ``kind="credit"`` always credits: a positive amount is stored negative. Other kinds keep
    the sign given (a proration may be either). ``quantity`` and ``unit`` describe the line
    (e.g. 3 × "GB" top-up); the unit price shown is ``amount / quantity``.
    """
    if source_key is not None:
        existing = db.session.scalar(select(Charge).where(Charge.source_key == source_key))
        if existing is not None:
            return existing
    errors = FieldErrors()
    errors.require("description", description)
    if kind not in CHARGE_KINDS:
        errors.add("kind", "invalid")
    try:
        value = parse_decimal(amount)
    except MoneyError:
        errors.add("amount", "not_a_number")
        value = Decimal(0)
    try:
        count = parse_decimal(quantity)
        if count <= 0:
            errors.add("quantity", "must_be_positive")
    except MoneyError:
        errors.add("quantity", "not_a_number")
        count = Decimal(1)
    account = get_or_not_found(Account, account_id, "account")
    currency = currency or db.session.get(Realm, require_realm_id()).currency
    try:
        places = minor_units(currency)
    except MoneyError:
        errors.add("currency", "invalid")
        places = 2
    if value.is_finite() and value != value.quantize(Decimal(1).scaleb(-places)):
        errors.add("amount", "too_many_decimals")
    if value == 0 and "amount" not in errors.errors:
        errors.add("amount", "must_not_be_zero")
    if source_key is not None and len(source_key) > 120:
        errors.add("source_key", "too_long")
    errors.raise_if_any()
    if kind == "credit":
        value = -abs(value)
    unit_price = (value / count).quantize(Decimal("0.000001")) if count else None
    charge = Charge(account_id=account.id, kind=kind, description=description.strip(), quantity=count,
                    unit=unit, unit_price=unit_price, amount=value, currency=currency,
                    charge_on=charge_on or local_today(), source_key=source_key)
    if source_key is not None:
        # Two writers with the same key: the unique (realm, source_key) keeps one; return it.
        charge, _ = insert_once(charge, lambda: db.session.scalar(
            select(Charge).where(Charge.source_key == source_key)))
        return charge
    db.session.add(charge)
    db.session.flush()
    return charge


def cancel_charge(charge_id: int) -> Charge:
    """Withdraw a charge that no invoice carries yet."""
    charge = get_or_not_found(Charge, charge_id, "charge")
    if charge.status != "pending":
        raise NotAllowed("already_billed" if charge.status == "billed" else "cancelled")
    charge.status = "cancelled"
    db.session.flush()
    return charge


def pending_charges(account_id: int | None = None) -> list[Charge]:
    query = select(Charge).where(Charge.status == "pending").order_by(Charge.charge_on, Charge.id)
    if account_id is not None:
        query = query.where(Charge.account_id == account_id)
    return list(db.session.scalars(query))
