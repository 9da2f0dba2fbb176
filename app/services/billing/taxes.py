"""Managing a realm's tax settings, tax rates and discounts (console, CLI, API alike)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.models import Account, BuyerTaxProfile, Discount, Plan, TaxRate, TaxSettings
from app.rating.money import MoneyError, parse_decimal

from ..errors import FieldErrors, NotFound
from ..lookups import get_or_not_found
from .terms import ROUNDING_MODES

TAX_ROUNDING = ("invoice", "line")
DISCOUNT_KINDS = ("percent", "fixed")
DISCOUNT_SCOPES = ("invoice", "line")
LINE_KINDS = ("recurring", "setup", "one_time", "usage", "late_usage", "penalty", "topup")


def get_tax_settings() -> TaxSettings:
    """The realm's settings (unsaved defaults when it has none yet)."""
    return db.session.scalar(select(TaxSettings)) or TaxSettings(
        prices_include_tax=False, tax_rounding="invoice", rounding_mode="ROUND_HALF_UP")


def _decimal(errors: FieldErrors, name: str, value, *, places: int = 4, positive: bool = False) -> Decimal | None:
    try:
        number = parse_decimal(value if not isinstance(value, str) else value.strip())
    except MoneyError:
        errors.add(name, "not_a_number" if value not in (None, "") else "required")
        return None
    if number < 0 or (positive and number == 0):
        errors.add(name, "negative" if number < 0 else "must_be_positive")
    elif number != number.quantize(Decimal(1).scaleb(-places)):
        errors.add(name, "too_many_decimals")
    return number


def _country(errors: FieldErrors, value: str | None) -> str | None:
    value = (value or "").strip().upper() or None
    if value is not None and (len(value) != 2 or not value.isalpha()):
        errors.add("country", "invalid")
    return value


def update_tax_settings(*, country: str | None, prices_include_tax: bool, tax_rounding: str = "invoice",
                        rounding_mode: str = "ROUND_HALF_UP", reverse_charge_note: str | None = None) -> TaxSettings:
    errors = FieldErrors()
    country = _country(errors, country)
    if tax_rounding not in TAX_ROUNDING:
        errors.add("tax_rounding", "invalid")
    if rounding_mode not in ROUNDING_MODES:
        errors.add("rounding_mode", "invalid")
    errors.raise_if_any()
    settings = db.session.scalar(select(TaxSettings))
    if settings is None:
        settings = TaxSettings()
        db.session.add(settings)
    settings.country = country
    settings.prices_include_tax = bool(prices_include_tax)
    settings.tax_rounding = tax_rounding
    settings.rounding_mode = rounding_mode
    settings.reverse_charge_note = (reverse_charge_note or "").strip() or None
    db.session.flush()
    return settings


def list_tax_rates() -> list[TaxRate]:
    return list(db.session.scalars(select(TaxRate).order_by(TaxRate.valid_from.desc(), TaxRate.id.desc())))


def add_tax_rate(*, name: str, rate, valid_from: date | None, valid_until: date | None = None) -> TaxRate:
    """A new rate from ``valid_from``; an open-ended rate before it ends where this one starts."""
    errors = FieldErrors()
    errors.require("name", name)
    value = _decimal(errors, "rate", rate)
    if value is not None and value > 100:
        errors.add("rate", "invalid")
    if valid_from is None:
        errors.add("valid_from", "required")
    elif valid_until is not None and valid_until <= valid_from:
        errors.add("valid_until", "before_start")
    if valid_from is not None and "valid_until" not in errors.errors:
        for other in list_tax_rates():
            overlaps = other.valid_from < (valid_until or date.max) and \
                (other.valid_until is None or other.valid_until > valid_from)
            if overlaps and not (other.valid_until is None and other.valid_from < valid_from):
                errors.add("valid_from", "overlaps")
                break
    errors.raise_if_any()
    for other in list_tax_rates():
        if other.valid_until is None and other.valid_from < valid_from:
            other.valid_until = valid_from
    tax_rate = TaxRate(name=name.strip(), rate=value, valid_from=valid_from, valid_until=valid_until)
    db.session.add(tax_rate)
    db.session.flush()
    return tax_rate


def list_discounts() -> list[Discount]:
    return list(db.session.scalars(select(Discount).order_by(Discount.active.desc(), Discount.valid_from.desc(),
                                                             Discount.id.desc())))


def add_discount(*, name: str, kind: str, value, scope: str = "invoice", line_kind: str | None = None,
                 valid_from: date | None, valid_until: date | None = None, account_id: int | None = None,
                 plan_id: int | None = None) -> Discount:
    errors = FieldErrors()
    errors.require("name", name)
    if kind not in DISCOUNT_KINDS:
        errors.add("kind", "invalid")
    if scope not in DISCOUNT_SCOPES:
        errors.add("scope", "invalid")
    line_kind = line_kind or None
    if line_kind is not None and (scope != "line" or line_kind not in LINE_KINDS):
        errors.add("line_kind", "invalid")
    amount = _decimal(errors, "value", value, positive=True)
    if amount is not None and kind == "percent" and amount > 100:
        errors.add("value", "invalid")
    if valid_from is None:
        errors.add("valid_from", "required")
    elif valid_until is not None and valid_until <= valid_from:
        errors.add("valid_until", "before_start")
    if account_id is not None and db.session.scalar(select(Account.id).where(Account.id == account_id)) is None:
        errors.add("account_id", "not_found")
    if plan_id is not None and db.session.scalar(select(Plan.id).where(Plan.id == plan_id)) is None:
        errors.add("plan_id", "not_found")
    errors.raise_if_any()
    discount = Discount(name=name.strip(), kind=kind, value=amount, scope=scope, line_kind=line_kind,
                        valid_from=valid_from, valid_until=valid_until, account_id=account_id, plan_id=plan_id)
    db.session.add(discount)
    db.session.flush()
    return discount


def deactivate_discount(discount_id: int) -> Discount:
    discount = get_or_not_found(Discount, discount_id, "discount")
    discount.active = False
    db.session.flush()
    return discount


def set_buyer_tax_profile(account_id: int, *, country: str | None, reverse_charge: bool) -> BuyerTaxProfile:
    errors = FieldErrors()
    country = _country(errors, country)
    errors.raise_if_any()
    if db.session.scalar(select(Account.id).where(Account.id == account_id)) is None:
        raise NotFound("account")
    profile = db.session.scalar(select(BuyerTaxProfile).where(BuyerTaxProfile.account_id == account_id))
    if profile is None:
        profile = BuyerTaxProfile(account_id=account_id)
        db.session.add(profile)
    profile.country, profile.reverse_charge = country, bool(reverse_charge)
    db.session.flush()
    return profile


def buyer_tax_profile(account_id: int) -> BuyerTaxProfile | None:
    return db.session.scalar(select(BuyerTaxProfile).where(BuyerTaxProfile.account_id == account_id))
