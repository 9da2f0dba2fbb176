"""Stored payment methods: gateway tokens per account, one of them the default.

Only what a gateway hands back is kept (token, customer reference, brand, last four
digits, expiry); card numbers and CVCs never reach the database or the logs.
"""

from __future__ import annotations

from sqlalchemy import select, update

from app.extensions import db
from app.gateways import CardDetails, GatewayError, Token
from app.models import PaymentMethod

from ..errors import Invalid, NotAllowed, NotFound
from .core import get_account
from .gateways import gateway_for


def list_methods(account_id: int) -> list[PaymentMethod]:
    return list(db.session.scalars(select(PaymentMethod).where(
        PaymentMethod.account_id == account_id, PaymentMethod.active).order_by(PaymentMethod.id)))


def save_token(account_id: int, gateway_code: str, token: Token, *, make_default: bool = True) -> PaymentMethod:
    account = get_account(account_id)
    if not token.token:
        raise Invalid({"token": ["required"]})
    method = PaymentMethod(account_id=account.id, gateway=gateway_code, token=token.token,
                           customer_ref=token.customer_ref, brand=token.brand, last4=token.last4,
                           exp_month=token.exp_month, exp_year=token.exp_year, is_default=False,
                           active=True)
    db.session.add(method)
    db.session.flush()
    if make_default or not any(m.is_default for m in list_methods(account.id)):
        set_default(method.id)
    return method


def add_card(account_id: int, card: CardDetails, *, gateway_code: str = "test_card",
             make_default: bool = True) -> PaymentMethod:
    """Tokenise a card with a tokenising gateway and keep only the token."""
    account = get_account(account_id)
    gateway = gateway_for(gateway_code)
    if not gateway.can_tokenise:
        raise NotAllowed("gateway_cannot_tokenise")
    try:
        token = gateway.tokenise(card, account_ref=account.number)
    except GatewayError as exc:
        raise Invalid({"card_number": [exc.code]}) from None
    return save_token(account.id, gateway_code, token, make_default=make_default)


def add_gateway_token(account_id: int, *, gateway_code: str, token: str, customer_ref: str | None = None,
                      brand: str | None = None, last4: str | None = None,
                      make_default: bool = True) -> PaymentMethod:
    """Store a token made by the gateway itself (e.g. a Stripe PaymentMethod from Stripe.js)."""
    gateway_for(gateway_code)
    return save_token(account_id, gateway_code, Token(token=token, customer_ref=customer_ref,
                                                      brand=brand, last4=last4), make_default=make_default)


def set_default(method_id: int) -> PaymentMethod:
    method = db.session.scalar(select(PaymentMethod).where(PaymentMethod.id == method_id, PaymentMethod.active))
    if method is None:
        raise NotFound("payment method")
    db.session.execute(update(PaymentMethod).where(
        PaymentMethod.account_id == method.account_id, PaymentMethod.id != method.id
    ).values(is_default=False))
    method.is_default = True
    db.session.flush()
    return method


def remove_method(account_id: int, method_id: int) -> None:
    method = db.session.scalar(select(PaymentMethod).where(
        PaymentMethod.id == method_id, PaymentMethod.account_id == account_id))
    if method is None:
        raise NotFound("payment method")
    method.active, method.is_default = False, False
    db.session.flush()
