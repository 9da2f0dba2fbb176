"""What an account owes and holds: invoice balances, open invoices, credit balance.

An invoice is paid by the sum of its allocations; what succeeded payments bring in
beyond their allocations (less refunds) is the account's credit balance.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from app.extensions import db
from app.models import Account, Invoice, Payment, PaymentAllocation

ZERO = Decimal(0)
SETTLED = ("succeeded", "partially_refunded", "refunded")


def lock_account(account_id: int) -> Account | None:
    """Serialise money movements of one account (row lock on PostgreSQL; SQLite locks writers)."""
    query = select(Account).where(Account.id == account_id)
    if db.session.connection().dialect.name == "postgresql":
        # NO KEY UPDATE: serialises allocators without clashing with the KEY SHARE locks that
        # inserting payments (foreign keys to the account) take, which would deadlock.
        query = query.with_for_update(key_share=True)  # FOR NO KEY UPDATE
    return db.session.scalar(query)


def paid_on(invoice_ids: list[int]) -> dict[int, Decimal]:
    if not invoice_ids:
        return {}
    rows = db.session.execute(
        select(PaymentAllocation.invoice_id, func.sum(PaymentAllocation.amount))
        .where(PaymentAllocation.invoice_id.in_(invoice_ids))
        .group_by(PaymentAllocation.invoice_id)
    ).all()
    return {invoice_id: Decimal(total or 0) for invoice_id, total in rows}


def invoice_balance(invoice: Invoice) -> Decimal:
    """What is still due on ``invoice`` (0 for drafts, voided invoices and credit notes)."""
    if invoice.status != "finalized" or invoice.kind != "invoice":
        return ZERO
    return max(invoice.total - paid_on([invoice.id]).get(invoice.id, ZERO), ZERO)


def open_invoices(account_id: int, currency: str | None = None) -> list[tuple[Invoice, Decimal]]:
    """Finalized invoices of the account with something due, oldest first, with what is due."""
    query = select(Invoice).where(
        Invoice.account_id == account_id, Invoice.status == "finalized", Invoice.kind == "invoice",
        Invoice.total > 0,
    ).order_by(Invoice.issue_date, Invoice.id)
    if currency:
        query = query.where(Invoice.currency == currency)
    invoices = list(db.session.scalars(query))
    paid = paid_on([i.id for i in invoices])
    result = []
    for invoice in invoices:
        due = invoice.total - paid.get(invoice.id, ZERO)
        if due > 0:
            result.append((invoice, due))
    return result


def allocated_of(payment_ids: list[int]) -> dict[int, Decimal]:
    if not payment_ids:
        return {}
    rows = db.session.execute(
        select(PaymentAllocation.payment_id, func.sum(PaymentAllocation.amount))
        .where(PaymentAllocation.payment_id.in_(payment_ids))
        .group_by(PaymentAllocation.payment_id)
    ).all()
    return {payment_id: Decimal(total or 0) for payment_id, total in rows}


def unallocated_payments(account_id: int, currency: str | None = None) -> list[tuple[Payment, Decimal]]:
    """Settled payments with money not yet applied to an invoice, oldest first."""
    query = select(Payment).where(Payment.account_id == account_id, Payment.status.in_(SETTLED))
    if currency:
        query = query.where(Payment.currency == currency)
    payments = list(db.session.scalars(query.order_by(Payment.received_at, Payment.id)))
    allocated = allocated_of([p.id for p in payments])
    result = []
    for payment in payments:
        left = payment.amount - payment.refunded_amount - allocated.get(payment.id, ZERO)
        if left > 0:
            result.append((payment, left))
    return result


def credit_balance(account_id: int) -> dict[str, Decimal]:
    """Unapplied money per currency (overpayments, prepaid credit)."""
    totals: dict[str, Decimal] = {}
    for payment, left in unallocated_payments(account_id):
        totals[payment.currency] = totals.get(payment.currency, ZERO) + left
    return totals


def amount_due(account_id: int) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for invoice, due in open_invoices(account_id):
        totals[invoice.currency] = totals.get(invoice.currency, ZERO) + due
    return totals
