"""Gateway webhooks: verified by the gateway plugin, recorded once per event id, applied
idempotently whatever the order they arrive in.

A redelivered event finds its ``webhook_deliveries`` row and changes nothing. Different
events about one payment converge on the same payment row: the charge's idempotency key
travels in the gateway's metadata, and a payment unknown to us is keyed by the gateway's
id. A refund reported before the success it refunds settles the payment first; a failure
reported after a success is ignored.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.gateways import ChargeResult, GatewayError, WebhookEvent
from app.models import Account, Payment, WebhookDelivery
from tenants import require_realm_id

from ..errors import NotAllowed
from ..uow import insert_once
from .autocharge import failed_asynchronously
from .core import begin_payment, mark_failed, mark_succeeded, now, record_refund
from .gateways import gateway_for


def handle_webhook(gateway_code: str, payload: bytes, headers: dict) -> str:
    """Verify and apply one delivery; returns ``processed``, ``duplicate`` or ``ignored``.

    Raises ``SignatureError`` for a bad signature (nothing is written)."""
    require_realm_id()
    gateway = gateway_for(gateway_code)
    if not gateway.has_webhooks:
        raise NotAllowed("no_webhooks")
    event = gateway.parse_webhook(payload, headers)
    delivery = WebhookDelivery(gateway=gateway_code, event_id=event.event_id[:255],
                               event_type=event.type, received_at=now())
    _, created = insert_once(delivery, lambda: db.session.scalar(select(WebhookDelivery).where(
        WebhookDelivery.gateway == gateway_code, WebhookDelivery.event_id == delivery.event_id)))
    if not created:
        return "duplicate"
    if event.type == "ignored":
        return "ignored"
    payment = _payment_for(gateway_code, event)
    if payment is None:
        return "ignored"
    if event.type == "payment.succeeded":
        mark_succeeded(payment, external_id=event.external_id)
    elif event.type == "payment.failed":
        if payment.status == "pending":
            mark_failed(payment, ChargeResult(status="declined", external_id=event.external_id,
                                              failure_code=event.failure_code or "declined"))
            failed_asynchronously(payment)
    elif event.type == "payment.refunded":
        if payment.status in ("pending", "failed"):
            mark_succeeded(payment, external_id=event.external_id)  # the refund proves it succeeded
        _apply_refunds(gateway_code, payment, event)
    return "processed"


def _payment_for(gateway_code: str, event: WebhookEvent) -> Payment | None:
    if not event.external_id:
        return None
    payment = db.session.scalar(select(Payment).where(
        Payment.gateway == gateway_code, Payment.external_id == event.external_id))
    if payment is not None:
        return payment
    realm_of_event = _int(event.metadata.get("realm_id"))
    if realm_of_event is not None and realm_of_event != require_realm_id():
        return None  # signed for this realm's endpoint but about another realm: never cross
    key = event.metadata.get("idempotency_key") or f"{gateway_code}:{event.external_id}"
    account_id = _int(event.metadata.get("account_id"))
    if account_id is None or db.session.scalar(select(Account.id).where(Account.id == account_id)) is None:
        # A payment we know by key only (our row is still being written) or a stranger's.
        return db.session.scalar(select(Payment).where(Payment.idempotency_key == key))
    purpose = "topup" if event.metadata.get("topup_order_id") else "invoice"
    payment, _ = begin_payment(
        key=key, account_id=account_id, gateway=gateway_code, amount=event.amount,
        currency=event.currency, invoice_id=_int(event.metadata.get("invoice_id")), purpose=purpose)
    return payment


def _apply_refunds(gateway_code: str, payment: Payment, event: WebhookEvent) -> None:
    if event.refunds:
        for refund_id, amount in event.refunds:
            record_refund(payment, amount, key=f"{gateway_code}-refund:{refund_id}", external_id=refund_id,
                          reason="gateway")
        return
    missing = (event.refunded_amount or Decimal(0)) - payment.refunded_amount
    if missing > 0:
        record_refund(payment, missing, key=f"{gateway_code}-refund:{event.external_id}:{event.refunded_amount}",
                      reason="gateway")


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


__all__ = ["GatewayError", "handle_webhook"]
