"""Taking money: record a payment, charge a stored method or a card, allocate, refund.

Every payment has an idempotency key, unique per realm. A charge first writes its
*pending* row under that key (in a savepoint; a concurrent twin waits on the unique index
and then finds the first row), then asks the gateway with the same key, so a job rerun, a
double click or a webhook racing the synchronous answer all end on one payment. Once a
payment succeeds it is *settled* exactly once: receipt number, allocation to the chosen
invoice or the oldest open ones (the rest is credit), top-up fulfilment, the collections
re-evaluation, the ``payment.received`` event and, after commit, the e-mailed receipt.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.gateways import CardDetails, ChargeResult, GatewayError
from app.models import (
    PAYMENT_METHODS,
    Account,
    Invoice,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    Realm,
    Refund,
)
from app.rating.money import MoneyError, minor_units, parse_decimal, quantize_money
from app.services.billing.numbering import take_numbers
from tenants import require_realm_id

from ..errors import FieldErrors, Invalid, NotAllowed, NotFound
from ..lookups import get_or_not_found
from ..uow import after_commit, insert_once
from . import integrations
from .gateways import gateway_class, gateway_for, payment_settings
from .ledger import (
    ZERO,
    allocated_of,
    invoice_balance,
    lock_account,
    open_invoices,
    unallocated_payments,
)

log = logging.getLogger(__name__)


def now() -> datetime:
    return datetime.now(UTC)


def get_account(account_id: int) -> Account:
    return get_or_not_found(Account, account_id, "account")


def get_invoice(invoice_id: int) -> Invoice:
    return get_or_not_found(Invoice, invoice_id, "invoice")


def get_payment(payment_id: int) -> Payment:
    return get_or_not_found(Payment, payment_id, "payment")


def parse_amount(value, currency: str, errors: FieldErrors, field: str = "amount") -> Decimal | None:
    try:
        amount = parse_decimal(value if not isinstance(value, str) else value.strip())
    except MoneyError:
        errors.add(field, "not_a_number")
        return None
    if amount <= 0:
        errors.add(field, "must_be_positive")
        return None
    if amount != amount.quantize(Decimal(1).scaleb(-minor_units(currency))):
        errors.add(field, "too_many_decimals")
        return None
    return amount


def _realm_currency() -> str:
    return db.session.get(Realm, require_realm_id()).currency


def find_by_key(key: str) -> Payment | None:
    return db.session.scalar(select(Payment).where(Payment.idempotency_key == key))


def begin_payment(*, key: str, account_id: int, gateway: str, amount: Decimal, currency: str,
                  method: str = "card", invoice_id: int | None = None, purpose: str = "invoice",
                  payment_method_id: int | None = None, status: str = "pending",
                  **extra) -> tuple[Payment, bool]:
    """The payment row for ``key``: (existing, False) or (a new one, True). Race-safe."""
    existing = find_by_key(key)
    if existing is not None:
        return existing, False
    payment = Payment(account_id=account_id, gateway=gateway, method=method, amount=amount,
                      currency=currency, status=status, idempotency_key=key, invoice_id=invoice_id,
                      purpose=purpose, payment_method_id=payment_method_id,
                      refunded_amount=ZERO, **extra)
    return insert_once(payment, lambda: find_by_key(key))


# ------------------------------------------------------------------ recording
def record_payment(account_id: int, *, amount, gateway: str = "manual", method: str = "cash",
                   currency: str | None = None, reference: str | None = None,
                   invoice_id: int | None = None, idempotency_key: str | None = None,
                   external_id: str | None = None, received_at: datetime | None = None,
                   created_by: str | None = None, notes: str | None = None,
                   purpose: str = "invoice") -> Payment:
    """Record money already received (cash, cheque, a reconciled transfer) and allocate it.

    With the same ``idempotency_key`` again, the first payment is returned unchanged."""
    account = get_account(account_id)
    currency = currency or _realm_currency()
    errors = FieldErrors()
    value = parse_amount(amount, currency, errors)
    if method not in PAYMENT_METHODS:
        errors.add("method", "invalid")
    invoice = None
    if invoice_id is not None:
        invoice = db.session.scalar(select(Invoice).where(Invoice.id == invoice_id))
        if invoice is None or invoice.account_id != account.id:
            errors.add("invoice_id", "not_found")
        elif invoice.currency != currency:
            errors.add("invoice_id", "currency_mismatch")
    errors.raise_if_any()
    gateway_class(gateway)  # an installed gateway (staff record money it brought)
    key = idempotency_key or f"{gateway}:{method}:{datetime.now(UTC).timestamp()}:{account.id}:{value}"
    payment, created = begin_payment(
        key=key, account_id=account.id, gateway=gateway, amount=value, currency=currency,
        method=method, invoice_id=invoice_id, purpose=purpose, reference=(reference or None),
        external_id=external_id, created_by=created_by, notes=notes)
    if created:
        mark_succeeded(payment, received_at=received_at)
    return payment


def mark_succeeded(payment: Payment, *, external_id: str | None = None,
                   received_at: datetime | None = None) -> Payment:
    """Settle a payment once (no-op when it already succeeded)."""
    lock_account(payment.account_id)
    db.session.refresh(payment)
    if payment.status in ("succeeded", "partially_refunded", "refunded"):
        return payment
    if external_id and not payment.external_id:
        payment.external_id = external_id
    payment.status = "succeeded"
    payment.failure_code = payment.failure_message = None
    payment.retryable = False
    payment.received_at = received_at or now()
    settings = payment_settings()
    payment.receipt_number = f"{settings.receipt_prefix}{take_numbers('receipt', 1):06d}"
    db.session.flush()
    invoice_ids = []
    if payment.purpose == "topup":
        from app.services.topups import fulfil_order_of_payment

        fulfil_order_of_payment(payment)
    else:
        invoice_ids = allocate_payment(payment)
    from .autocharge import close_retries

    close_retries(payment.account_id)
    integrations.reevaluate_account(payment.account_id)
    integrations.emit("payment.received", account=payment.account_id, data={
        "payment_id": payment.id, "amount": quantize_money(payment.amount, payment.currency),
        "currency": payment.currency,
        "gateway": payment.gateway, "invoice_ids": invoice_ids, "receipt": payment.receipt_number,
    })
    _send_receipt_after_commit(payment.id)
    return payment


def mark_failed(payment: Payment, result: ChargeResult) -> Payment:
    if payment.status != "pending" and payment.status != "failed":
        return payment  # a late failure never undoes a success
    payment.status = "failed"
    payment.failure_code = (result.failure_code or "declined")[:60]
    payment.failure_message = (result.message or "")[:255] or None
    payment.retryable = result.retryable
    if result.external_id and not payment.external_id:
        payment.external_id = result.external_id
    db.session.flush()
    return payment


def _send_receipt_after_commit(payment_id: int) -> None:
    realm_id = require_realm_id()

    def enqueue_receipt() -> None:
        from workers.payments import send_receipt_job
        from workers.queues import enqueue

        enqueue(send_receipt_job, realm_id, payment_id, queue="documents",
                job_id=f"receipt-{realm_id}-{payment_id}")

    after_commit(enqueue_receipt)


# ------------------------------------------------------------------ allocation
def _allocate(payment: Payment, available: Decimal, targets: list[tuple[Invoice, Decimal]]) -> tuple[Decimal, list[int]]:
    touched = []
    for invoice, due in targets:
        if available <= 0:
            break
        part = min(available, due)
        if part <= 0:
            continue
        db.session.add(PaymentAllocation(payment_id=payment.id, invoice_id=invoice.id, amount=part))
        available -= part
        touched.append(invoice.id)
    db.session.flush()
    return available, touched


def allocate_payment(payment: Payment) -> list[int]:
    """Apply what is left of ``payment`` to its chosen invoice, then the oldest open ones."""
    available = payment.amount - payment.refunded_amount - allocated_of([payment.id]).get(payment.id, ZERO)
    if available <= 0:
        return []
    targets = open_invoices(payment.account_id, payment.currency)
    if payment.invoice_id is not None:
        targets.sort(key=lambda pair: pair[0].id != payment.invoice_id)
    _, touched = _allocate(payment, available, targets)
    return touched


def apply_credit(account_id: int, *, first_invoice_ids: tuple[int, ...] = (),
                 first_payment_ids: tuple[int, ...] = ()) -> list[int]:
    """Use the account's credit balance on its open invoices (oldest first); returns invoices paid."""
    lock_account(account_id)
    touched: list[int] = []
    credits = unallocated_payments(account_id)
    credits.sort(key=lambda pair: pair[0].id not in first_payment_ids)
    for payment, left in credits:
        targets = open_invoices(account_id, payment.currency)
        targets.sort(key=lambda pair: pair[0].id not in first_invoice_ids)
        _, ids = _allocate(payment, left, targets)
        touched.extend(i for i in ids if i not in touched)
    if touched:
        integrations.reevaluate_account(account_id)
    return touched


