"""The payment gateway contract and the registry of gateways found through entry points.

A gateway is a small class that knows one way of taking money: its settings (declared
fields, secret ones marked so pages never show them back), what it can do (tokenise a card,
charge a stored token, refund, receive webhooks) and the calls themselves. Gateways know
nothing of Flask or the database: services give them decrypted settings and plain values,
and they answer with plain results. Third parties add gateways through the
``realmbill.gateways`` entry-point group.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from importlib.metadata import entry_points

ENTRY_POINT_GROUP = "realmbill.gateways"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SettingField:
    name: str
    label: object
    secret: bool = False
    required: bool = False
    help: object = None


@dataclass(frozen=True)
class CardDetails:
    """What a payer typed; lives only for the request that tokenises it (never stored/logged)."""

    number: str
    exp_month: int
    exp_year: int
    cvc: str

    def __repr__(self) -> str:  # never print the number or CVC, even in a traceback
        return f"CardDetails(last4={self.number[-4:]!r})"


@dataclass(frozen=True)
class Token:
    token: str
    brand: str | None = None
    last4: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None
    customer_ref: str | None = None


# succeeded | pending (the gateway will tell us later, e.g. by webhook) | declined | error
@dataclass(frozen=True)
class ChargeResult:
    status: str
    external_id: str | None = None
    failure_code: str | None = None
    message: str | None = None
    retryable: bool = False


@dataclass(frozen=True)
class RefundResult:
    status: str
    external_id: str | None = None
    failure_code: str | None = None


@dataclass(frozen=True)
class WebhookEvent:
    """A verified gateway event in gateway-neutral words."""

    event_id: str
    type: str  # payment.succeeded | payment.failed | payment.refunded | ignored
    external_id: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    refunded_amount: Decimal | None = None
    refunds: list[tuple[str, Decimal]] = field(default_factory=list)
    failure_code: str | None = None
    metadata: dict = field(default_factory=dict)


class GatewayError(Exception):
    """A gateway could not be used (bad settings, unreachable); ``retryable`` says if later may work."""

    def __init__(self, code: str, message: str = "", *, retryable: bool = False) -> None:
        super().__init__(message or code)
        self.code = code
        self.retryable = retryable


class SignatureError(GatewayError):
    def __init__(self) -> None:
        super().__init__("bad_signature")


class Gateway:
    code = "base"
    label: object = ""
    # What the payer does in self-care: "card" (our card form), "none" (staff only).
    online = False
    can_tokenise = False
    can_charge = False
    can_refund = False
    has_webhooks = False
    settings_fields: tuple[SettingField, ...] = ()

    def __init__(self, settings: dict | None = None) -> None:
        self.settings = dict(settings or {})

    def check_settings(self) -> dict[str, list[str]]:
        """Field errors of the current settings (``{"secret_key": ["required"]}``)."""
        return {f.name: ["required"] for f in self.settings_fields
                if f.required and not self.settings.get(f.name)}

    def tokenise(self, card: CardDetails, *, account_ref: str) -> Token:
        raise GatewayError("unsupported")

    def charge(self, *, token: str, customer_ref: str | None, amount: Decimal, currency: str,
               idempotency_key: str, description: str, metadata: dict) -> ChargeResult:
        raise GatewayError("unsupported")

    def refund(self, *, external_id: str, amount: Decimal, currency: str,
               idempotency_key: str) -> RefundResult:
        raise GatewayError("unsupported")

    def parse_webhook(self, payload: bytes, headers: dict) -> WebhookEvent:
        raise GatewayError("unsupported")


def _builtin() -> dict[str, type[Gateway]]:
    from .bank_transfer import BankTransferGateway
    from .manual import ManualGateway
    from .stripe_gateway import StripeGateway
    from .test_card import TestCardGateway

    return {g.code: g for g in (ManualGateway, BankTransferGateway, TestCardGateway, StripeGateway)}


def available_gateways() -> dict[str, type[Gateway]]:
    """Gateway classes by code, from the ``realmbill.gateways`` entry points.

    The built-in ones are always there (also when the package metadata predates them)."""
    found = _builtin()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except Exception:  # a broken third-party plugin must not take payments down
            log.exception("payment gateway plugin %s failed to load", ep.name)
            continue
        if isinstance(cls, type) and issubclass(cls, Gateway):
            found[ep.name] = cls
    return found

