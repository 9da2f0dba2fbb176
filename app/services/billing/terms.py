"""Discounts and taxes on a draft invoice.

``load_terms`` reads, once per chunk of accounts, the realm's tax settings, the tax rate in
force on the invoice date (the first day of the period), the discounts valid in the
period and the buyers' tax situation. ``apply_terms`` is pure: it adds discount lines and
the tax to a draft, so every amount on an invoice is a line and the lines sum exactly to
the total (tested with hypothesis).

Rules:
- A *line* discount reduces each line of its kind (or every charge line) by a percentage
  or a fixed amount, never below zero; an *invoice* discount reduces the sum of the
  invoice's lines (after line discounts), never below zero. A discount applies to one
  account, to the subscribers of one plan, or to everybody, between its validity dates.
- Tax-exclusive prices: a tax line of ``rate`` % of the net total (rounded once, or per
  line when the realm says so). Tax-inclusive prices: the lines are gross; the tax they
  contain is shown (``tax_total``), no line is added.
- Reverse charge: a buyer with a tax id in another country than the seller's (or flagged
  explicitly) gets no tax and the reverse-charge note.
- Rounding: to the currency's minor unit with the realm's rounding mode.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from functools import cache

from sqlalchemy import bindparam, select

from app.extensions import db
from app.models import Account, BuyerTaxProfile, Discount, Realm, TaxRate, TaxSettings
from app.models.settings_stamp import KeptSettings
from app.rating.money import quantize_money

ZERO = Decimal(0)
HUNDRED = Decimal(100)
ROUNDING_MODES = ("ROUND_HALF_UP", "ROUND_HALF_EVEN", "ROUND_HALF_DOWN", "ROUND_UP", "ROUND_DOWN",
                  "ROUND_CEILING", "ROUND_FLOOR")
DEFAULT_REVERSE_CHARGE_NOTE = "Reverse charge: VAT to be accounted for by the recipient."
# Lines a discount never reduces.
NOT_DISCOUNTED = ("discount", "tax", "credit", "proration", "quota")


@dataclass(frozen=True, slots=True)
class DiscountTerm:
    id: int
    name: str
    kind: str          # percent | fixed
    value: Decimal
    scope: str         # invoice | line
    line_kind: str | None
    account_id: int | None
    plan_id: int | None


@dataclass(frozen=True, slots=True)
class Buyer:
    tax_id: str | None
    country: str | None
    reverse_charge: bool


@dataclass
class RealmTerms:
    country: str | None = None
    prices_include_tax: bool = False
    tax_rounding: str = "invoice"
    rounding_mode: str = "ROUND_HALF_UP"
    reverse_charge_note: str | None = None
    tax_name: str | None = None
    tax_rate: Decimal | None = None
    discounts: list[DiscountTerm] = field(default_factory=list)
    buyers: dict[int, Buyer] = field(default_factory=dict)


def rate_in_force(day: date) -> TaxRate | None:
    """The realm's tax rate valid on ``day`` (the latest starting one if several overlap)."""
    return db.session.scalar(_rate_query(), {"day": day})


@cache
def _rate_query():
    day = bindparam("day")
    return (select(TaxRate).where(TaxRate.valid_from <= day, (TaxRate.valid_until.is_(None)) | (TaxRate.valid_until > day))
            .order_by(TaxRate.valid_from.desc(), TaxRate.id.desc()).limit(1))


def load_terms(account_ids: list[int], period) -> RealmTerms:
    ids = set(account_ids)
    return _for_accounts(_realm_terms(period), ids, ids)


def _for_accounts(shared: RealmTerms, ids: set[int], buyer_ids) -> RealmTerms:
    """The realm's part of the terms with the discounts of these accounts (and everybody's)
    and, when there is a tax, the tax situation of ``buyer_ids``."""
    terms = replace(shared, discounts=[d for d in shared.discounts if d.account_id is None or d.account_id in ids],
                    buyers={})
    if terms.tax_rate and buyer_ids:
        _load_buyers(terms, sorted(buyer_ids))
    return terms


def _realm_terms(period) -> RealmTerms:
    """The realm's part of the terms: settings, the rate in force, every discount valid in
    the period (those of every account)."""
    settings = db.session.scalar(select(TaxSettings))
    terms = RealmTerms()
    if settings is not None:
        terms.country = settings.country
        terms.prices_include_tax = settings.prices_include_tax
        terms.tax_rounding = settings.tax_rounding
        terms.rounding_mode = settings.rounding_mode
        terms.reverse_charge_note = settings.reverse_charge_note
    rate = rate_in_force(period.start)
    if rate is not None:
        terms.tax_name, terms.tax_rate = rate.name, rate.rate
    for row in db.session.scalars(_discounts_query(), {"start": period.start, "end": period.end}):
        terms.discounts.append(DiscountTerm(row.id, row.name, row.kind, row.value, row.scope, row.line_kind,
                                            row.account_id, row.plan_id))
    return terms


@cache
def _discounts_query():
    return (select(Discount).where(Discount.active.is_(True), Discount.valid_from < bindparam("end"),
                                   (Discount.valid_until.is_(None)) | (Discount.valid_until > bindparam("start")))
            .order_by(Discount.id))


_KEPT = KeptSettings()  # (period start, period end) -> the realm's part of the terms


