"""Receipts: a PDF per settled payment, rendered in the realm's theme and e-mailed.

The document template is ``documents/receipt.html`` of the realm's theme (documents
area); until a theme has one, the built-in ``payments/receipt_pdf.html`` is used. The
mail carries the PDF and is queued once per payment (``dedupe_key``), so a rerun job
sends nothing twice.
"""

from __future__ import annotations

from flask import render_template
from jinja2 import TemplateNotFound
from sqlalchemy import select

from app.extensions import db
from app.models import Invoice, PaymentAllocation, Realm, TopupOrder
from tenants import require_realm_id

from ..errors import NotAllowed
from .core import get_payment
from .ledger import credit_balance


def receipt_context(payment_id: int) -> dict:
    payment = get_payment(payment_id)
    if payment.receipt_number is None:
        raise NotAllowed("no_receipt")
    rows = db.session.execute(
        select(Invoice.number, PaymentAllocation.amount)
        .join(Invoice, Invoice.id == PaymentAllocation.invoice_id)
        .where(PaymentAllocation.payment_id == payment.id).order_by(PaymentAllocation.id)
    ).all()
    per_invoice: dict[str, object] = {}
    for number, amount in rows:
        per_invoice[number] = per_invoice.get(number, 0) + amount
    topups = list(db.session.scalars(select(TopupOrder).where(TopupOrder.payment_id == payment.id)))
    return {
        "payment": payment, "account": payment.account, "receipt_number": payment.receipt_number,
        "allocations": [(n, a) for n, a in per_invoice.items() if a], "topups": topups,
        "credit": credit_balance(payment.account_id).get(payment.currency, 0),
    }


def receipt_pdf(payment_id: int) -> tuple[str, bytes]:
    """(file name, PDF bytes) of the payment's receipt."""
    from app.services.documents.pdf import html_to_pdf, render_pdf

    realm = db.session.get(Realm, require_realm_id())
    context = receipt_context(payment_id)
    try:
        pdf = render_pdf("documents/receipt.html", context, realm=realm)
    except TemplateNotFound:
        pdf = html_to_pdf(render_template("payments/receipt_pdf.html", realm=realm, **context))
    return f"receipt-{context['receipt_number']}.pdf", pdf


def send_receipt(payment_id: int) -> bool:
    """Mail the receipt to the account's address (once); False when there is no address."""
    from app.services.mail import send_mail

    context = receipt_context(payment_id)
    account = context["account"]
    if not account.email:
        return False
    realm = db.session.get(Realm, require_realm_id())
    filename, pdf = receipt_pdf(payment_id)
    payment = context["payment"]
    amount = f"{payment.amount} {payment.currency}"
    send_mail(
        to=account.email, subject=f"{realm.name}: receipt {payment.receipt_number}",
        text=(f"Hello {account.name},\n\nthank you for your payment of {amount}.\n"
              f"Your receipt {payment.receipt_number} is attached.\n\n{realm.name}\n"),
        attachments=[(filename, pdf, "application/pdf")], realm=realm,
        dedupe_key=f"receipt:{payment.realm_id}:{payment.id}")
    return True