# ------------------------------------------------------------------ charging
def default_method(account_id: int) -> PaymentMethod | None:
    return db.session.scalar(select(PaymentMethod).where(
        PaymentMethod.account_id == account_id, PaymentMethod.is_default, PaymentMethod.active))


def charge_method(account_id: int, *, amount: Decimal, key: str, method_id: int | None = None,
                  invoice_id: int | None = None, purpose: str = "invoice",
                  description: str = "") -> Payment:
    """Charge a stored payment method (the default one unless ``method_id``), idempotently."""
    account = get_account(account_id)
    if method_id is None:
        method = default_method(account.id)
    else:
        method = db.session.scalar(select(PaymentMethod).where(
            PaymentMethod.id == method_id, PaymentMethod.account_id == account.id, PaymentMethod.active))
    if method is None:
        raise NotFound("payment method")
    gateway = gateway_for(method.gateway)
    if not gateway.can_charge:
        raise NotAllowed("gateway_cannot_charge")
    currency = _currency_for(invoice_id)
    payment, created = begin_payment(
        key=key, account_id=account.id, gateway=method.gateway, amount=amount, currency=currency,
        method="card", invoice_id=invoice_id, purpose=purpose, payment_method_id=method.id)
    if not created:
        return payment
    return _ask_gateway(gateway, payment, token=method.token, customer_ref=method.customer_ref,
                        description=description)


