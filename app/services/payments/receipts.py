"""Receipts: a PDF per settled payment, rendered in the realm's theme and e-mailed.

The document template is ``documents/receipt.html`` of the realm's theme (documents
area); until a theme has one, the built-in ``payments/receipt_pdf.html`` is used. The
mail carries the PDF and is queued once per payment (``dedupe_key``), so a rerun job
sends nothing twice.
"""

from __future__ import annotations

from decimal import Decimal

from flask import render_template
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jinja2 import TemplateNotFound
from sqlalchemy import select

from app.extensions import db
from app.models import Invoice, PaymentAllocation, Realm, TopupOrder
from app.rating.money import quantize_money
from tenants import require_realm_id

from ..errors import NotAllowed
from .core import get_payment
from .ledger import credit_balance

METHOD_LABELS = {"card": _l("Card"), "cash": _l("Cash"), "cheque": _l("Cheque"),
                 "bank_transfer": _l("Bank transfer"), "other": _l("Other")}


def _money(amount, currency: str) -> str:
    return f"{quantize_money(Decimal(amount), currency)} {currency}"


def receipt_context(payment_id: int) -> dict:
    """The receipt's facts, in the shape of the theme's ``documents/receipt.html``."""
    realm = db.session.get(Realm, require_realm_id())
    with force_locale(realm.locale or "en"):
        return _receipt_context(payment_id, realm)


def _receipt_context(payment_id: int, realm: Realm) -> dict:
    payment = get_payment(payment_id)
    if payment.receipt_number is None:
        raise NotAllowed("no_receipt")
    account = payment.account
    rows = db.session.execute(
        select(Invoice.number, PaymentAllocation.amount)
        .join(Invoice, Invoice.id == PaymentAllocation.invoice_id)
        .where(PaymentAllocation.payment_id == payment.id).order_by(PaymentAllocation.id)
    ).all()
    per_invoice: dict[str, Decimal] = {}
    for number, amount in rows:
        per_invoice[number] = per_invoice.get(number, Decimal(0)) + amount
    items = [{"number": number, "amount": _money(amount, payment.currency)}
             for number, amount in per_invoice.items() if amount]
    for order in db.session.scalars(select(TopupOrder).where(TopupOrder.payment_id == payment.id)):
        items.append({"number": _("Top-up: %(name)s", name=order.description),
                      "amount": _money(order.amount, order.currency)})
    credit = credit_balance(payment.account_id).get(payment.currency, Decimal(0))
    note = _("Credit balance after this payment: %(amount)s", amount=_money(credit, payment.currency)) if credit else None
    if payment.refunded_amount:
        refunded = _("Refunded: %(amount)s", amount=_money(payment.refunded_amount, payment.currency))
        note = f"{note} · {refunded}" if note else refunded
    received = payment.received_at or payment.created_at
    return {
        "doc_title": _("Receipt"), "doc_number": payment.receipt_number,
        "seller": {"name": realm.name, "tax_id": realm.seller_tax_id},
        "buyer": {"name": account.name, "number": account.number, "email": account.email},
        "receipt": {"number": payment.receipt_number, "date": received.date(),
                    "method": str(METHOD_LABELS.get(payment.method, payment.method)),
                    "reference": payment.reference or payment.external_id,
                    "allocations": items, "amount": _money(payment.amount, payment.currency), "note": note},
        "fmt_date": lambda d: format_date(d, "medium") if d else "",
        "payment": payment, "account": account, "receipt_number": payment.receipt_number,
    }


def receipt_pdf(payment_id: int) -> tuple[str, bytes]:
    """(file name, PDF bytes) of the payment's receipt."""
    from app.services.documents.pdf import html_to_pdf, render_pdf

    realm = db.session.get(Realm, require_realm_id())
    context = receipt_context(payment_id)
    try:
        pdf = render_pdf("documents/receipt.html", context, realm=realm)
    except TemplateNotFound:
        with force_locale(realm.locale or "en"):
            html = render_template("payments/receipt_pdf.html", realm=realm, **context)
        pdf = html_to_pdf(html)
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
