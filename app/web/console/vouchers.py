"""Voucher pages of the realm console: batches, one-time export, batch operations."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from flask import Response, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.services.errors import Invalid, NotAllowed
from app.services.vouchers import (
    BATCH_ACTIONS,
    apply_batch_operation,
    batch_report,
    export_batch,
    generate_batch,
    get_batch,
    list_batches,
    list_vouchers,
    preview_batch_operation,
)

from ..access import staff_required
from ..errors import ERROR_TEXT
from ..forms import optional_text, text
from ..htmx import add_vary, navigate
from ..rendering import render
from .routes import bp

VOUCHER_ERROR_TEXT = {
    "in_the_past": _l("The date must be in the future."),
    "too_many_decimals": _l("Too many decimal places."),
    "before_start": _l("The last serial comes before the first."),
    "already_exported": _l("The PINs of this batch were already exported; they cannot be shown again."),
    "invalid_date": _l("Enter a date like 2027-12-31."),
}


KIND_LABELS = {"money": _l("Money"), "quota": _l("Quota"), "product": _l("Product")}
VOUCHER_STATUS_LABELS = {"inactive": _l("not activated"), "active": _l("active"),
                         "redeemed": _l("redeemed"), "void": _l("void")}
ACTION_LABELS = {"activate": _l("Activate"), "void": _l("Void"), "extend": _l("Extend expiry"),
                 "product": _l("Change product")}
LABELS = {"kinds": KIND_LABELS, "statuses": VOUCHER_STATUS_LABELS, "actions": ACTION_LABELS}


def _messages(error: Invalid) -> dict[str, list[str]]:
    return {field: [str(VOUCHER_ERROR_TEXT.get(c) or ERROR_TEXT.get(c, c)) for c in codes]
            for field, codes in error.errors.items()}


def _end_of_day(field: str) -> datetime | None:
    """A date field as the end of that day (UTC); Invalid when it is not a date."""
    raw = text(field)
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError as exc:
        raise Invalid({field: ["invalid_date"]}) from exc
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def _count() -> int:
    raw = text("count")
    return int(raw) if raw.isdigit() else 0


def _reports() -> dict[int, dict]:
    return {row["batch_id"]: row for row in batch_report()}


def _list_page(values=None, errors=None, status=200):
    values = values or {"kind": "money", "prefix": "V", "count": "100"}
    return render("console/vouchers.html", batches=list_batches(), reports=_reports(),
                  values=values, errors=errors or {}, labels=LABELS), status


@bp.route("/vouchers", methods=["GET", "POST"])
@staff_required("finance")
def vouchers():
    if request.method == "GET":
        return _list_page()
    try:
        generated = generate_batch(
            name=text("name"), count=_count(), kind=text("kind"), prefix=text("prefix"),
            amount=optional_text("amount"), unit=optional_text("unit"),
            product_code=optional_text("product_code"), product_name=optional_text("product_name"),
            expires_at=_end_of_day("expires_at"), activate=bool(request.form.get("activate")),
            created_by=current_user.email,
        )
    except Invalid as exc:
        return _list_page(request.form.to_dict(), _messages(exc), 422)
    return navigate(url_for("console.voucher_batch", batch_id=generated.batch.id, new=1))


def _batch_page(batch_id: int, *, values=None, errors=None, status=200, export_error=None):
    batch = get_batch(batch_id)
    report = next(iter(batch_report(batch_id)), None)
    return render("console/voucher_batch.html", batch=batch, report=report,
                  vouchers=list_vouchers(batch_id), actions=BATCH_ACTIONS,
                  values=values or {"action": "activate"}, errors=errors or {},
                  export_error=export_error, new=request.args.get("new"), labels=LABELS), status


@bp.route("/vouchers/<int:batch_id>")
@staff_required("finance")
def voucher_batch(batch_id: int):
    return _batch_page(batch_id)


@bp.route("/vouchers/<int:batch_id>/export", methods=["POST"])
@staff_required("finance")
def voucher_export(batch_id: int):
    """The cards with their PINs, once (CSV or PDF sheet); afterwards refused."""
    try:
        filename, data, mimetype = export_batch(batch_id, fmt=text("format") or "csv")
    except NotAllowed as exc:
        return _batch_page(batch_id, export_error=str(VOUCHER_ERROR_TEXT.get(exc.code, exc.code)), status=409)
    except Invalid as exc:
        return _batch_page(batch_id, export_error="; ".join(sum(_messages(exc).values(), [])), status=422)
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _selection(batch_id: int) -> dict:
    whole = request.form.get("scope", "batch") == "batch"
    return {
        "batch_id": batch_id,
        "serial_from": None if whole else optional_text("serial_from"),
        "serial_to": None if whole else optional_text("serial_to"),
    }


@bp.route("/vouchers/<int:batch_id>/operations/preview", methods=["POST"])
@staff_required("finance")
def voucher_operation_preview(batch_id: int):
    """HTMX fragment: how many vouchers the chosen operation would change."""
    try:
        preview = preview_batch_operation(action=text("action"), **_selection(batch_id))
        error = None
    except Invalid as exc:
        preview, error = None, "; ".join(sum(_messages(exc).values(), []))
    return add_vary(Response(render("console/_voucher_preview.html", preview=preview, error=error)))


@bp.route("/vouchers/<int:batch_id>/operations", methods=["POST"])
@staff_required("finance")
def voucher_operation(batch_id: int):
    get_batch(batch_id)
    try:
        apply_batch_operation(
            action=text("action"), expires_at=_end_of_day("expires_at"),
            product_code=optional_text("product_code"), product_name=optional_text("product_name"),
            **_selection(batch_id),
        )
    except Invalid as exc:
        return _batch_page(batch_id, values=request.form.to_dict(), errors=_messages(exc), status=422)
    return navigate(url_for("console.voucher_batch", batch_id=batch_id))
