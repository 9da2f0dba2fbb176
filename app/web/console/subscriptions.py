"""Subscriptions of an account (subscribe, change plan with a proration preview, cancel),
its pending charges, and moving grandfathered subscribers to a plan's newer version."""

from __future__ import annotations

from datetime import date

from flask import abort, request, url_for
from flask_babel import lazy_gettext as _l

from app.services.accounts import get_account
from app.services.billing.charges import add_charge, cancel_charge, pending_charges
from app.services.billing.taxes import buyer_tax_profile, set_buyer_tax_profile
from app.services.errors import Invalid
from app.services.plan_migration import migrate_subscribers, preview_migration
from app.services.plans import get_plan, list_plans
from app.services.subscriptions import (
    cancel,
    change_plan,
    get_subscription,
    preview_plan_change,
    subscribe,
    subscriptions_of,
)

from ..access import staff_required
from ..errors import ERROR_TEXT
from ..forms import optional_int, text
from ..htmx import navigate
from ..rendering import render
from .routes import bp

# Human text for the codes of billing-terms services (the shared ones are in app/web/errors.py).
TERMS_ERROR_TEXT = {
    "already_subscribed": _l("The account has a current subscription: change its plan instead."),
    "before_start": _l("Must be after the start."),
    "currency_mismatch": _l("The plan is billed in another currency."),
    "exceeds_invoice": _l("More than is left to credit on this invoice."),
    "inactive": _l("This plan is not offered any more."),
    "must_be_positive": _l("Must be more than zero."),
    "must_not_be_zero": _l("Must not be zero."),
    "no_version": _l("This plan has no version yet."),
    "not_migratable": _l("Only subscribers on an older version can be moved."),
    "outside_subscription": _l("The day is outside the subscription."),
    "overlaps": _l("Overlaps another tax rate."),
    "same_plan": _l("The subscription is on this plan already."),
    "too_many_decimals": _l("Too many decimal places."),
}


def field_messages(error: Invalid) -> dict[str, list[str]]:
    return {field: [str(TERMS_ERROR_TEXT.get(code) or ERROR_TEXT.get(code, code)) for code in codes]
            for field, codes in error.errors.items()}


