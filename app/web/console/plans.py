"""Plan pages of the realm console: list, create/edit through one HTMX form."""

from __future__ import annotations

from flask import g, request, url_for

from app.rating.planfile import plan_to_mapping
from app.services.errors import Invalid
from app.services.plans import (
    PlanFileError,
    get_plan,
    list_plans,
    save_plan,
    spec_from_mapping,
    spec_of,
)
from app.services.realms import SUPPORTED_CURRENCIES

from ..access import staff_required
from ..errors import field_messages
from ..htmx import navigate
from ..rendering import render
from .routes import bp

PERIODS = ("monthly", "quarterly", "annual")
UNITS = ("MB", "GB", "hour", "minute", "second", "message")


def _rows(prefix: str, fields: tuple[str, ...]) -> list[dict[str, str]]:
    columns = [request.form.getlist(f"{prefix}_{name}") for name in fields]
    rows = []
    for values in zip(*columns, strict=False):
        row = dict(zip(fields, (v.strip() for v in values), strict=True))
        if any(row.values()):
            rows.append(row)
    return rows


def form_mapping() -> dict:
    """The submitted form in the shape of a plan file (DESIGN.md), for the plan checks."""
    fees = []
    if request.form.get("setup_fee", "").strip():
        fees.append({"kind": "setup", "amount": request.form["setup_fee"].strip()})
    if request.form.get("recurring_fee", "").strip():
        fees.append({"kind": "recurring", "period": request.form.get("period", "monthly"),
                     "amount": request.form["recurring_fee"].strip()})
    mapping = {
        "code": request.form.get("code", "").strip(),
        "name": request.form.get("name", "").strip(),
        "currency": request.form.get("currency", "").strip(),
        "fees": fees,
        "bands": _rows("band", ("unit", "max_usage", "price")),
    }
    quotas = _rows("quota", ("unit", "amount"))
    if quotas:
        mapping["quotas"] = quotas
    return mapping


def _values_of(plan) -> dict:
    """Form values of the plan's latest version, figures written as in its plan file."""
    data = plan_to_mapping(spec_of(plan.latest_version))
    values = {"code": data["code"], "name": data["name"], "currency": data["currency"],
              "bands": data["bands"], "quotas": data.get("quotas", [])}
    for fee in data["fees"]:
        if fee["kind"] == "setup":
            values["setup_fee"] = fee["amount"]
        elif fee["kind"] == "recurring":
            values["recurring_fee"], values["period"] = fee["amount"], fee["period"]
    return values


def plan_errors(exc: PlanFileError) -> dict[str, list[str]]:
    """Plan-file problems keyed by their path (``bands[2].price``), as the form shows them."""
    errors: dict[str, list[str]] = {}
    for problem in exc.problems:
        errors.setdefault(problem.path or "plan", []).append(problem.message)
    return errors


def _form(plan, values, errors, status=200):
    quote_units = []
    if plan is not None and plan.latest_version is not None:
        quote_units = list(dict.fromkeys(b.unit for b in plan.latest_version.bands))
    return render(
        "console/plan_form.html", fragment="console/_plan_form.html", plan=plan,
        values=values, errors=errors, periods=PERIODS, units=UNITS,
        currencies=SUPPORTED_CURRENCIES, quote_units=quote_units,
    ), status


def _save(plan):
    mapping = form_mapping()
    if plan is not None:
        mapping["code"] = plan.code
    try:
        save_plan(spec_from_mapping(mapping, source="form"))
    except PlanFileError as exc:
        return _form(plan, {**request.form.to_dict(), **mapping}, plan_errors(exc), 422)
    except Invalid as exc:
        return _form(plan, {**request.form.to_dict(), **mapping}, field_messages(exc), 422)
    return navigate(url_for("console.plans"))


@bp.route("/plans")
@staff_required()
def plans():
    return render("console/plans.html", plans=list_plans())


@bp.route("/plans/new", methods=["GET", "POST"])
@staff_required("manage_plans")
def new_plan():
    if request.method == "POST":
        return _save(None)
    values = {"currency": g.realm.currency, "period": "monthly",
              "bands": [{"unit": "MB", "max_usage": "0", "price": ""}], "quotas": []}
    return _form(None, values, {})


@bp.route("/plans/<int:plan_id>", methods=["GET", "POST"])
@staff_required("manage_plans")
def edit_plan(plan_id: int):
    plan = get_plan(plan_id)
    if request.method == "POST":
        return _save(plan)
    return _form(plan, _values_of(plan), {})


@bp.route("/plans/band-row")
@staff_required("manage_plans")
def band_row():
    """One empty band row, appended by the form's "Add band" button."""
    return render("console/_plan_band_row.html", band={"unit": "MB", "max_usage": "", "price": ""},
                  index=None, errors={}, units=UNITS)


@bp.route("/plans/<int:plan_id>/quote", methods=["POST"])
@staff_required()
def plan_quote(plan_id: int):
    """The plan calculator: a quote fragment for the usage typed into the form."""
    from app.rating.quote import UsageArgumentError, parse_usage_args
    from app.rating.units import UnitError
    from app.services.quotes import quote_stored_plan

    plan = get_plan(plan_id)
    pairs = [f"{unit}={amount.strip()}" for unit, amount in
             zip(request.form.getlist("unit"), request.form.getlist("amount"), strict=False) if amount.strip()]
    try:
        result = quote_stored_plan(plan.code, usage=parse_usage_args(pairs),
                                   with_setup=bool(request.form.get("with_setup")))
    except (UsageArgumentError, UnitError) as exc:
        return render("console/_plan_quote.html", error=str(exc), result=None), 422
    return render("console/_plan_quote.html", error=None, result=result.to_dict())
