"""Quota enforcement pages of the realm console: enforcements with their state and
attempts, the closed-loop check on demand, and each plan's quota policy."""

from __future__ import annotations

from flask import request, url_for
from flask_babel import lazy_gettext as _l

from app.models.enforcement import ENFORCEMENT_STATES
from app.services.enforcement import check_enforcements, list_enforcements, set_plan_enforcement
from app.services.errors import Invalid
from app.services.plans import get_plan, list_plans

from ..access import staff_required
from ..errors import field_messages
from ..htmx import navigate
from ..rendering import render
from .routes import bp

STATE_LABELS = {
    "pending": _l("pending"), "sent": _l("sent"), "confirmed": _l("confirmed"),
    "retrying": _l("retrying"), "disconnected": _l("disconnected"), "failed": _l("failed"),
    "lifted": _l("lifted"),
}
POLICY_LABELS = {
    "overage": _l("Allow with overage (rated by the bands)"),
    "shape": _l("Shape to a lower rate (RADIUS CoA)"),
    "suspend": _l("Suspend the account"),
}
ACTION_LABELS = {"coa": _l("CoA"), "disconnect": _l("Disconnect"), "restore": _l("Restore")}


@bp.route("/enforcements")
@staff_required()
def enforcements():
    state = request.args.get("state") or None
    if state not in ENFORCEMENT_STATES:
        state = None
    return render("console/enforcements.html", enforcements=list_enforcements(state=state), state=state,
                  states=ENFORCEMENT_STATES, state_labels=STATE_LABELS, policy_labels=POLICY_LABELS,
                  action_labels=ACTION_LABELS, plans=list_plans(), checked=request.args.get("checked"))


@bp.route("/enforcements/check", methods=["POST"])
@staff_required("manage_accounts")
def enforcements_check():
    """Run the closed-loop check now (the scheduler runs it every minute)."""
    counts = check_enforcements()
    return navigate(url_for("console.enforcements", checked=sum(counts.values())))


def _values(plan) -> dict:
    return {"quota_policy": plan.quota_policy, "quota_thresholds": plan.quota_thresholds or "",
            "quota_cascade": plan.quota_cascade or "", "rate_limit": plan.rate_limit or "",
            "shaped_rate_limit": plan.shaped_rate_limit or ""}


@bp.route("/enforcements/plans/<int:plan_id>", methods=["GET", "POST"])
@staff_required("manage_plans")
def enforcement_plan(plan_id: int):
    plan = get_plan(plan_id)
    if request.method == "POST":
        form = {k: (request.form.get(k) or "").strip() for k in _values(plan)}
        try:
            set_plan_enforcement(plan.id, policy=form["quota_policy"], thresholds=form["quota_thresholds"],
                                 cascade=form["quota_cascade"], rate_limit=form["rate_limit"],
                                 shaped_rate_limit=form["shaped_rate_limit"])
        except Invalid as exc:
            return render("console/enforcement_plan.html", plan=plan, values=form, errors=field_messages(exc),
                          policy_labels=POLICY_LABELS), 422
        return navigate(url_for("console.enforcements"))
    return render("console/enforcement_plan.html", plan=plan, values=_values(plan), errors={},
                  policy_labels=POLICY_LABELS)
