"""Billing pages of the realm console: runs with live progress, invoices, previews."""

from __future__ import annotations

from flask import request, url_for

from app.services.accounts import get_account
from app.services.billing.queries import get_invoice, get_run, list_invoices, list_runs
from app.services.billing.run import preview_invoice, start_billing_run
from app.services.errors import Invalid

from ..access import staff_required
from ..errors import field_messages
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
    return render("console/invoice.html", invoice=get_invoice(invoice_id))


@bp.route("/accounts/<int:account_id>/preview")
@staff_required()
def invoice_preview(account_id: int):
    """What the account's invoice for this month would be today (writes nothing)."""
    account = get_account(account_id)
    return render("console/invoice_preview.html", account=account, draft=preview_invoice(account.id))
