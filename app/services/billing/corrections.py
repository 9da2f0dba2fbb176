"""Corrections of finalized invoices: credit notes (full or partial) and voiding.

A finalized invoice is never edited (app/models/invoice.py refuses it at flush). A credit
note is a document of its own, numbered gaplessly by its own counter (kind
``credit_note``), pointing at the invoice it corrects; its lines are negative. A full
credit note negates every line; a partial one credits a gross amount, split into net and
tax at the invoice's rate so the tax is corrected too. The credit notes of an invoice
never credit more than its total. Voiding keeps the invoice and its number (status
``void``), so the number sequence stays gapless.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select

from app.extensions import db
from app.models import Invoice, InvoiceLine, Realm
from app.rating.money import MoneyError, minor_units, parse_decimal, quantize_money
from tenants import require_realm_id

from ..errors import FieldErrors, Invalid, NotAllowed
from ..lookups import get_or_not_found
from .followups import invoices_finalized
from .numbering import take_numbers

CREDIT_NOTE_PREFIX = "CN-"
ZERO = Decimal(0)


def _invoice(invoice_id: int) -> Invoice:
    return get_or_not_found(Invoice, invoice_id, "invoice")


def credited_so_far(invoice_id: int) -> Decimal:
    """How much the finalized credit notes of an invoice credit (a positive amount)."""
    value = db.session.scalar(select(func.coalesce(func.sum(Invoice.total), 0)).where(
        Invoice.credited_invoice_id == invoice_id, Invoice.kind == "credit_note",
        Invoice.status == "finalized"))
    return -Decimal(value or 0)


def issue_credit_note(invoice_id: int, *, reason: str, amount: Decimal | str | None = None) -> Invoice:
    """Credit ``amount`` (gross) of a finalized invoice, or all that is left when None."""
    invoice = _invoice(invoice_id)
    errors = FieldErrors()
    errors.require("reason", reason)
    if invoice.kind != "invoice":
        raise NotAllowed("not_an_invoice")
    if invoice.status != "finalized":
        raise NotAllowed("not_finalized" if invoice.status == "draft" else "void")
    left = invoice.total - credited_so_far(invoice.id)
    if left <= 0:
        raise NotAllowed("fully_credited")
    places = minor_units(invoice.currency)
    gross: Decimal | None = None
    if amount is not None and amount != "":
        try:
            gross = parse_decimal(amount)
        except MoneyError:
            errors.add("amount", "not_a_number")
        else:
            if gross <= 0:
                errors.add("amount", "must_be_positive")
            elif gross != gross.quantize(Decimal(1).scaleb(-places)):
                errors.add("amount", "too_many_decimals")
            elif gross > left:
                errors.add("amount", "exceeds_invoice")
    errors.raise_if_any()
    reason = reason.strip()
    if gross is None and left == invoice.total:
        lines = [(line.kind, f"Credit: {line.description}", -line.amount, line.quantity, line.unit,
                  line.unit_price) for line in invoice.lines]
        tax = -invoice.tax_total
    else:
        gross = left if gross is None else gross
        lines, tax = _split(invoice, gross, reason)
    realm = db.session.get(Realm, require_realm_id())
    sequence = take_numbers("credit_note", 1)
    now = datetime.now(UTC)
    total = quantize_money(sum((line[2] for line in lines), ZERO), invoice.currency)
    note = Invoice(
        account_id=invoice.account_id, kind="credit_note", status="draft", currency=invoice.currency,
        number=f"{CREDIT_NOTE_PREFIX}{sequence:06d}", sequence=sequence, issue_date=now.date(),
        due_date=now.date(), period_start=invoice.period_start, period_end=invoice.period_end,
        subtotal=total - tax, tax_total=tax, total=total, credited_invoice_id=invoice.id,
        seller_tax_id=realm.seller_tax_id, buyer_tax_id=invoice.buyer_tax_id, tax_rate=invoice.tax_rate,
        prices_include_tax=invoice.prices_include_tax, reverse_charge=invoice.reverse_charge,
        notes=f"Credit note for invoice {invoice.number}: {reason}",
    )
    note.lines = [InvoiceLine(position=i, kind=kind, description=description, amount=value, quantity=quantity,
                              unit=unit, unit_price=unit_price)
                  for i, (kind, description, value, quantity, unit, unit_price) in enumerate(lines, 1)]
    db.session.add(note)
    db.session.flush()
    note.status, note.finalized_at = "finalized", now
    db.session.flush()
    invoices_finalized([note.id])
    return note


def _split(invoice: Invoice, gross: Decimal, reason: str):
    """A partial credit of ``gross``: one net line plus the tax it carries."""
    currency = invoice.currency
    rate = invoice.tax_rate or ZERO
    if rate and not invoice.reverse_charge:
        net = quantize_money(gross * 100 / (100 + rate), currency)
        tax = gross - net
    else:
        net, tax = gross, ZERO
    if invoice.prices_include_tax or not tax:
        return [("credit", f"Credit: {reason}", -gross, Decimal(1), None, None)], -tax
    return [("credit", f"Credit: {reason}", -net, Decimal(1), None, None),
            ("tax", f"Tax {format(rate.normalize(), 'f')}% of {format(-net, 'f')}", -tax, None, None, None)], -tax


def void_invoice(invoice_id: int, *, reason: str) -> Invoice:
    """Void a finalized invoice that nothing credits yet; it keeps its number."""
    invoice = _invoice(invoice_id)
    if not (reason or "").strip():
        raise Invalid({"reason": ["required"]})
    if invoice.status == "void":
        raise NotAllowed("void")
    if invoice.status != "finalized":
        raise NotAllowed("not_finalized")
    if invoice.kind == "invoice" and credited_so_far(invoice.id) > 0:
        raise NotAllowed("has_credit_notes")
    invoice.status = "void"
    invoice.voided_at = datetime.now(UTC)
    invoice.void_reason = reason.strip()
    db.session.flush()
    return invoice


def credit_notes_of(invoice_id: int) -> list[Invoice]:
    return list(db.session.scalars(select(Invoice).where(
        Invoice.credited_invoice_id == invoice_id, Invoice.kind == "credit_note").order_by(Invoice.id)))
