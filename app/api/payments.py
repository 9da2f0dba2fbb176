"""Payments: list, get, record money received, refund, and an account's credit balance.

Recording and refunding go through ``app.services.payments`` like the console: a recorded
payment is allocated to the chosen invoice or the oldest open ones (the rest is credit).
An ``Idempotency-Key`` is replayed by the API layer and also becomes the payment's (or
refund's) own idempotency key, so the same key never takes money twice.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from flask import g, request

from app.models.payment import PAYMENT_METHODS, PAYMENT_STATUSES
from app.rating.money import quantize_money
from app.services.payments.core import get_account, get_payment, record_payment, refund_payment
from app.services.payments.ledger import amount_due, credit_balance
from app.services.payments.queries import list_payments, refunds_of

from .registry import ApiError, endpoint
from .schemas import DATETIME, DECIMAL, ID, LIMIT, MONEY, listing, nullable, obj, text

REFUND = obj({"id": ID, "payment_id": ID, "amount": MONEY, "status": {"type": "string"},
              "reason": nullable({"type": "string"}), "created_at": nullable(DATETIME)},
             ["id", "payment_id", "amount", "status"], closed=False)
PAYMENT = obj({
    "id": ID, "account_id": ID, "amount": MONEY, "refunded_amount": MONEY, "currency": {"type": "string"},
    "status": {"type": "string", "enum": list(PAYMENT_STATUSES)}, "gateway": {"type": "string"},
    "method": {"type": "string"}, "purpose": {"type": "string"}, "invoice_id": nullable(ID),
    "reference": nullable({"type": "string"}), "receipt_number": nullable({"type": "string"}),
    "external_id": nullable({"type": "string"}), "failure_code": nullable({"type": "string"}),
    "received_at": nullable(DATETIME), "created_at": nullable(DATETIME),
    "allocations": {"type": "array", "items": obj({"invoice_id": ID, "amount": MONEY}, closed=False)},
    "refunds": {"type": "array", "items": REFUND},
}, ["id", "account_id", "amount", "currency", "status"], closed=False)
RECORD = obj({
    "account_id": ID, "amount": DECIMAL, "method": {"type": "string", "enum": list(PAYMENT_METHODS)},
    "invoice_id": nullable(ID), "reference": nullable(text(200)), "notes": nullable(text(2000)),
    "received_at": nullable({**DATETIME, "maxLength": 40}),
}, ["account_id", "amount"])
REFUND_REQUEST = obj({"amount": nullable(DECIMAL), "reason": nullable(text(255))})
BALANCE = obj({
    "account_id": ID,
    "credit": {"type": "array", "items": obj({"currency": {"type": "string"}, "amount": MONEY})},
    "due": {"type": "array", "items": obj({"currency": {"type": "string"}, "amount": MONEY})},
}, ["account_id", "credit", "due"], closed=False)


def _num(value, currency: str) -> str | None:
    """An amount in the currency's minor units (the same text on every database)."""
    return None if value is None else format(quantize_money(value, currency), "f")


def _when(value) -> str | None:
    return value.isoformat() if value else None


def refund_json(refund) -> dict:
    return {"id": refund.id, "payment_id": refund.payment_id, "amount": _num(refund.amount, refund.payment.currency),
            "status": refund.status, "reason": refund.reason, "created_at": _when(refund.created_at)}


def payment_json(payment, *, detail: bool = False) -> dict:
    data = {
        "id": payment.id, "account_id": payment.account_id, "amount": _num(payment.amount, payment.currency),
        "refunded_amount": _num(payment.refunded_amount, payment.currency), "currency": payment.currency,
        "status": payment.status, "gateway": payment.gateway, "method": payment.method,
        "purpose": payment.purpose, "invoice_id": payment.invoice_id, "reference": payment.reference,
        "receipt_number": payment.receipt_number, "external_id": payment.external_id,
        "failure_code": payment.failure_code, "received_at": _when(payment.received_at),
        "created_at": _when(payment.created_at),
    }
    if detail:
        data["allocations"] = [{"invoice_id": a.invoice_id, "amount": _num(a.amount, payment.currency)}
                               for a in payment.allocations]
        data["refunds"] = [refund_json(r) for r in refunds_of(payment.id)]
    return data


