"""Invoices: list, get, and their documents (PDF, EN 16931 XML)."""

from __future__ import annotations

from flask import Response

from app.services.billing.queries import get_invoice, list_invoices

from .registry import ApiError, endpoint
from .schemas import DATE, ID, LIMIT, MONEY, listing, nullable, obj

LINE = obj({"position": {"type": "integer"}, "kind": {"type": "string"}, "description": {"type": "string"},
            "quantity": nullable(MONEY), "unit": nullable({"type": "string"}),
            "unit_price": nullable(MONEY), "amount": MONEY}, closed=False)
INVOICE = obj({
    "id": ID, "number": nullable({"type": "string"}), "kind": {"type": "string"}, "status": {"type": "string"},
    "account_id": ID, "period_start": nullable(DATE), "period_end": nullable(DATE),
    "issue_date": nullable(DATE), "due_date": nullable(DATE), "currency": {"type": "string"},
    "subtotal": MONEY, "tax_total": MONEY, "total": MONEY,
    "lines": {"type": "array", "items": LINE},
}, ["id", "status", "currency", "total"], closed=False)


def _day(value):
    return value.isoformat() if value else None


def _num(value):
    return None if value is None else format(value, "f")


def invoice_json(invoice, *, lines: bool = False) -> dict:
    data = {
        "id": invoice.id, "number": invoice.number, "kind": invoice.kind, "status": invoice.status,
        "account_id": invoice.account_id, "period_start": _day(invoice.period_start),
        "period_end": _day(invoice.period_end), "issue_date": _day(invoice.issue_date),
        "due_date": _day(invoice.due_date), "currency": invoice.currency,
        "subtotal": _num(invoice.subtotal), "tax_total": _num(invoice.tax_total), "total": _num(invoice.total),
    }
    if lines:
        data["lines"] = [{"position": line.position, "kind": line.kind, "description": line.description,
                          "quantity": _num(line.quantity), "unit": line.unit,
                          "unit_price": _num(line.unit_price), "amount": _num(line.amount)}
                         for line in invoice.lines]
    return data


@endpoint("/invoices", summary="List invoices", scope="invoices:read", tag="invoices",
          query={"account_id": ID, "limit": LIMIT}, response=listing(INVOICE))
def api_list_invoices(query):
    invoices = list_invoices(account_id=query.get("account_id"), limit=query.get("limit", 200))
    return {"items": [invoice_json(i) for i in invoices]}


@endpoint("/invoices/{invoice_id}", summary="Get an invoice with its lines", scope="invoices:read",
          tag="invoices", response=INVOICE)
def api_get_invoice(invoice_id):
    return invoice_json(get_invoice(invoice_id), lines=True)


def _documents():
    try:
        from app.services.documents import invoices as documents
    except ImportError:  # pragma: no cover - documents not installed
        raise ApiError(501, "not_implemented", "invoice documents are not available") from None
    return documents


@endpoint("/invoices/{invoice_id}/pdf", summary="The invoice as PDF", scope="invoices:read",
          tag="invoices", produces="application/pdf", errors=(409,))
def api_invoice_pdf(invoice_id):
    invoice = get_invoice(invoice_id)
    if invoice.status == "draft":
        raise ApiError(409, "draft", "a draft invoice has no document yet")
    documents = _documents()
    pdf = documents.invoice_pdf_bytes(invoice.id)
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{documents.invoice_filename(invoice)}"'
    return response


@endpoint("/invoices/{invoice_id}/xml", summary="The invoice's EN 16931 (Factur-X) XML",
          scope="invoices:read", tag="invoices", produces="application/xml", errors=(409,))
def api_invoice_xml(invoice_id):
    invoice = get_invoice(invoice_id)
    if invoice.status == "draft":
        raise ApiError(409, "draft", "a draft invoice has no document yet")
    try:
        from app.services.documents.einvoice import invoice_xml
    except ImportError:  # pragma: no cover
        raise ApiError(501, "not_implemented", "e-invoicing is not available") from None
    return Response(invoice_xml(invoice.id), mimetype="application/xml")


PREVIEW = obj({
    "account_id": ID, "currency": nullable({"type": "string"}), "period_start": DATE, "period_end": DATE,
    "subtotal": MONEY, "tax_total": MONEY, "total": MONEY,
    "lines": {"type": "array", "items": LINE},
}, ["account_id", "total", "lines"], closed=False)


@endpoint("/accounts/{account_id}/invoice-preview", summary="Preview the account's invoice for this month",
          scope="invoices:read", tag="invoices", response=PREVIEW,
          description="A dry run of the billing run with today's data: what the account's invoice "
                      "for the current month would be. Writes nothing.")
def api_invoice_preview(account_id):
    from app.services.billing.run import preview_invoice

    draft = preview_invoice(account_id)
    if draft is None:
        from app.services.billing.draft import local_today, month_period

        period = month_period(local_today())
        return {"account_id": account_id, "currency": None, "period_start": period.start.isoformat(),
                "period_end": period.end.isoformat(), "subtotal": "0", "tax_total": "0", "total": "0",
                "lines": []}
    return {
        "account_id": account_id, "currency": draft.currency, "period_start": draft.period.start.isoformat(),
        "period_end": draft.period.end.isoformat(), "subtotal": _num(draft.subtotal),
        "tax_total": _num(draft.tax_total), "total": _num(draft.total),
        "lines": [{"position": i, "kind": line.kind, "description": line.description,
                   "quantity": _num(line.quantity), "unit": line.unit, "unit_price": _num(line.unit_price),
                   "amount": _num(line.amount)} for i, line in enumerate(draft.lines, 1)],
    }
