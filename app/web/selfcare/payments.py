"""Self-care payments: pay an open invoice (card or stored method), receipts, top-ups, and
the Stripe webhook endpoint of the realm.

Every payment form carries a nonce made when the form was shown; the charge's idempotency
key is built from it, so a double click (or a resubmitted form) charges once. Card numbers
and CVCs only pass through to the gateway's tokeniser: they are never stored, logged or
shown back in a form.
"""

from __future__ import annotations

import secrets

from flask import Response, abort, g, jsonify, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.extensions import csrf
from app.gateways import CardDetails, SignatureError
from app.services.errors import Invalid, NotAllowed
from app.services.payments import credit_balance, get_payment, open_invoices, pay_invoice
from app.services.payments.core import get_invoice
from app.services.payments.gateways import online_gateway_code
from app.services.payments.ledger import invoice_balance
from app.services.payments.methods import list_methods, remove_method, set_default
from app.services.payments.queries import list_payments
from app.services.payments.receipts import receipt_pdf
from app.services.payments.webhooks import handle_webhook
from app.services.topups import buy_topup, get_product, list_orders, list_products

from ..access import subscriber_required
from ..console.payments import NOT_ALLOWED_TEXT, error_messages
from ..htmx import navigate
from ..rendering import render
from .routes import bp

DECLINE_TEXT = {
    "card_declined": _l("The card was declined. Try another card."),
    "insufficient_funds": _l("The card was declined (insufficient funds). Try another card."),
    "processing_error": _l("The payment could not be processed right now. Please try again later."),
}
REFUSED_TEXT = {
    "no_online_gateway": _l("Online payment is not available for this provider."),
    "nothing_due": _l("Nothing is due on this invoice."),
    "product_inactive": _l("This top-up is not offered any more."),
}


def _card_from_form() -> CardDetails | None:
    if request.form.get("method", "card") != "card":
        return None
    number = "".join((request.form.get("card_number") or "").split())
    expiry = (request.form.get("expiry") or "").strip()
    month, _, year = expiry.partition("/")
    errors: dict[str, list[str]] = {}
    if not (month.strip().isdigit() and year.strip().isdigit()):
        errors["expiry"] = ["invalid"]
        month, year = "0", "0"
    year_value = int(year)
    if year_value < 100:
        year_value += 2000
    if errors:
        raise Invalid(errors)
    return CardDetails(number=number, exp_month=int(month), exp_year=year_value,
                       cvc=(request.form.get("cvc") or "").strip())


def _stored_method_id() -> int | None:
    method = request.form.get("method", "card")
    return int(method) if method.isdigit() else None


def _safe_values() -> dict:
    """What a form may show back: never the card number or the CVC."""
    values = request.form.to_dict()
    for secret_field in ("card_number", "cvc"):
        values.pop(secret_field, None)
    return values


def _failure_message(payment) -> str:
    return str(DECLINE_TEXT.get(payment.failure_code or "", DECLINE_TEXT["card_declined"]))


@bp.route("/payments")
@subscriber_required
def payments():
    return render(
        "portal/payments.html", invoices=open_invoices(current_user.id),
        payments=list_payments(account_id=current_user.id), methods=list_methods(current_user.id),
        credit=credit_balance(current_user.id), products=list_products(active_only=True),
        orders=list_orders(current_user.id)[:10], paid=request.args.get("paid", type=int),
    )


def _pay_form(invoice, values, errors, status=200, message=None):
    return render("portal/pay_invoice.html", invoice=invoice, due=invoice_balance(invoice),
                  methods=list_methods(current_user.id), gateway=online_gateway_code(),
                  values={**values, "nonce": secrets.token_urlsafe(16)} if status != 200 or not values.get("nonce") else values,
                  errors=errors, message=message), status


def _fresh_values() -> dict:
    """A new payment form: a fresh double-submit nonce, the default stored method chosen."""
    methods = list_methods(current_user.id)
    default = next((str(m.id) for m in methods if m.is_default), "card")
    return {"nonce": secrets.token_urlsafe(16), "method": default}


