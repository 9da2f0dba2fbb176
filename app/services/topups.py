"""Top-ups: subscribers buy extra quota (e.g. 10 GB) or prepaid credit in self-care.

Staff configure the products per realm. Buying one writes an order under the payer's
idempotency key (a double click buys once) and charges the realm's online gateway; the
moment the payment succeeds (synchronously or by webhook) the order is fulfilled once:
a quota top-up grows the account's pool at once (its own pool of that kind, created empty
if it has none) and is added as a pending ``topup`` charge to the next invoice, which the
top-up's payment then pays; a credit top-up stays as the account's credit balance.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.gateways import CardDetails
from app.models import Payment, QuotaPool, Realm, TopupOrder, TopupProduct
from app.rating.money import MoneyError, minor_units, parse_decimal
from app.rating.units import UnitError, lookup
from tenants import require_realm_id

from .errors import FieldErrors, NotAllowed
from .lookups import get_or_not_found
from .payments import integrations
from .payments.core import charge_method, get_account, pay_with_card
from .payments.gateways import online_gateway_code
from .quotas import create_pool, top_up_pool
from .uow import insert_once

CODE_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_")


def list_products(*, active_only: bool = False) -> list[TopupProduct]:
    query = select(TopupProduct).order_by(TopupProduct.price, TopupProduct.id)
    if active_only:
        query = query.where(TopupProduct.active)
    return list(db.session.scalars(query))


def get_product(product_id: int) -> TopupProduct:
    return get_or_not_found(TopupProduct, product_id, "top-up product")


def save_product(*, code: str, name: str, kind: str, price, unit: str | None = None,
                 quantity=None, active: bool = True, product_id: int | None = None) -> TopupProduct:
    realm = db.session.get(Realm, require_realm_id())
    errors = FieldErrors()
    code = (code or "").strip().lower()
    if not code or not set(code) <= CODE_CHARS or len(code) > 40:
        errors.add("code", "invalid")
    errors.require("name", name)
    if kind not in ("quota", "credit"):
        errors.add("kind", "invalid")
    try:
        value = parse_decimal(price.strip() if isinstance(price, str) else price)
        if value <= 0:
            errors.add("price", "must_be_positive")
        elif value != value.quantize(Decimal(1).scaleb(-minor_units(realm.currency))):
            errors.add("price", "too_many_decimals")
    except MoneyError:
        errors.add("price", "not_a_number")
        value = None
    count = None
    if kind == "quota":
        try:
            unit = lookup((unit or "").strip()).name
        except UnitError:
            errors.add("unit", "unknown")
        try:
            count = parse_decimal(quantity.strip() if isinstance(quantity, str) else quantity)
            if count <= 0:
                errors.add("quantity", "must_be_positive")
        except MoneyError:
            errors.add("quantity", "not_a_number")
    else:
        unit = None
    existing = db.session.scalar(select(TopupProduct).where(TopupProduct.code == code))
    if existing is not None and existing.id != product_id:
        errors.add("code", "taken")
    errors.raise_if_any()
    product = get_product(product_id) if product_id else TopupProduct(code=code)
    product.code, product.name, product.kind = code, name.strip(), kind
    product.unit, product.quantity, product.price = unit, count, value
    product.currency, product.active = realm.currency, active
    if product.id is None:
        db.session.add(product)
    db.session.flush()
    return product


def list_orders(account_id: int) -> list[TopupOrder]:
    return list(db.session.scalars(select(TopupOrder).where(
        TopupOrder.account_id == account_id).order_by(TopupOrder.id.desc())))


def buy_topup(account_id: int, product_id: int, *, key: str, card: CardDetails | None = None,
              method_id: int | None = None, save: bool = False) -> TopupOrder:
    """Order and pay a top-up; the same ``key`` again returns the first order."""
    account = get_account(account_id)
    existing = db.session.scalar(select(TopupOrder).where(TopupOrder.idempotency_key == key))
    if existing is not None:
        return existing
    product = get_product(product_id)
    if not product.active:
        raise NotAllowed("product_inactive")
    order = TopupOrder(account_id=account.id, product_id=product.id, idempotency_key=key,
                       description=product.name, kind=product.kind, unit=product.unit,
                       quantity=product.quantity, amount=product.price, currency=product.currency,
                       status="pending")
    order, created = insert_once(order, lambda: db.session.scalar(
        select(TopupOrder).where(TopupOrder.idempotency_key == key)))
    if not created:
        return order
    payment_key = f"topup:{order.id}"
    if card is not None:
        code = online_gateway_code()
        if code is None:
            raise NotAllowed("no_online_gateway")
        payment = pay_with_card(account.id, card=card, amount=order.amount, key=payment_key,
                                save=save, purpose="topup", gateway_code=code,
                                description=f"Top-up: {product.name}")
    else:
        payment = charge_method(account.id, amount=order.amount, key=payment_key, method_id=method_id,
                                purpose="topup", description=f"Top-up: {product.name}")
    order.payment_id = payment.id
    if payment.status == "failed":
        order.status = "failed"
    db.session.flush()
    return order


def fulfil_order_of_payment(payment: Payment) -> TopupOrder | None:
    """Grow the pool (or keep the credit) for a top-up whose payment just succeeded; once."""
    if not payment.idempotency_key.startswith("topup:"):
        return None
    order_id = int(payment.idempotency_key.split(":", 1)[1])
    query = select(TopupOrder).where(TopupOrder.id == order_id)
    if db.session.connection().dialect.name == "postgresql":
        query = query.with_for_update()
    order = db.session.scalar(query)
    if order is None or order.applied_at is not None:
        return order
    today = datetime.now(UTC).date()
    if order.kind == "quota":
        pool = _account_pool(order.account_id, order.unit, today)
        quantity = order.quantity * lookup(order.unit).size / lookup(pool.unit).size
        top_up_pool(pool.id, quantity=quantity.quantize(Decimal("0.000001")), on=today)
        integrations.add_charge(
            order.account_id, description=order.description, amount=order.amount, kind="topup",
            source_key=f"topup:{order.id}", quantity=order.quantity, unit=order.unit,
            currency=order.currency)
    order.status, order.applied_at, order.payment_id = "paid", datetime.now(UTC), payment.id
    db.session.flush()
    return order


def _account_pool(account_id: int, unit: str, today) -> QuotaPool:
    dimension = lookup(unit).dimension
    for pool in db.session.scalars(select(QuotaPool).where(
            QuotaPool.scope == "account", QuotaPool.account_id == account_id).order_by(QuotaPool.id)):
        if lookup(pool.unit).dimension == dimension:
            return pool
    return create_pool(name="Top-ups", scope="account", account_id=account_id, unit=unit,
                       size=Decimal(0), anchor=today.replace(day=1))
