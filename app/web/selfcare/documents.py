"""Self-care: the subscriber's invoices and receipts, with their PDFs.

Documents are always loaded through the signed-in account: another account's invoice or
receipt id answers 404, the same as one that does not exist.
"""

from __future__ import annotations

from flask import Response
from flask_login import current_user

from app.services.selfcare import invoice_pdf as _invoice_pdf
from app.services.selfcare import list_invoices, list_receipts
from app.services.selfcare import receipt_pdf as _receipt_pdf

from ..access import subscriber_required
from ..rendering import render
from .routes import bp


def _pdf(filename: str, content: bytes) -> Response:
    response = Response(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/invoices")
@subscriber_required
def invoices():
    return render("portal/invoices.html", rows=list_invoices(current_user.id),
                  receipts=list_receipts(current_user.id))


@bp.route("/invoices/<int:invoice_id>.pdf")
@subscriber_required
def invoice_pdf(invoice_id: int):
    return _pdf(*_invoice_pdf(current_user.id, invoice_id))


@bp.route("/receipts/<int:payment_id>.pdf")
@subscriber_required
def receipt_pdf(payment_id: int):
    return _pdf(*_receipt_pdf(current_user.id, payment_id))
