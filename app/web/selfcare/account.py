"""Self-care: change password (current one required, strength rule, rate limited) and
change plan with an HTMX proration preview before confirming."""

from __future__ import annotations

from flask import current_app, g, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.extensions import limiter
from app.services.errors import Invalid, NotAllowed
from app.services.selfcare import (
    MIN_PASSWORD_LENGTH,
    change_own_password,
    change_own_plan,
    current_subscription,
    offered_plans,
    preview_own_plan_change,
)

from ..access import subscriber_required
from ..errors import ERROR_TEXT
from ..forms import optional_int
from ..htmx import add_vary, navigate
from ..rendering import render
from .routes import bp

PORTAL_TEXT = {
    "wrong_password": _l("Your current password is not correct."),
    "too_short": _l("Too short (at least %(count)s characters).", count=MIN_PASSWORD_LENGTH),
    "too_weak": _l("Use letters and at least one digit or symbol."),
    "contains_username": _l("The password must not contain your user name."),
    "same_as_current": _l("Choose a password different from your current one."),
    "mismatch": _l("The two new passwords do not match."),
    "not_offered": _l("This plan cannot be chosen here."),
    "no_subscription": _l("You have no current plan to change."),
    "same_plan": _l("You are on this plan already."),
    "currency_mismatch": _l("This plan is billed in another currency."),
    "no_version": _l("This plan has no price yet."),
    "outside_subscription": _l("Your current plan cannot be changed today."),
    "subscription_over": _l("Your current plan has ended."),
    "rate_limited": _l("Too many attempts. Please wait a few minutes and try again."),
}


def messages(exc: Invalid) -> dict[str, list[str]]:
    return {name: [str(PORTAL_TEXT.get(code) or ERROR_TEXT.get(code, code)) for code in codes]
            for name, codes in exc.errors.items()}


# ------------------------------------------------------------------ password
def _password_limit() -> str:
    return current_app.config.get("SELFCARE_PASSWORD_RATE_LIMIT", "5 per 15 minutes")


def _password_key() -> str:
    return f"selfcare-password|{request.host}|{current_user.get_id()}"


def _guessed_wrong(response) -> bool:
    """Only wrong current passwords count against the limit (a weak new one is no guess)."""
    return bool(g.get("password_guessed_wrong"))


def _password_page(errors=None, status=200):
    return render("portal/password.html", errors=errors or {}, changed=request.args.get("changed") == "1",
                  min_length=MIN_PASSWORD_LENGTH), status


@bp.route("/password")
@subscriber_required
def password():
    return _password_page()


@bp.route("/password", methods=["POST"])
@subscriber_required
@limiter.limit(_password_limit, key_func=_password_key, deduct_when=_guessed_wrong)
def change_password():
    try:
        change_own_password(current_user.id, current=request.form.get("current_password", ""),
                            new=request.form.get("new_password", ""),
                            confirm=request.form.get("confirm_password", ""))
    except Invalid as exc:
        g.password_guessed_wrong = "wrong_password" in exc.errors.get("current_password", ())
        return _password_page(messages(exc), 422)
    return navigate(url_for("selfcare.password", changed=1))


@bp.errorhandler(429)
def _too_many(exc):
    if request.endpoint == "selfcare.change_password":
        return _password_page({"current_password": [str(PORTAL_TEXT["rate_limited"])]}, 429)
    return render("error.html", status=429, title=exc.name, message=None), 429


# ------------------------------------------------------------------ plan
def _preview(plan_id: int | None):
    """(quote, errors) for moving to ``plan_id``; nothing for no choice."""
    if not plan_id:
        return None, {}
    try:
        return preview_own_plan_change(current_user.id, plan_id=plan_id), {}
    except Invalid as exc:
        return None, messages(exc)
    except NotAllowed as exc:
        return None, {"plan_id": [str(PORTAL_TEXT.get(exc.code, exc.code))]}


def _plan_page(*, plan_id=None, errors=None, status=200):
    subscription = current_subscription(current_user.id)
    quote, preview_errors = _preview(plan_id) if errors is None else (None, errors)
    return render("portal/plan.html", subscription=subscription, plans=offered_plans(subscription),
                  chosen=plan_id, quote=quote, errors=preview_errors,
                  changed=request.args.get("changed") == "1"), status


@bp.route("/plan")
@subscriber_required
def plan():
    return add_vary(current_app.make_response(_plan_page(plan_id=request.args.get("plan_id", type=int))))


@bp.route("/plan/preview")
@subscriber_required
def plan_preview():
    """HTMX: the proration the chosen plan would book (writes nothing)."""
    quote, errors = _preview(request.args.get("plan_id", type=int))
    return add_vary(current_app.make_response(render("portal/_plan_preview.html", quote=quote, errors=errors)))


@bp.route("/plan", methods=["POST"])
@subscriber_required
def change_plan():
    """Without ``confirm`` (no JavaScript): show the proration first; with it: switch."""
    plan_id = optional_int("plan_id")
    if request.form.get("confirm") != "1":
        return _plan_page(plan_id=plan_id)
    try:
        change_own_plan(current_user.id, plan_id=plan_id)
    except Invalid as exc:
        return _plan_page(plan_id=plan_id, errors=messages(exc), status=422)
    except NotAllowed as exc:
        return _plan_page(plan_id=plan_id, errors={"plan_id": [str(PORTAL_TEXT.get(exc.code, exc.code))]},
                          status=422)
    return navigate(url_for("selfcare.plan", changed=1))
