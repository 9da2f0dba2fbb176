"""Payment pages of the realm console: payments with filters, manual payments, refunds,
bank statement imports, gateway settings, top-up products, an account's credit balance."""

from __future__ import annotations

import secrets
from decimal import Decimal

from flask import Response, abort, g, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.extensions import db
from app.gateways import available_gateways
from app.models import PAYMENT_STATUSES, BankStatementLine
from app.services.accounts import get_account
from app.services.errors import Invalid, NotAllowed, NotFound
from app.services.payments import (
    amount_due,
    credit_balance,
    get_payment,
    open_invoices,
    record_payment,
    refund_payment,
)
from app.services.payments.bank_statements import (
    StatementInvalid,
    assign_line,
    get_import,
    import_statement,
    list_imports,
)
from app.services.payments.gateways import (
    configure_gateway,
    gateway_overview,
    payment_settings,
    update_payment_settings,
)
from app.services.payments.methods import list_methods
from app.services.payments.queries import list_payments, refunds_of
from app.services.payments.receipts import receipt_pdf
from app.services.topups import list_products, save_product

from ..access import staff_required
from ..errors import ERROR_TEXT
from ..forms import optional_int, optional_text, text
from ..htmx import add_vary, navigate
from ..rendering import render
from .routes import bp

# Text for the codes payment services raise (the shared ones come from ERROR_TEXT).
PAYMENT_ERROR_TEXT = {
    "must_be_positive": _l("Must be more than zero."),
    "too_many_decimals": _l("Too many decimal places for this currency."),
    "more_than_paid": _l("More than is left of the payment."),
    "currency_mismatch": _l("The invoice is in another currency."),
    "not_found": _l("Not found."),
    "invalid_card": _l("This card number is not valid."),
    "expired": _l("The card has expired."),
    "required": _l("This field is required."),
    "missing_column": _l("This column is missing."),
    "duplicate_in_file": _l("This transaction appears twice in the file."),
    "not_utf8": _l("The file is not UTF-8 text."),
    "empty": _l("The file has no lines."),
    "too_large": _l("The file is too large."),
}
PAYMENT_STATUS_LABELS = {
    "pending": _l("pending"), "succeeded": _l("succeeded"), "failed": _l("failed"),
    "partially_refunded": _l("partially refunded"), "refunded": _l("refunded"),
}
METHOD_LABELS = {"card": _l("Card"), "cash": _l("Cash"), "cheque": _l("Cheque"),
                 "bank_transfer": _l("Bank transfer"), "other": _l("Other")}
NOT_ALLOWED_TEXT = {
    "not_refundable": _l("This payment cannot be refunded."),
    "gateway_disabled": _l("This gateway is switched off for the realm."),
}


def error_messages(exc: Invalid) -> dict[str, list[str]]:
    return {field: [str(PAYMENT_ERROR_TEXT.get(code) or ERROR_TEXT.get(code, code)) for code in codes]
            for field, codes in exc.errors.items()}


def _labels():
    return {"status_labels": {k: str(v) for k, v in PAYMENT_STATUS_LABELS.items()},
            "method_labels": {k: str(v) for k, v in METHOD_LABELS.items()}}


@bp.route("/payments")
@staff_required("finance")
def payments():
    filters = {k: request.args.get(k, "").strip() for k in ("status", "gateway", "q")}
    rows = list_payments(status=filters["status"] or None, gateway=filters["gateway"] or None,
                         q=filters["q"] or None)
    html = render("console/payments.html", fragment="console/_payment_rows.html", payments=rows,
                  filters=filters, statuses=PAYMENT_STATUSES, gateways=list(available_gateways()),
                  **_labels())
    return add_vary(Response(html))


def _payment_form(values, errors, status=200):
    account = None
    if values.get("account_id", "").isdigit():
        try:
            account = get_account(int(values["account_id"]))
        except NotFound:
            account = None
    invoices = open_invoices(account.id) if account is not None else []
    return render("console/payment_form.html", values=values, errors=errors, account=account,
                  invoices=invoices, **_labels()), status


@bp.route("/payments/new", methods=["GET", "POST"])
@staff_required("finance")
def new_payment():
    if request.method == "GET":
        values = {"account_id": request.args.get("account_id", ""), "method": "cash",
                  "nonce": secrets.token_urlsafe(16)}
        return _payment_form(values, {})
    values = request.form.to_dict()
    account_id = optional_int("account_id")
    if account_id is None:
        return _payment_form(values, {"account_id": [str(ERROR_TEXT["required"])]}, 422)
    try:
        get_account(account_id)
    except NotFound:
        return _payment_form(values, {"account_id": [str(ERROR_TEXT["not_found"])]}, 422)
    try:
        payment = record_payment(
            account_id, amount=text("amount"), method=text("method") or "cash",
            reference=optional_text("reference"), invoice_id=optional_int("invoice_id"),
            idempotency_key=f"console:{text('nonce') or secrets.token_urlsafe(16)}",
            created_by=current_user.email, notes=optional_text("notes"))
    except Invalid as exc:
        return _payment_form(values, error_messages(exc), 422)
    return navigate(url_for("console.payment", payment_id=payment.id))


@bp.route("/payments/<int:payment_id>")
@staff_required("finance")
def payment(payment_id: int):
    item = get_payment(payment_id)
    return render("console/payment.html", payment=item, refunds=refunds_of(item.id), errors={},
                  values={}, **_labels())


