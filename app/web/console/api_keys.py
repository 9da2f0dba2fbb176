"""API keys of the realm: create (the key is shown once), list with last use, revoke."""

from __future__ import annotations

from flask import make_response, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.models.api import API_SCOPES
from app.services.api.keys import create_api_key, list_api_keys, revoke_api_key
from app.services.errors import Invalid

from ..access import staff_required
from ..errors import field_messages
from ..htmx import navigate
from ..rendering import render
from .routes import bp

SCOPE_LABELS = {
    "accounts:read": _l("Read accounts"), "accounts:write": _l("Create and change accounts"),
    "plans:read": _l("Read plans"), "plans:write": _l("Import plans"),
    "quotes": _l("Quote plans"), "usage:write": _l("Send usage records"),
    "invoices:read": _l("Read invoices and their documents"),
    "subscriptions:read": _l("Read subscriptions"),
    "realms:read": _l("Read realms (provider only)"),
    "wholesale:read": _l("Read wholesale totals of the realms below"),
    "payments:read": _l("Read payments and credit balances"),
    "payments:write": _l("Record and refund payments"),
    "vouchers:read": _l("Read voucher batches"),
    "vouchers:write": _l("Generate and redeem vouchers"),
    "provisioning:read": _l("Read provisioning operations and tasks"),
    "provisioning:write": _l("Restart operations, assign and close tasks"),
    "events:read": _l("Read events, event actions and webhook deliveries"),
    "events:write": _l("Create and delete webhook actions"),
    "reports:read": _l("Read reports"),
}


def _page(values, errors, created=None, status=200):
    html = render("console/api_keys.html", keys=list_api_keys(), values=values, errors=errors,
                  created=created, scopes=[(s, str(SCOPE_LABELS.get(s, s))) for s in API_SCOPES])
    response = make_response(html, status)
    if created is not None:
        response.headers["Cache-Control"] = "no-store"  # the key is shown once; keep it out of caches
    return response


@bp.route("/api-keys")
@staff_required("manage_realm")
def api_keys():
    return _page({"scopes": []}, {})


@bp.route("/api-keys", methods=["POST"])
@staff_required("manage_realm")
def create_api_key_view():
    values = {"name": request.form.get("name", ""), "scopes": request.form.getlist("scopes")}
    try:
        created = create_api_key(name=values["name"], scopes=values["scopes"],
                                 created_by=getattr(current_user, "email", None))
    except Invalid as exc:
        return _page(values, field_messages(exc), status=422)
    return _page({"scopes": []}, {}, created=created, status=201)


@bp.route("/api-keys/<int:key_id>/revoke", methods=["POST"])
@staff_required("manage_realm")
def revoke_api_key_view(key_id: int):
    revoke_api_key(key_id)
    return navigate(url_for("console.api_keys"))
