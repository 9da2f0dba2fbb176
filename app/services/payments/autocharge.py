"""Automatic charges of finalized invoices, and the retry schedule after a decline.

When invoices are finalized, ``invoices_finalized`` (a billing follow-up) enqueues one
``charge_invoice`` job per invoice. The job first uses the account's credit balance (a
top-up paid in advance pays its own line), then charges the default payment method for
what is still due. A decline starts the realm's retry schedule (e.g. days 1, 3 and 7 after
the first decline), walked by a periodic task; when the last retry fails the
``payment.failed`` event is raised. Each attempt has its own idempotency key
(``auto:<invoice>:<attempt>``), so a rerun job never charges twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Charge, ChargeRetry, Invoice, Payment, TopupOrder
from app.rating.money import quantize_money
from tenants import all_realms, current_realm_id, require_realm_id

from . import integrations
from .core import apply_credit, charge_method, default_method, get_invoice, now
from .gateways import parse_retry_days, payment_settings
from .ledger import invoice_balance


def invoices_finalized(invoice_ids: list[int]) -> None:
    """Billing follow-up (runs after the finalizing commit): one charge job per invoice."""
    from workers.payments import charge_invoice_job
    from workers.queues import enqueue

    realm_id = current_realm_id()
    if realm_id is not None:
        pairs = [(realm_id, invoice_id) for invoice_id in invoice_ids]
    else:
        with all_realms():
            pairs = list(db.session.execute(
                select(Invoice.realm_id, Invoice.id).where(Invoice.id.in_(invoice_ids))).all())
    for realm, invoice_id in pairs:
        enqueue(charge_invoice_job, realm, invoice_id, queue="billing",
                job_id=f"autocharge-{realm}-{invoice_id}")


def _topup_payments_on(invoice_id: int) -> tuple[int, ...]:
    """Payments of top-ups whose charge this invoice carries (they pay that line first)."""
    keys = list(db.session.scalars(select(Charge.source_key).where(
        Charge.invoice_id == invoice_id, Charge.kind == "topup")))
    order_ids = [int(k.split(":", 1)[1]) for k in keys if k and k.startswith("topup:")]
    if not order_ids:
        return ()
    return tuple(p for p in db.session.scalars(select(TopupOrder.payment_id).where(
        TopupOrder.id.in_(order_ids))) if p)


def charge_invoice(invoice_id: int) -> Payment | None:
    """Settle a finalized invoice from credit, then from the default payment method."""
    invoice = get_invoice(invoice_id)
    if invoice_balance(invoice) <= 0:
        return None
    apply_credit(invoice.account_id, first_invoice_ids=(invoice.id,),
                 first_payment_ids=_topup_payments_on(invoice.id))
    due = invoice_balance(invoice)
    settings = payment_settings()
    if due <= 0 or not settings.auto_charge or default_method(invoice.account_id) is None:
        return None
    payment = charge_method(invoice.account_id, amount=due, key=f"auto:{invoice.id}:1",
                            invoice_id=invoice.id, description=f"Invoice {invoice.number}")
    if payment.status == "failed":
        _schedule_retry(invoice, payment, attempt=1)
    return payment


def _schedule_retry(invoice: Invoice, payment: Payment, *, attempt: int) -> ChargeRetry:
    retry = db.session.scalar(select(ChargeRetry).where(ChargeRetry.invoice_id == invoice.id))
    days = parse_retry_days(payment_settings().retry_days)
    error = (payment.failure_code or "declined")[:255]
    if retry is None:
        retry = ChargeRetry(invoice_id=invoice.id, account_id=invoice.account_id, attempts=attempt,
                            first_failed_at=now(), status="scheduled", last_error=error)
        db.session.add(retry)
    retry.attempts, retry.last_error = attempt, error
    if attempt - 1 < len(days):
        retry.next_attempt_at = retry.first_failed_at + timedelta(days=days[attempt - 1])
        retry.status = "scheduled"
    else:
        retry.next_attempt_at, retry.status = None, "exhausted"
        integrations.emit("payment.failed", account=invoice.account_id, data={
            "invoice_id": invoice.id, "invoice_number": invoice.number, "attempts": attempt,
            "amount": quantize_money(payment.amount, payment.currency), "currency": payment.currency,
            "reason": error,
        })
    db.session.flush()
    return retry


def failed_asynchronously(payment: Payment) -> None:
    """An automatic charge the gateway declined later (webhook): continue its schedule."""
    parts = payment.idempotency_key.split(":")
    if len(parts) != 3 or parts[0] != "auto" or payment.invoice_id is None:
        return
    _schedule_retry(get_invoice(payment.invoice_id), payment, attempt=int(parts[2]))


def realms_with_due_retries(at: datetime) -> list[int]:
    with all_realms():
        return sorted(set(db.session.scalars(select(ChargeRetry.realm_id).where(
            ChargeRetry.status == "scheduled", ChargeRetry.next_attempt_at <= at))))


def retry_due_charges(at: datetime | None = None) -> int:
    """Try every scheduled retry of the realm that is due; returns how many were attempted."""
    at = at or now()
    require_realm_id()
    retries = list(db.session.scalars(select(ChargeRetry).where(
        ChargeRetry.status == "scheduled", ChargeRetry.next_attempt_at <= at).order_by(ChargeRetry.id)))
    tried = 0
    for retry in retries:
        invoice = get_invoice(retry.invoice_id)
        due = invoice_balance(invoice)
        if due <= 0:
            retry.status, retry.next_attempt_at = "succeeded", None
            continue
        if default_method(invoice.account_id) is None:
            continue  # nothing to charge yet; try again at the next run
        attempt = retry.attempts + 1
        payment = charge_method(invoice.account_id, amount=due, key=f"auto:{invoice.id}:{attempt}",
                                invoice_id=invoice.id, description=f"Invoice {invoice.number}")
        tried += 1
        if payment.status == "failed":
            _schedule_retry(invoice, payment, attempt=attempt)
        elif payment.status != "pending":
            retry.attempts, retry.status, retry.next_attempt_at = attempt, "succeeded", None
    db.session.flush()
    return tried


def close_retries(account_id: int) -> None:
    """Stop retrying invoices that a payment just settled."""
    for retry in db.session.scalars(select(ChargeRetry).where(
            ChargeRetry.account_id == account_id, ChargeRetry.status == "scheduled")):
        if invoice_balance(get_invoice(retry.invoice_id)) <= 0:
            retry.status, retry.next_attempt_at = "succeeded", None
    db.session.flush()