@bp.route("/payments/<int:payment_id>/refund", methods=["POST"])
@staff_required("finance")
def refund(payment_id: int):
    item = get_payment(payment_id)
    try:
        refund_payment(item.id, amount=optional_text("amount"), reason=optional_text("reason"),
                       key=f"console-refund:{text('nonce')}" if text("nonce") else None,
                       created_by=current_user.email)
    except Invalid as exc:
        return render("console/payment.html", payment=item, refunds=refunds_of(item.id),
                      errors=error_messages(exc), values=request.form.to_dict(), **_labels()), 422
    except NotAllowed as exc:
        message = str(NOT_ALLOWED_TEXT.get(exc.code, exc.code))
        return render("console/payment.html", payment=item, refunds=refunds_of(item.id),
                      errors={"amount": [message]}, values=request.form.to_dict(), **_labels()), 409
    return navigate(url_for("console.payment", payment_id=item.id))


@bp.route("/payments/<int:payment_id>/receipt.pdf")
@staff_required("finance")
def payment_receipt(payment_id: int):
    filename, pdf = receipt_pdf(get_payment(payment_id).id)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename}"'})


@bp.route("/payments/statements", methods=["GET", "POST"])
@staff_required("finance")
def statements():
    problems, status, result = [], 200, None
    if request.method == "POST":
        upload = request.files.get("statement")
        if upload is None or not upload.filename:
            problems = [(0, "file", str(ERROR_TEXT["required"]))]
            status = 422
        else:
            try:
                result = import_statement(upload.filename, upload.read(), created_by=current_user.email)
            except StatementInvalid as exc:
                problems = [(p.line, p.field, str(PAYMENT_ERROR_TEXT.get(p.code) or ERROR_TEXT.get(p.code, p.code)))
                            for p in exc.problems]
                status = 422
        if result is not None:
            return navigate(url_for("console.statement", import_id=result.id))
    return render("console/payment_statements.html", imports=list_imports(), problems=problems), status


@bp.route("/payments/statements/<int:import_id>")
@staff_required("finance")
def statement(import_id: int):
    return render("console/payment_statement.html", batch=get_import(import_id), errors={})


@bp.route("/payments/statements/lines/<int:line_id>/assign", methods=["POST"])
@staff_required("finance")
def assign_statement_line(line_id: int):
    """Give an unmatched credit to an account (paid to its oldest invoices)."""
    account_id = optional_int("account_id")
    try:
        line = assign_line(line_id, account_id or 0, created_by=current_user.email)
    except Invalid as exc:
        row = db.session.get(BankStatementLine, line_id)
        return render("console/payment_statement.html", batch=get_import(row.import_id),
                      errors={line_id: error_messages(exc).get("account_id", [])}), 422
    return navigate(url_for("console.statement", import_id=line.import_id))


@bp.route("/payments/gateways", methods=["GET", "POST"])
@staff_required("manage_realm")
def payment_gateways():
    errors, status, settings = {}, 200, payment_settings()
    values = {"retry_days": settings.retry_days, "receipt_prefix": settings.receipt_prefix,
              "auto_charge": settings.auto_charge}
    if request.method == "POST":
        values = {**request.form.to_dict(), "auto_charge": bool(request.form.get("auto_charge"))}
        try:
            update_payment_settings(retry_days=text("retry_days"), auto_charge=values["auto_charge"],
                                    receipt_prefix=text("receipt_prefix"))
            return navigate(url_for("console.payment_gateways", saved=1))
        except Invalid as exc:
            errors, status = error_messages(exc), 422
    return render("console/payment_gateways.html", gateways=gateway_overview(), values=values,
                  errors=errors, gateway_errors={}, failed=None, saved=request.args.get("saved")), status


@bp.route("/payments/gateways/<code>", methods=["POST"])
@staff_required("manage_realm")
def configure_payment_gateway(code: str):
    if code not in available_gateways():
        abort(404)
    fields = {f.name for f in available_gateways()[code].settings_fields}
    try:
        configure_gateway(code, enabled=bool(request.form.get("enabled")),
                          settings={k: v for k, v in request.form.items() if k in fields})
    except Invalid as exc:
        settings = payment_settings()
        values = {"retry_days": settings.retry_days, "receipt_prefix": settings.receipt_prefix,
                  "auto_charge": settings.auto_charge}
        return render("console/payment_gateways.html", gateways=gateway_overview(), values=values,
                      errors={}, gateway_errors=error_messages(exc), failed=code, saved=None), 422
    return navigate(url_for("console.payment_gateways", saved=1))


@bp.route("/payments/topups", methods=["GET", "POST"])
@staff_required("manage_realm")
def topup_products():
    errors, status, values = {}, 200, {"kind": "quota", "unit": "GB"}
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            save_product(code=text("code"), name=text("name"), kind=text("kind"), price=text("price"),
                         unit=optional_text("unit"), quantity=optional_text("quantity"),
                         active=bool(request.form.get("active")), product_id=optional_int("product_id"))
            return navigate(url_for("console.topup_products"))
        except Invalid as exc:
            errors, status = error_messages(exc), 422
    return render("console/payment_topups.html", products=list_products(), values=values,
                  errors=errors), status


@bp.route("/accounts/<int:account_id>/payments")
@staff_required("finance")
def account_payments(account_id: int):
    account = get_account(account_id)
    nothing = {g.realm.currency: Decimal(0)}
    return render("console/account_payments.html", account=account,
                  credit=credit_balance(account.id) or nothing, due=amount_due(account.id) or nothing, invoices=open_invoices(account.id),
                  payments=list_payments(account_id=account.id), methods=list_methods(account.id),
                  **_labels())
