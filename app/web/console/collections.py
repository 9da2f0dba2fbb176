"""Collections pages of the realm console: aging report (page and CSV), rules, dunning."""

from __future__ import annotations

from flask import Response, request, url_for
from flask_babel import lazy_gettext as _l

from app.services.collections import (
    BUCKETS,
    aging_csv,
    aging_report,
    dunning_history,
    get_policy,
    run_dunning,
    update_policy,
)
from app.services.errors import Invalid

from ..access import staff_required
from ..errors import ERROR_TEXT
from ..forms import text
from ..htmx import navigate
from ..rendering import render
from .routes import bp

BUCKET_LABELS = {"current": _l("Current"), "1-30": _l("1–30 days"), "31-60": _l("31–60 days"),
                 "61-90": _l("61–90 days"), "90+": _l("over 90 days")}
PENALTY_LABELS = {"none": _l("No penalty"), "fixed": _l("Fixed amount"), "percent": _l("Percentage of the open amount")}
COLLECTION_ERROR_TEXT = {"too_many_decimals": _l("Too many decimal places."),
                         "not_whole_days": _l("Enter a whole number of days.")}


def _policy_values() -> dict:
    policy = get_policy()
    return {
        "grace_days": str(policy.grace_days), "reminder_days": policy.reminder_days or "",
        "final_warning_days": "" if policy.final_warning_days is None else str(policy.final_warning_days),
        "penalty_kind": policy.penalty_kind, "penalty_amount": format(policy.penalty_amount.normalize(), "f"),
        "penalty_days": "" if policy.penalty_days is None else str(policy.penalty_days),
        "suspend_days": "" if policy.suspend_days is None else str(policy.suspend_days),
        "bill_suspended": "1" if policy.bill_suspended else "",
    }


def _page(values=None, errors=None, status=200, ran=None):
    return render("console/collections.html", report=aging_report(), buckets=BUCKETS,
                  bucket_labels=BUCKET_LABELS, penalty_labels=PENALTY_LABELS,
                  values=values or _policy_values(), errors=errors or {},
                  history=dunning_history(limit=50), saved=request.args.get("saved"),
                  ran=ran), status


@bp.route("/collections")
@staff_required("finance")
def collections():
    return _page()


@bp.route("/collections/aging.csv")
@staff_required("finance")
def aging_report_csv():
    response = Response(aging_csv(), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="aging.csv"'
    return response


@bp.route("/collections/policy", methods=["POST"])
@staff_required("manage_realm")
def collection_policy():
    try:
        update_policy(
            grace_days=text("grace_days"), reminder_days=text("reminder_days"),
            final_warning_days=text("final_warning_days"), penalty_kind=text("penalty_kind") or "none",
            penalty_amount=text("penalty_amount") or "0", penalty_days=text("penalty_days"),
            suspend_days=text("suspend_days"), bill_suspended=bool(request.form.get("bill_suspended")),
        )
    except Invalid as exc:
        errors = {f: [str(COLLECTION_ERROR_TEXT.get(c) or ERROR_TEXT.get(c, c)) for c in codes]
                  for f, codes in exc.errors.items()}
        return _page(request.form.to_dict(), errors, 422)
    return navigate(url_for("console.collections", saved=1))


@bp.route("/collections/run", methods=["POST"])
@staff_required("finance")
def collections_run():
    """Run the dunning rules now (the scheduler runs them daily; reruns change nothing)."""
    run_dunning()
    return navigate(url_for("console.collections"))
