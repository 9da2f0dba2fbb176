"""Provider console: wholesale totals of the VISP realms per period, with drill-down."""

from __future__ import annotations

import re

from flask import abort, request, url_for
from flask_babel import lazy_gettext as _l

from app.services.billing.wholesale import (
    bill_wholesale,
    child_figures,
    get_statement,
    preview_wholesale,
    previous_month,
    set_wholesale_plan,
    wholesale_overview,
)
from app.services.errors import Invalid, NotAllowed, NotFound
from app.services.plans import list_plans

from ..access import provider_required
from ..htmx import navigate
from ..rendering import render
from .routes import bp

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
REASONS = {
    "no_wholesale_plan": _l("Choose a wholesale plan for this realm first."),
    "no_owner_account": _l("This realm has no owner account in the parent realm."),
    "period_open": _l("The month has not ended yet."),
    "revenue_currency_mismatch": _l("A revenue share needs the realm and the plan in the same currency."),
}


def _period(value: str | None) -> str:
    value = (value or "").strip() or previous_month()
    if not PERIOD.match(value):
        abort(404)
    return value


def _estimate(row, period):
    if row.statement is not None or row.agreement is None or not row.agreement.active:
        return None
    try:
        return preview_wholesale(row.child.id, period)
    except (NotAllowed, NotFound):
        return None


def _overview(period: str, message: str | None = None, status: int = 200):
    rows = wholesale_overview(period)
    estimates = {row.child.id: _estimate(row, period) for row in rows}
    return render("provider/wholesale.html", period=period, rows=rows, estimates=estimates,
                  plans=list_plans(), message=message), status


@bp.route("/wholesale")
@provider_required
def wholesale():
    return _overview(_period(request.args.get("period")))


@bp.route("/wholesale/<int:child_id>/plan", methods=["POST"])
@provider_required
def wholesale_plan(child_id: int):
    period = _period(request.form.get("period"))
    plan_id = request.form.get("plan_id", "")
    try:
        if not plan_id.isdigit():
            raise Invalid({"plan_id": ["required"]})
        set_wholesale_plan(child_id, plan_id=int(plan_id))
    except Invalid:
        return _overview(period, str(_l("Choose a plan.")), 422)
    return navigate(url_for("provider.wholesale", period=period))


@bp.route("/wholesale/<int:child_id>/bill", methods=["POST"])
@provider_required
def wholesale_bill(child_id: int):
    period = _period(request.form.get("period"))
    try:
        bill_wholesale(child_id, period)
    except NotAllowed as exc:
        return _overview(period, str(REASONS.get(exc.code, exc.code)), 409)
    return navigate(url_for("provider.wholesale", period=period))


@bp.route("/wholesale/<int:child_id>/<period>")
@provider_required
def wholesale_realm(child_id: int, period: str):
    """Drill-down: the realm's accounts in the period (as billed, or an estimate)."""
    period = _period(period)
    statement = get_statement(child_id, period)  # NotFound (404) for a realm not below ours
    row = next(r for r in wholesale_overview(period) if r.child.id == child_id)
    estimate = _estimate(row, period)
    figures = None if statement is not None else (
        estimate.figures if estimate is not None else child_figures(child_id, period))
    return render("provider/wholesale_realm.html", period=period, child=row.child,
                  statement=statement, estimate=estimate, figures=figures)