def account_terms(account: Account, realm: Realm, period) -> RealmTerms:
    """``load_terms([account.id], period)`` for a page view, without reading the realm's part
    again while ``realm.settings_version`` (read with the realm on every request) is the one it
    was read under: the stamp changes in the transaction that changes the terms
    (models/settings_stamp.py), so a copy is never used after a change has committed."""
    key = (period.start, period.end)
    shared = _KEPT.find(db.session, realm, key) or _KEPT.keep(db.session, realm, key, _realm_terms(period))
    # Without a tax id a buyer is never reverse-charged and shows no tax id (apply_terms).
    return _for_accounts(shared, {account.id}, {account.id} if account.tax_id else ())


def _load_buyers(terms: RealmTerms, ids: list[int]) -> None:
    profiles = {}
    tax_ids = {}
    from .draft import id_in

    for start in range(0, len(ids), 5000):
        part = ids[start:start + 5000]
        for account_id, tax_id in db.session.execute(
                select(Account.id, Account.tax_id).where(id_in(Account.id, part), Account.tax_id.is_not(None))):
            tax_ids[account_id] = tax_id
        for account_id, country, flag in db.session.execute(
                select(BuyerTaxProfile.account_id, BuyerTaxProfile.country, BuyerTaxProfile.reverse_charge)
                .where(id_in(BuyerTaxProfile.account_id, part))):
            profiles[account_id] = (country, flag)
    for account_id in set(tax_ids) | set(profiles):
        country, flag = profiles.get(account_id, (None, False))
        terms.buyers[account_id] = Buyer(tax_ids.get(account_id), country, bool(flag))


def is_reverse_charge(terms: RealmTerms, buyer: Buyer | None) -> bool:
    if buyer is None or not buyer.tax_id:
        return False
    if buyer.reverse_charge:
        return True
    return bool(buyer.country and terms.country and buyer.country.upper() != terms.country.upper())


def _round(amount: Decimal, currency: str, terms: RealmTerms) -> Decimal:
    return quantize_money(amount, currency, getattr(decimal, terms.rounding_mode, decimal.ROUND_HALF_UP))


def _percent_text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def apply_terms(draft, terms: RealmTerms, plan_ids: set[int]) -> None:
    """Add discount lines and the tax to ``draft`` (see the module rules)."""
    from .draft import DraftLine

    currency = draft.currency
    zero = quantize_money(ZERO, currency)
    applicable = [d for d in terms.discounts
                  if (d.account_id is None or d.account_id == draft.account_id)
                  and (d.plan_id is None or d.plan_id in plan_ids)]
    # Each line with the line discounts it got so far: discounts stack on what is left.
    groups = [[line] for line in draft.lines]
    for discount in (d for d in applicable if d.scope == "line"):
        for group in groups:
            line = group[0]
            if line.kind in NOT_DISCOUNTED or (discount.line_kind and line.kind != discount.line_kind):
                continue
            left = sum((item.amount for item in group), zero)
            if left <= 0:
                continue
            off = _discount_amount(discount, left, currency, terms)
            if off > 0:
                group.append(DraftLine("discount", f"{_discount_label(discount)} on: {line.description}", -off))
    draft.lines = [item for group in groups for item in group]
    for discount in (d for d in applicable if d.scope == "invoice"):
        base = sum((line.amount for line in draft.lines), zero)
        if base <= 0:
            continue
        off = _discount_amount(discount, base, currency, terms)
        if off > 0:
            draft.lines.append(DraftLine("discount", _discount_label(discount), -off))
    if not terms.tax_rate:
        return
    draft.tax_rate = terms.tax_rate
    draft.prices_include_tax = terms.prices_include_tax
    buyer = terms.buyers.get(draft.account_id)
    draft.buyer_tax_id = buyer.tax_id if buyer else None
    if is_reverse_charge(terms, buyer):
        draft.reverse_charge = True
        draft.tax_rate = ZERO
        draft.notes = terms.reverse_charge_note or DEFAULT_REVERSE_CHARGE_NOTE
        return
    rate = terms.tax_rate
    if terms.tax_rounding == "line":
        tax = sum((_tax_of(line.amount, rate, currency, terms) for line in draft.lines), zero)
    else:
        tax = _tax_of(sum((line.amount for line in draft.lines), zero), rate, currency, terms)
    draft.tax_total = tax
    if terms.prices_include_tax:
        return
    net = sum((line.amount for line in draft.lines), zero)
    name = terms.tax_name or "Tax"
    draft.lines.append(DraftLine("tax", f"{name} {_percent_text(rate)}% of {format(net, 'f')}", tax,
                                 None, None, None))


def _tax_of(amount: Decimal, rate: Decimal, currency: str, terms: RealmTerms) -> Decimal:
    if terms.prices_include_tax:
        # The tax inside a gross amount: gross - gross / (1 + rate).
        return amount - _round(amount * HUNDRED / (HUNDRED + rate), currency, terms)
    return _round(amount * rate / HUNDRED, currency, terms)


def _discount_amount(discount: DiscountTerm, base: Decimal, currency: str, terms: RealmTerms) -> Decimal:
    if discount.kind == "percent":
        off = _round(base * discount.value / HUNDRED, currency, terms)
    else:
        off = quantize_money(discount.value, currency)
    return max(min(off, base), ZERO)


def _discount_label(discount: DiscountTerm) -> str:
    if discount.kind == "percent":
        return f"Discount {discount.name}: {_percent_text(discount.value)}%"
    return f"Discount {discount.name}"