def _currency_for(invoice_id: int | None) -> str:
    if invoice_id is not None:
        return get_invoice(invoice_id).currency
    return _realm_currency()


def _ask_gateway(gateway, payment: Payment, *, token: str, customer_ref: str | None,
                 description: str) -> Payment:
    metadata = {"realm_id": payment.realm_id, "account_id": payment.account_id,
                "payment_id": payment.id, "idempotency_key": payment.idempotency_key}
    if payment.invoice_id:
        metadata["invoice_id"] = payment.invoice_id
    try:
        result = gateway.charge(
            token=token, customer_ref=customer_ref, amount=payment.amount, currency=payment.currency,
            idempotency_key=f"realmbill-{payment.realm_id}-{payment.idempotency_key}"[:255],
            description=description or f"Payment {payment.id}", metadata=metadata)
    except GatewayError as exc:
        result = ChargeResult(status="error", failure_code=exc.code, retryable=exc.retryable)
    if result.status == "succeeded":
        return mark_succeeded(payment, external_id=result.external_id)
    if result.status == "pending":
        if result.external_id and not payment.external_id:
            payment.external_id = result.external_id
            db.session.flush()
        return payment
    return mark_failed(payment, result)


def pay_with_card(account_id: int, *, card: CardDetails, amount: Decimal, key: str,
                  invoice_id: int | None = None, save: bool = False, purpose: str = "invoice",
                  gateway_code: str = "test_card", description: str = "") -> Payment:
    """A one-off card payment through a tokenising gateway; ``save`` keeps the token as the
    account's default method. The card number and CVC are dropped after tokenising."""
    from .methods import save_token

    account = get_account(account_id)
    existing = find_by_key(key)
    if existing is not None:
        return existing
    gateway = gateway_for(gateway_code)
    if not gateway.can_tokenise:
        raise NotAllowed("gateway_cannot_tokenise")
    try:
        token = gateway.tokenise(card, account_ref=account.number)
    except GatewayError as exc:
        raise Invalid({"card_number": [exc.code]}) from None
    method_id = None
    if save:
        method_id = save_token(account.id, gateway_code, token, make_default=True).id
    payment, created = begin_payment(
        key=key, account_id=account.id, gateway=gateway_code, amount=amount,
        currency=_currency_for(invoice_id), method="card", invoice_id=invoice_id, purpose=purpose,
        payment_method_id=method_id)
    if not created:
        return payment
    return _ask_gateway(gateway, payment, token=token.token, customer_ref=token.customer_ref,
                        description=description)


