"""Billing pages of the realm console: runs with live progress, invoices, previews."""

from __future__ import annotations

from flask import request, url_for

from app.services.accounts import get_account
from app.services.billing.corrections import (
    credit_notes_of,
    credited_so_far,
    issue_credit_note,
    void_invoice,
)
from app.services.billing.queries import get_invoice, get_run, list_invoices, list_runs
from app.services.billing.run import preview_invoice, start_billing_run
from app.services.errors import Invalid

from ..access import staff_required
from ..errors import field_messages
from ..forms import text
from ..htmx import navigate
from ..rendering import render
from .routes import bp


@bp.route("/billing")
@staff_required("finance")
def billing():
    return render("console/billing.html", runs=list_runs(), errors={}, values={})


@bp.route("/billing/runs", methods=["POST"])
@staff_required("finance")
def start_run():
    try:
        start_billing_run(request.form.get("period", "").strip())
    except Invalid as exc:
        return render("console/billing.html", runs=list_runs(), errors=field_messages(exc),
                      values=request.form.to_dict()), 422
    return navigate(url_for("console.billing"))


@bp.route("/billing/runs/<int:run_id>/progress")
@staff_required("finance")
def run_progress(run_id: int):
    """The run's row, re-polled by HTMX every second until the run is done."""
    return render("console/_billing_run_row.html", run=get_run(run_id))


@bp.route("/invoices")
@staff_required()
def invoices():
    return render("console/invoices.html", invoices=list_invoices())


@bp.route("/invoices/<int:invoice_id>")
@staff_required()
def invoice(invoice_id: int):
    return _invoice_page(get_invoice(invoice_id))


def _invoice_page(invoice, *, errors=None, values=None, status=200):
    return render("console/invoice.html", invoice=invoice, credit_notes=credit_notes_of(invoice.id),
                  credited=credited_so_far(invoice.id), errors=errors or {}, values=values or {}), status


@bp.route("/invoices/<int:invoice_id>/credit-notes", methods=["POST"])
@staff_required("finance")
def credit_invoice(invoice_id: int):
    """A full (no amount) or partial credit note for a finalized invoice."""
    invoice = get_invoice(invoice_id)
    try:
        note = issue_credit_note(invoice.id, reason=text("reason"), amount=text("amount") or None)
    except Invalid as exc:
        from .subscriptions import field_messages as terms_messages

        return _invoice_page(invoice, errors=terms_messages(exc), values=request.form.to_dict(), status=422)
    return navigate(url_for("console.invoice", invoice_id=note.id))


@bp.route("/invoices/<int:invoice_id>/void", methods=["POST"])
@staff_required("finance")
def void(invoice_id: int):
    invoice = get_invoice(invoice_id)
    try:
        void_invoice(invoice.id, reason=text("void_reason"))
    except Invalid as exc:
        return _invoice_page(invoice, errors={"void_reason": field_messages(exc).get("reason", [])},
                             values=request.form.to_dict(), status=422)
    return navigate(url_for("console.invoice", invoice_id=invoice.id))


@bp.route("/accounts/<int:account_id>/preview")
@staff_required()
def invoice_preview(account_id: int):
    """What the account's invoice for this month would be today (writes nothing)."""
    account = get_account(account_id)
    return render("console/invoice_preview.html", account=account, draft=preview_invoice(account.id))
