"""Self-care portal for subscribers."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from ..access import subscriber_required
from ..rendering import render

bp = Blueprint("selfcare", __name__)


@bp.route("/")
@subscriber_required
def home():
    return render("portal/home.html", account=current_user, subscriptions=current_user.subscriptions)


@bp.route("/usage")
@subscriber_required
def usage():
    from app.services.usage.summary import usage_summary

    summary = usage_summary(current_user)
    peak = max((max(mb, hours) for _, mb, hours in summary.daily), default=0) or 1
    return render("portal/usage.html", summary=summary, peak=peak)


from . import vouchers as _vouchers  # noqa: E402,F401 - registers the voucher redemption page on bp