def pay_invoice(account_id: int, invoice_id: int, *, key: str, card: CardDetails | None = None,
                method_id: int | None = None, save: bool = False) -> Payment:
    """Self-care: pay what is due on one invoice, with a card or a stored method."""
    invoice = get_invoice(invoice_id)
    if invoice.account_id != account_id:
        raise NotFound("invoice")
    existing = find_by_key(key)
    if existing is not None:
        return existing
    due = invoice_balance(invoice)
    if due <= 0:
        raise NotAllowed("nothing_due")
    due = quantize_money(due, invoice.currency)
    description = f"Invoice {invoice.number}"
    if card is not None:
        from .gateways import online_gateway_code

        code = online_gateway_code()
        if code is None:
            raise NotAllowed("no_online_gateway")
        return pay_with_card(account_id, card=card, amount=due, key=key, invoice_id=invoice.id,
                             save=save, gateway_code=code, description=description)
    return charge_method(account_id, amount=due, key=key, method_id=method_id,
                         invoice_id=invoice.id, description=description)


# ------------------------------------------------------------------ refunds
def refund_payment(payment_id: int, *, amount=None, reason: str | None = None,
                   key: str | None = None, created_by: str | None = None) -> Refund:
    """Give money back (all that is left by default) and reverse allocations as needed."""
    payment = get_payment(payment_id)
    lock_account(payment.account_id)
    db.session.refresh(payment)
    if key is not None:
        existing = db.session.scalar(select(Refund).where(Refund.idempotency_key == key))
        if existing is not None:
            return existing
    if payment.status not in ("succeeded", "partially_refunded"):
        raise NotAllowed("not_refundable")
    left = payment.amount - payment.refunded_amount
    errors = FieldErrors()
    value = left if amount in (None, "") else parse_amount(amount, payment.currency, errors)
    if value is not None and value > left:
        errors.add("amount", "more_than_paid")
    errors.raise_if_any()
    gateway = gateway_for(payment.gateway, require_enabled=False)
    key = key or f"refund:{payment.id}:{payment.refunded_amount}:{value}"
    try:
        result = gateway.refund(external_id=payment.external_id, amount=value, currency=payment.currency,
                                idempotency_key=f"realmbill-{payment.realm_id}-{key}"[:255])
    except GatewayError as exc:
        raise NotAllowed(exc.code) from None
    if result.status != "succeeded":
        raise NotAllowed(result.failure_code or "refund_failed")
    return record_refund(payment, value, key=key, external_id=result.external_id, reason=reason,
                         created_by=created_by)


def record_refund(payment: Payment, amount: Decimal, *, key: str, external_id: str | None = None,
                  reason: str | None = None, created_by: str | None = None) -> Refund:
    """Write a refund the gateway made (also used for refunds reported by webhooks)."""
    existing = db.session.scalar(select(Refund).where(Refund.idempotency_key == key))
    if existing is None and external_id:
        existing = db.session.scalar(select(Refund).where(Refund.external_id == external_id))
    if existing is not None:
        return existing
    amount = min(amount, payment.amount - payment.refunded_amount)
    refund = Refund(payment_id=payment.id, amount=amount, status="succeeded", idempotency_key=key,
                    external_id=external_id, reason=reason, created_by=created_by)
    db.session.add(refund)
    allocated = allocated_of([payment.id]).get(payment.id, ZERO)
    unallocated = payment.amount - payment.refunded_amount - allocated
    payment.refunded_amount += amount
    payment.status = "refunded" if payment.refunded_amount >= payment.amount else "partially_refunded"
    to_reverse = amount - max(unallocated, ZERO)
    if to_reverse > 0:
        _reverse_allocations(payment, to_reverse)
    db.session.flush()
    return refund


def _reverse_allocations(payment: Payment, amount: Decimal) -> None:
    rows = db.session.execute(
        select(PaymentAllocation.invoice_id, PaymentAllocation.amount)
        .where(PaymentAllocation.payment_id == payment.id).order_by(PaymentAllocation.id)
    ).all()
    per_invoice: dict[int, Decimal] = {}
    for invoice_id, value in rows:
        per_invoice[invoice_id] = per_invoice.get(invoice_id, ZERO) + value
    for invoice_id in reversed(list(per_invoice)):  # newest allocation first
        if amount <= 0:
            break
        part = min(amount, per_invoice[invoice_id])
        if part > 0:
            db.session.add(PaymentAllocation(payment_id=payment.id, invoice_id=invoice_id, amount=-part))
            amount -= part
