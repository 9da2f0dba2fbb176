"""Stripe through the official SDK: PaymentIntents confirmed off-session with a stored
payment method, refunds, and signed webhooks (``stripe.Webhook.construct_event``).

Each call builds its own ``StripeClient`` with the realm's secret key (several realms, several
Stripe accounts, no global state) and closes its HTTP session afterwards. ``api_base`` is
only for tests and stripe-mock style servers; by default the SDK talks to api.stripe.com
with TLS verification on.
"""

from __future__ import annotations

import json
from decimal import Decimal

import stripe
from flask_babel import lazy_gettext as _l

from app.rating.money import minor_units

from .base import (
    ChargeResult,
    Gateway,
    GatewayError,
    RefundResult,
    SettingField,
    SignatureError,
    WebhookEvent,
)


def to_minor(amount: Decimal, currency: str) -> int:
    return int((amount * (Decimal(10) ** minor_units(currency))).to_integral_value())


def from_minor(value: int, currency: str) -> Decimal:
    return Decimal(int(value)).scaleb(-minor_units(currency))


class StripeGateway(Gateway):
    code = "stripe"
    label = _l("Stripe")
    online = True
    can_charge = can_refund = True
    has_webhooks = True
    settings_fields = (
        SettingField("publishable_key", _l("Publishable key")),
        SettingField("secret_key", _l("Secret key"), secret=True, required=True),
        SettingField("webhook_secret", _l("Webhook signing secret"), secret=True, required=True),
        SettingField("api_base", _l("API address (only for test servers)")),
    )

    def _call(self, func):
        http = stripe.RequestsClient(timeout=30)
        options = {"http_client": http, "max_network_retries": 0}
        if self.settings.get("api_base"):
            options["base_addresses"] = {"api": self.settings["api_base"]}
        try:
            client = stripe.StripeClient(self.settings.get("secret_key") or "", **options)
            return func(client)
        finally:
            http.close()

    def charge(self, *, token, customer_ref, amount, currency, idempotency_key, description,
               metadata) -> ChargeResult:
        params = {
            "amount": to_minor(amount, currency), "currency": currency.lower(),
            "payment_method": token, "confirm": True, "off_session": True,
            "description": description, "metadata": {k: str(v) for k, v in metadata.items()},
        }
        if customer_ref:
            params["customer"] = customer_ref
        try:
            intent = self._call(lambda c: c.v1.payment_intents.create(
                params=params, options={"idempotency_key": idempotency_key}))
        except stripe.CardError as exc:
            error = exc.error
            intent_id = None
            if error is not None and getattr(error, "payment_intent", None):
                intent_id = error.payment_intent["id"]
            code = (getattr(error, "decline_code", None) or getattr(error, "code", None)) if error is not None else None
            return ChargeResult(status="declined", external_id=intent_id,
                                failure_code=code or "card_declined", message=exc.user_message)
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            return ChargeResult(status="error", failure_code="gateway_unreachable",
                                message=type(exc).__name__, retryable=True)
        except stripe.StripeError as exc:
            retryable = (exc.http_status or 500) >= 500
            return ChargeResult(status="error", failure_code=exc.code or "gateway_error",
                                message=type(exc).__name__, retryable=retryable)
        if intent.status == "succeeded":
            return ChargeResult(status="succeeded", external_id=intent.id)
        if intent.status in ("processing", "requires_capture"):
            return ChargeResult(status="pending", external_id=intent.id)
        return ChargeResult(status="declined", external_id=intent.id,
                            failure_code=intent.status, message="authentication required")

    def refund(self, *, external_id, amount, currency, idempotency_key) -> RefundResult:
        try:
            refund = self._call(lambda c: c.v1.refunds.create(
                params={"payment_intent": external_id, "amount": to_minor(amount, currency)},
                options={"idempotency_key": idempotency_key}))
        except stripe.StripeError as exc:
            raise GatewayError(exc.code or "refund_failed", type(exc).__name__,
                               retryable=(exc.http_status or 500) >= 500) from None
        status = "succeeded" if refund.status in ("succeeded", "pending") else "failed"
        return RefundResult(status=status, external_id=refund.id)

    def parse_webhook(self, payload: bytes, headers: dict) -> WebhookEvent:
        secret = self.settings.get("webhook_secret")
        if not secret:
            raise GatewayError("not_configured")
        try:
            stripe.Webhook.construct_event(payload, headers.get("Stripe-Signature"), secret)
        except (stripe.SignatureVerificationError, ValueError):
            raise SignatureError() from None
        # Verified above: read the plain JSON (the SDK's objects are not dicts).
        body = json.loads(payload)
        obj = body["data"]["object"]
        kind = body["type"]
        if kind in ("payment_intent.succeeded", "payment_intent.payment_failed"):
            currency = obj["currency"].upper()
            error = obj.get("last_payment_error") or {}
            return WebhookEvent(
                event_id=body["id"],
                type="payment.succeeded" if kind.endswith("succeeded") else "payment.failed",
                external_id=obj["id"], amount=from_minor(obj["amount"], currency), currency=currency,
                failure_code=error.get("decline_code") or error.get("code"),
                metadata=dict(obj.get("metadata") or {}),
            )
        if kind == "charge.refunded":
            currency = obj["currency"].upper()
            refunds = [(r["id"], from_minor(r["amount"], currency))
                       for r in ((obj.get("refunds") or {}).get("data") or [])]
            return WebhookEvent(
                event_id=body["id"], type="payment.refunded", external_id=obj.get("payment_intent"),
                amount=from_minor(obj["amount"], currency), currency=currency,
                refunded_amount=from_minor(obj.get("amount_refunded") or 0, currency),
                refunds=refunds, metadata=dict(obj.get("metadata") or {}),
            )
        return WebhookEvent(event_id=body["id"], type="ignored")