def form_date(name: str, source=None) -> date | None:
    """A ``YYYY-MM-DD`` field; Invalid when present but not a date."""
    value = ((source or request.form).get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid({name: ["invalid"]}) from None


def _page(account, *, errors=None, values=None, status=200):
    plans = [p for p in list_plans() if p.active]
    return render("console/subscriptions.html", account=account, subscriptions=subscriptions_of(account.id),
                  plans=plans, plan_options=[("", "—")] + [(p.id, f"{p.name} ({p.code})") for p in plans],
                  charges=pending_charges(account.id), tax_profile=buyer_tax_profile(account.id),
                  errors=errors or {}, values=values or {}), status


@bp.route("/accounts/<int:account_id>/subscriptions")
@staff_required()
def account_subscriptions(account_id: int):
    return _page(get_account(account_id))


@bp.route("/accounts/<int:account_id>/subscriptions", methods=["POST"])
@staff_required("manage_accounts")
def subscribe_account(account_id: int):
    account = get_account(account_id)
    try:
        plan_id = optional_int("plan_id")
        if plan_id is None:
            raise Invalid({"plan_id": ["required"]})
        subscribe(account.id, plan_id=plan_id, starts_on=form_date("starts_on"), ends_on=form_date("ends_on"),
                  kind=text("kind") or "recurring", anchor_day=optional_int("anchor_day"))
    except Invalid as exc:
        return _page(account, errors=field_messages(exc), values=request.form.to_dict(), status=422)
    return navigate(url_for("console.account_subscriptions", account_id=account.id))


@bp.route("/subscriptions/<int:subscription_id>/change-preview")
@staff_required()
def plan_change_preview(subscription_id: int):
    """HTMX: the proration a plan change would book (writes nothing)."""
    subscription = get_subscription(subscription_id)
    plan_id = request.args.get("plan_id", type=int)
    quote, errors = None, {}
    if plan_id:
        try:
            quote = preview_plan_change(subscription.id, plan_id=plan_id, on=form_date("on", request.args))
        except Invalid as exc:
            errors = field_messages(exc)
    return render("console/_plan_change_preview.html", quote=quote, errors=errors)


@bp.route("/subscriptions/<int:subscription_id>/change", methods=["POST"])
@staff_required("manage_accounts")
def change_subscription_plan(subscription_id: int):
    subscription = get_subscription(subscription_id)
    try:
        plan_id = optional_int("plan_id")
        if plan_id is None:
            raise Invalid({"plan_id": ["required"]})
        change_plan(subscription.id, plan_id=plan_id, on=form_date("on"))
    except Invalid as exc:
        return _page(get_account(subscription.account_id), errors=field_messages(exc),
                     values=request.form.to_dict(), status=422)
    return navigate(url_for("console.account_subscriptions", account_id=subscription.account_id))


@bp.route("/subscriptions/<int:subscription_id>/cancel", methods=["POST"])
@staff_required("manage_accounts")
def cancel_subscription(subscription_id: int):
    subscription = get_subscription(subscription_id)
    try:
        cancel(subscription.id, on=form_date("on"))
    except Invalid as exc:
        return _page(get_account(subscription.account_id), errors=field_messages(exc),
                     values=request.form.to_dict(), status=422)
    return navigate(url_for("console.account_subscriptions", account_id=subscription.account_id))


@bp.route("/accounts/<int:account_id>/charges", methods=["POST"])
@staff_required("finance")
def add_account_charge(account_id: int):
    account = get_account(account_id)
    try:
        add_charge(account.id, description=text("description"), amount=text("amount"),
                   kind=text("kind") or "one_time", charge_on=form_date("charge_on"))
    except Invalid as exc:
        return _page(account, errors=field_messages(exc), values=request.form.to_dict(), status=422)
    return navigate(url_for("console.account_subscriptions", account_id=account.id))


@bp.route("/accounts/<int:account_id>/tax-profile", methods=["POST"])
@staff_required("finance")
def save_buyer_tax_profile(account_id: int):
    """The buyer's country and reverse-charge flag (its tax id is on the account)."""
    account = get_account(account_id)
    try:
        set_buyer_tax_profile(account.id, country=text("country") or None,
                              reverse_charge=bool(request.form.get("reverse_charge")))
    except Invalid as exc:
        return _page(account, errors=field_messages(exc), values=request.form.to_dict(), status=422)
    return navigate(url_for("console.account_subscriptions", account_id=account.id))


@bp.route("/accounts/<int:account_id>/charges/<int:charge_id>/cancel", methods=["POST"])
@staff_required("finance")
def cancel_account_charge(account_id: int, charge_id: int):
    account = get_account(account_id)
    if charge_id not in {c.id for c in pending_charges(account.id)}:
        abort(404)
    cancel_charge(charge_id)
    return navigate(url_for("console.account_subscriptions", account_id=account.id))


# ------------------------------------------------------------------ plan versions
@bp.route("/plans/<int:plan_id>/migrate", methods=["GET", "POST"])
@staff_required("manage_plans")
def plan_migration(plan_id: int):
    """Preview, per account, old vs new monthly amount; then move them (POST)."""
    plan = get_plan(plan_id)
    source = request.form if request.method == "POST" else request.args
    errors = {}
    try:
        on = form_date("on", source)
        to_version_id = int(source["to_version_id"]) if source.get("to_version_id", "").isdigit() else None
        preview = preview_migration(plan.id, to_version_id=to_version_id, on=on)
    except Invalid as exc:
        errors, preview = field_messages(exc), preview_migration(plan.id)
    if request.method == "POST" and not errors:
        chosen = [int(v) for v in request.form.getlist("subscription_id") if v.isdigit()]
        try:
            migrate_subscribers(plan.id, to_version_id=preview.to_version_id, on=preview.on,
                                subscription_ids=chosen)
        except Invalid as exc:
            errors = field_messages(exc)
        else:
            return navigate(url_for("console.plan_migration", plan_id=plan.id, on=preview.on.isoformat(),
                                    to_version_id=preview.to_version_id))
    return render("console/plan_migration.html", plan=plan, preview=preview, errors=errors), (422 if errors else 200)
