"""Self-care: redeem a scratch-card voucher."""

from __future__ import annotations

from flask import request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.services.errors import NotAllowed
from app.services.vouchers import list_grants, redeem_voucher, redeemed_by

from ..access import subscriber_required
from ..htmx import navigate
from ..rendering import render
from .routes import bp

REFUSAL_TEXT = {
    "invalid": _l("This PIN is not valid. Check the digits on your card."),
    "already_redeemed": _l("This voucher has already been redeemed."),
    "voided": _l("This voucher has been cancelled and cannot be redeemed."),
    "not_active": _l("This voucher is not activated yet. Ask the seller to activate it."),
    "expired": _l("This voucher has expired."),
    "rate_limited": _l("Too many attempts. Please wait a few minutes and try again."),
}


def _page(error=None, status=200):
    history = redeemed_by(current_user.id)
    done = request.args.get("redeemed", type=int)
    just = next((v for v in history if v.id == done), None)
    return render("portal/vouchers.html", error=error, history=history, just=just,
                  grants=list_grants(current_user.id)), status


@bp.route("/vouchers", methods=["GET", "POST"])
@subscriber_required
def vouchers():
    if request.method == "GET":
        return _page()
    try:
        result = redeem_voucher(account_id=current_user.id, pin=request.form.get("pin", ""),
                                ip=request.remote_addr)
    except NotAllowed as exc:
        status = 429 if exc.code == "rate_limited" else 422
        return _page(str(REFUSAL_TEXT.get(exc.code, REFUSAL_TEXT["invalid"])), status)
    return navigate(url_for("selfcare.vouchers", redeemed=result.voucher_id))
