"""Taxes and discounts of the realm: settings, rates with validity dates, discounts."""

from __future__ import annotations

from flask import request, url_for

from app.services.billing.taxes import (
    LINE_KINDS,
    add_discount,
    add_tax_rate,
    deactivate_discount,
    get_tax_settings,
    list_discounts,
    list_tax_rates,
    update_tax_settings,
)
from app.services.billing.terms import ROUNDING_MODES
from app.services.errors import Invalid
from app.services.plans import list_plans

from ..access import staff_required
from ..forms import optional_int, optional_text, text
from ..htmx import navigate
from ..rendering import render
from .routes import bp
from .subscriptions import field_messages, form_date


def _page(*, errors=None, values=None, form=None, status=200):
    settings = get_tax_settings()
    defaults = {"country": settings.country or "", "prices_include_tax": settings.prices_include_tax,
                "tax_rounding": settings.tax_rounding, "rounding_mode": settings.rounding_mode,
                "reverse_charge_note": settings.reverse_charge_note or ""}
    return render("console/taxes.html", settings=defaults, rates=list_tax_rates(), discounts=list_discounts(),
                  rounding_modes=ROUNDING_MODES, kind_options=[(k, k.replace("_", " ")) for k in LINE_KINDS],
                  plan_options=[("", "—")] + [(p.id, p.name) for p in list_plans()],
                  errors=errors or {}, values=values or {}, form=form), status


@bp.route("/taxes")
@staff_required("finance")
def taxes():
    return _page()


@bp.route("/taxes/settings", methods=["POST"])
@staff_required("finance")
def save_tax_settings():
    try:
        update_tax_settings(country=optional_text("country"), prices_include_tax=bool(request.form.get("prices_include_tax")),
                            tax_rounding=text("tax_rounding") or "invoice",
                            rounding_mode=text("rounding_mode") or "ROUND_HALF_UP",
                            reverse_charge_note=optional_text("reverse_charge_note"))
    except Invalid as exc:
        return _page(errors=field_messages(exc), values=request.form.to_dict(), form="settings", status=422)
    return navigate(url_for("console.taxes"))


@bp.route("/taxes/rates", methods=["POST"])
@staff_required("finance")
def new_tax_rate():
    try:
        add_tax_rate(name=text("name"), rate=text("rate"), valid_from=form_date("valid_from"),
                     valid_until=form_date("valid_until"))
    except Invalid as exc:
        return _page(errors=field_messages(exc), values=request.form.to_dict(), form="rate", status=422)
    return navigate(url_for("console.taxes"))


@bp.route("/discounts", methods=["POST"])
@staff_required("finance")
def new_discount():
    try:
        add_discount(name=text("name"), kind=text("kind"), value=text("value"), scope=text("scope") or "invoice",
                     line_kind=optional_text("line_kind"), valid_from=form_date("valid_from"),
                     valid_until=form_date("valid_until"), account_id=optional_int("account_id"),
                     plan_id=optional_int("plan_id"))
    except Invalid as exc:
        return _page(errors=field_messages(exc), values=request.form.to_dict(), form="discount", status=422)
    return navigate(url_for("console.taxes"))


@bp.route("/discounts/<int:discount_id>/end", methods=["POST"])
@staff_required("finance")
def end_discount(discount_id: int):
    deactivate_discount(discount_id)
    return navigate(url_for("console.taxes"))