def _actor() -> str:
    return f"API key {g.api_key.name}"[:254]


def _service_key(kind: str) -> str | None:
    """The request's Idempotency-Key as the service's own key (bounded, per API key)."""
    token = (request.headers.get("Idempotency-Key") or "").strip()
    if not token:
        return None
    return f"api:{g.api_key.id}:{kind}:{hashlib.sha256(token.encode()).hexdigest()}"


def _received_at(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(422, "invalid", errors={"received_at": ["invalid"]}) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@endpoint("/payments", summary="List payments", scope="payments:read", tag="payments",
          query={"status": {"type": "string", "enum": list(PAYMENT_STATUSES)}, "gateway": text(40),
                 "account_id": ID, "q": text(100), "limit": LIMIT}, response=listing(PAYMENT))
def api_list_payments(query):
    payments = list_payments(status=query.get("status"), gateway=query.get("gateway"), q=query.get("q"),
                             account_id=query.get("account_id"), limit=query.get("limit", 200))
    return {"items": [payment_json(p) for p in payments]}


@endpoint("/payments/{payment_id}", summary="Get a payment with its allocations and refunds",
          scope="payments:read", tag="payments", response=PAYMENT)
def api_get_payment(payment_id):
    return payment_json(get_payment(payment_id), detail=True)


@endpoint("/payments", "POST", summary="Record a payment received (cash, cheque, transfer)",
          scope="payments:write", tag="payments", request=RECORD, response=PAYMENT, status=201,
          example={"account_id": 1, "amount": "25.00", "method": "bank_transfer", "reference": "TX-1001"},
          description="Money already received, in the realm's currency. It is allocated to `invoice_id` "
                      "or to the oldest open invoices; what is left is the account's credit. With an "
                      "`Idempotency-Key`, the same key never records a second payment.")
def api_record_payment(body):
    payment = record_payment(
        body["account_id"], amount=body["amount"], gateway="manual", method=body.get("method") or "cash",
        reference=body.get("reference"), invoice_id=body.get("invoice_id"), notes=body.get("notes"),
        received_at=_received_at(body.get("received_at")), idempotency_key=_service_key("payment"),
        created_by=_actor())
    return payment_json(payment, detail=True), 201


@endpoint("/payments/{payment_id}/refunds", "POST", summary="Refund a payment (all that is left by default)",
          scope="payments:write", tag="payments", request=REFUND_REQUEST, response=REFUND, status=201,
          errors=(409,), example={"amount": "5.00", "reason": "goodwill"},
          description="Through the payment's gateway; allocations are reversed as needed. 409 "
                      "`not_refundable` when the payment has not succeeded or is refunded in full.")
def api_refund_payment(payment_id, body):
    refund = refund_payment(payment_id, amount=body.get("amount"), reason=body.get("reason"),
                            key=_service_key(f"refund:{payment_id}"), created_by=_actor())
    return refund_json(refund), 201


@endpoint("/accounts/{account_id}/balance", summary="An account's credit and amount due",
          scope="payments:read", tag="payments", response=BALANCE,
          description="Credit: money received and not applied to an invoice, per currency. "
                      "Due: what the account's open invoices still ask for.")
def api_account_balance(account_id):
    account = get_account(account_id)
    return {
        "account_id": account.id,
        "credit": [{"currency": c, "amount": _num(v, c)} for c, v in sorted(credit_balance(account.id).items())],
        "due": [{"currency": c, "amount": _num(v, c)} for c, v in sorted(amount_due(account.id).items())],
    }
