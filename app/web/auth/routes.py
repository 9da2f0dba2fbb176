"""Sign-in and sign-out for subscribers (self-care) and staff (consoles)."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from app.extensions import limiter
from app.services.staff import authenticate_staff
from app.services.subscriber_auth import authenticate as authenticate_subscriber

from ..access import safe_next
from ..rendering import render

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _rate_key() -> str:
    # Per client address *and* realm host: one realm's attacker cannot lock out another's users.
    return f"{request.remote_addr}|{request.host}"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, key_func=_rate_key, methods=["POST"])
def login():
    error = None
    if request.method == "POST":
        account = authenticate_subscriber(request.form.get("username", ""), request.form.get("password", ""))
        if account is not None:
            login_user(account)
            return redirect(safe_next(request.args.get("next"), url_for("selfcare.home")), code=303)
        error = _("Wrong username or password.")
    return render("auth/login.html", error=error), (401 if error else 200)


@bp.route("/console/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, key_func=_rate_key, methods=["POST"])
def staff_login():
    error = None
    if request.method == "POST":
        staff = authenticate_staff(request.form.get("email", ""), request.form.get("password", ""))
        if staff is not None:
            login_user(staff)
            return redirect(safe_next(request.args.get("next"), url_for("console.home")), code=303)
        error = _("Wrong e-mail or password.")
    return render("auth/staff_login.html", error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    return redirect(url_for("auth.login"), code=303)