def _submitted_nonce() -> str:
    """The form's nonce: it keys the charge, so a double click charges once."""
    nonce = (request.form.get("nonce") or "").strip()
    if len(nonce) < 16:
        abort(400)
    return nonce


def _refusal(exc: NotAllowed) -> str:
    return str(REFUSED_TEXT.get(exc.code) or NOT_ALLOWED_TEXT.get(exc.code, exc.code))


@bp.route("/payments/invoices/<int:invoice_id>/pay", methods=["GET", "POST"])
@subscriber_required
def pay(invoice_id: int):
    invoice = get_invoice(invoice_id)
    if invoice.account_id != current_user.id:
        abort(404)
    if request.method == "GET":
        return _pay_form(invoice, _fresh_values(), {})
    nonce = _submitted_nonce()
    try:
        payment = pay_invoice(current_user.id, invoice.id, key=f"selfcare:{current_user.id}:{nonce}",
                              card=_card_from_form(), method_id=_stored_method_id(),
                              save=bool(request.form.get("save")))
    except Invalid as exc:
        return _pay_form(invoice, _safe_values(), error_messages(exc), 422)
    except NotAllowed as exc:
        return _pay_form(invoice, _safe_values(), {}, 409, message=_refusal(exc))
    if payment.status == "failed":
        return _pay_form(invoice, _safe_values(), {}, 402, message=_failure_message(payment))
    return navigate(url_for("selfcare.payments", paid=payment.id))


@bp.route("/payments/methods/<int:method_id>", methods=["POST"])
@subscriber_required
def payment_method(method_id: int):
    """Make a stored method the default one, or remove it (``action`` = default | remove)."""
    if not any(m.id == method_id for m in list_methods(current_user.id)):
        abort(404)
    if request.form.get("action") == "remove":
        remove_method(current_user.id, method_id)
    else:
        set_default(method_id)
    return navigate(url_for("selfcare.payments"))


@bp.route("/payments/<int:payment_id>/receipt.pdf")
@subscriber_required
def receipt(payment_id: int):
    payment = get_payment(payment_id)
    if payment.account_id != current_user.id or not payment.receipt_number:
        abort(404)
    filename, pdf = receipt_pdf(payment.id)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _topup_form(product, values, errors, status=200, message=None):
    if status != 200 or not values.get("nonce"):
        values = {**values, "nonce": secrets.token_urlsafe(16)}
    return render("portal/topup.html", product=product, methods=list_methods(current_user.id),
                  gateway=online_gateway_code(), values=values, errors=errors, message=message), status


@bp.route("/topups/<int:product_id>", methods=["GET", "POST"])
@subscriber_required
def topup(product_id: int):
    product = get_product(product_id)
    if not product.active:
        abort(404)
    if request.method == "GET":
        return _topup_form(product, _fresh_values(), {})
    nonce = _submitted_nonce()
    try:
        order = buy_topup(current_user.id, product.id, key=f"selfcare-topup:{current_user.id}:{nonce}",
                          card=_card_from_form(), method_id=_stored_method_id(),
                          save=bool(request.form.get("save")))
    except Invalid as exc:
        return _topup_form(product, _safe_values(), error_messages(exc), 422)
    except NotAllowed as exc:
        return _topup_form(product, _safe_values(), {}, 409, message=_refusal(exc))
    if order.status == "failed":
        payment = get_payment(order.payment_id)
        return _topup_form(product, _safe_values(), {}, 402, message=_failure_message(payment))
    return navigate(url_for("selfcare.payments", topped_up=order.id))


@bp.route("/webhooks/stripe/<realm_slug>", methods=["POST"])
@csrf.exempt
def stripe_webhook(realm_slug: str):
    """Stripe's deliveries for this realm (the realm in the path must be the host's)."""
    if g.realm.slug != realm_slug:
        abort(404)
    try:
        result = handle_webhook("stripe", request.get_data(), dict(request.headers))
    except SignatureError:
        return jsonify(error="bad signature"), 400
    except NotAllowed:
        return jsonify(error="not configured"), 404
    return jsonify(result=result)
