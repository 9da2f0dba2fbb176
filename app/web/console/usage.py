"""Usage pages of the realm console: rejected records, and processing them again."""

from __future__ import annotations

from flask import request, url_for

from app.services.errors import Invalid
from app.services.usage.rejects import list_rejects, reprocess_rejects

from ..access import staff_required
from ..htmx import navigate
from ..rendering import render
from .routes import bp


@bp.route("/usage/rejects")
@staff_required()
def usage_rejects():
    code = request.args.get("code") or None
    return render("console/usage_rejects.html", rejects=list_rejects(code=code), code=code,
                  done=request.args.get("done"), failed=request.args.get("failed"))


@bp.route("/usage/rejects/reprocess", methods=["POST"])
@staff_required("manage_accounts")
def reprocess_usage_rejects():
    ids = [int(v) for v in request.form.getlist("reject_id") if v.isdigit()]
    corrections = {rid: request.form[f"raw_{rid}"] for rid in ids if request.form.get(f"raw_{rid}")}
    try:
        result = reprocess_rejects(ids, corrections=corrections)
    except Invalid:
        result = None
    if result is None:
        return navigate(url_for("console.usage_rejects", failed=len(ids)))
    return navigate(url_for("console.usage_rejects", done=result.reprocessed, failed=result.still_rejected))
