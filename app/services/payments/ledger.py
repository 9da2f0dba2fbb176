"""What an account owes and holds: invoice balances, open invoices, credit balance.

An invoice is paid by the sum of its allocations; what succeeded payments bring in
beyond their allocations (less refunds) is the account's credit balance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import (
    Integer,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
    type_coerce,
    union_all,
)

from app.extensions import db
from app.models import Account, Invoice, Payment, PaymentAllocation
from tenants import realm_filter, run_in_realm

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


@dataclass
class Position:
    """What an account owes and holds, as the self-care overview shows it."""

    open_balance: dict[str, Decimal] = field(default_factory=dict)  # due on finalized invoices
    open_invoices: int = 0
    credit: dict[str, Decimal] = field(default_factory=dict)        # unapplied payments
    counted: int | None = None


def account_position(account_id: int, *, counting=None) -> Position:
    """``open_invoices`` and ``credit_balance`` of the account in one statement (a UNION ALL
    of its finalized invoices with what was allocated to each and its settled payments with
    what they have allocated), the same figures in the same order. ``counting``, a select of
    one integer (e.g. the account's open sessions; it may use the bound parameter
    ``account_id``), rides along in the same round trip and comes back as ``counted``."""
    position = Position()
    for kind, currency, amount, less, allocated_sum, _issued, _received, _id, counted in run_in_realm(
            db.session, _position_query(counting), {"account_id": account_id}):
        if kind == "due":
            due = amount - (less or ZERO)
            if due > 0:
                position.open_balance[currency] = position.open_balance.get(currency, ZERO) + due
                position.open_invoices += 1
        elif kind == "credit":
            left = amount - less - (allocated_sum or ZERO)
            if left > 0:
                position.credit[currency] = position.credit.get(currency, ZERO) + left
        else:
            position.counted = counted or 0
    return position


@lru_cache(maxsize=32)
def _position_query(counting):
    """Built once per ``counting`` statement (building it cost as much CPU as running it). A
    lean read (tenants/lean.py): every realm table carries ``realm_filter``, ``counting`` too."""
    account_id = bindparam("account_id")
    paid = (select(func.sum(PaymentAllocation.amount))
            .where(PaymentAllocation.invoice_id == Invoice.id, realm_filter(PaymentAllocation)).scalar_subquery())
    allocated = (select(func.sum(PaymentAllocation.amount))
                 .where(PaymentAllocation.payment_id == Payment.id, realm_filter(PaymentAllocation)).scalar_subquery())
    money = Invoice.__table__.c.total.type
    parts = [
        select(literal("due").label("kind"), Invoice.currency.label("currency"), Invoice.total.label("amount"),
               paid.label("less"), type_coerce(null(), money).label("allocated"),
               Invoice.issue_date.label("issued"),
               type_coerce(null(), Payment.__table__.c.received_at.type).label("received"),
               Invoice.id.label("id"), cast(null(), Integer).label("counted"))
        .where(Invoice.account_id == account_id, Invoice.status == "finalized", Invoice.kind == "invoice",
               Invoice.total > 0, realm_filter(Invoice)),
        select(literal("credit"), Payment.currency, Payment.amount, Payment.refunded_amount, allocated, null(),
               Payment.received_at, Payment.id, null())
        .where(Payment.account_id == account_id, Payment.status.in_(SETTLED), realm_filter(Payment)),
    ]
    if counting is not None:
        parts.append(select(literal("count"), null(), null(), null(), null(), null(), null(), null(),
                            counting.scalar_subquery()))
    # Invoices oldest first, payments as received: the order open_invoices and
    # unallocated_payments use, so the per-currency figures come out in the same order.
    return union_all(*parts).order_by(literal_column("kind"), literal_column("issued"),
                                      literal_column("received"), literal_column("id"))
