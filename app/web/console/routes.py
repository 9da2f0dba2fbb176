"""Realm console: the realm's staff manage accounts, plans and branding."""

from __future__ import annotations

from flask import Blueprint, g, request, url_for
from flask_login import current_user

from app.services.accounts import (
    create_account,
    get_account,
    list_accounts,
    list_cost_centres,
    update_account,
)
from app.services.errors import Invalid
from app.services.realms import KNOWN_THEMES, update_branding

from ..access import staff_required
from ..charts import bar_chart
from ..errors import field_messages
from ..forms import optional_int, optional_text, text
from ..htmx import add_vary, navigate
from ..rendering import render

bp = Blueprint("console", __name__, url_prefix="/console")


@bp.route("/")
@staff_required()
def home():
    from app.services.reports.pins import pinned_reports

    pinned = pinned_reports() if current_user.can("finance") else []
    return render("console/home.html", pinned=[(d, r, bar_chart(r.chart()) if r else None) for d, r in pinned])


@bp.route("/accounts")
@staff_required()
def accounts():
    search = request.args.get("q", "").strip()
    html = render(
        "console/accounts.html", fragment="console/_account_rows.html",
        accounts=list_accounts(search=search), q=search,
    )
    return add_vary(_response(html))


def _response(html, status=200):
    from flask import make_response

    return make_response(html, status)


def _account_form(account, values, errors, status=200):
    return render(
        "console/account_form.html", fragment="console/_account_form.html",
        account=account, values=values, errors=errors, cost_centres=list_cost_centres(),
    ), status


@bp.route("/accounts/new", methods=["GET", "POST"])
@staff_required("manage_accounts")
def new_account():
    if request.method == "GET":
        return _account_form(None, {"status": "active"}, {})
    try:
        create_account(
            username=text("username"), name=text("name"), email=optional_text("email"),
            password=request.form.get("password") or None, phone=optional_text("phone"),
            address=optional_text("address"), cost_centre_id=optional_int("cost_centre_id"),
            status=text("status") or "active",
        )
    except Invalid as exc:
        return _account_form(None, request.form.to_dict(), field_messages(exc), 422)
    return navigate(url_for("console.accounts"))


@bp.route("/accounts/<int:account_id>", methods=["GET", "POST"])
@staff_required("manage_accounts")
def edit_account(account_id: int):
    account = get_account(account_id)
    if request.method == "GET":
        values = {
            "name": account.name, "email": account.email or "", "phone": account.phone or "",
            "address": account.address or "", "status": account.status,
            "cost_centre_id": str(account.cost_centre_id or ""),
        }
        return _account_form(account, values, {})
    try:
        update_account(
            account_id, name=text("name"), email=optional_text("email"),
            phone=optional_text("phone"), address=optional_text("address"),
            cost_centre_id=optional_int("cost_centre_id"), status=text("status"),
        )
    except Invalid as exc:
        return _account_form(account, request.form.to_dict(), field_messages(exc), 422)
    return navigate(url_for("console.accounts"))


@bp.route("/branding", methods=["GET", "POST"])
@staff_required("manage_realm")
def branding():
    realm = g.realm
    values = {
        "theme": realm.theme, "primary_colour": realm.primary_colour,
        "secondary_colour": realm.secondary_colour, "watermark": realm.watermark or "",
    }
    errors = {}
    status = 200
    if request.method == "POST":
        values = request.form.to_dict()
        upload = request.files.get("logo")
        logo = upload.read() if upload and upload.filename else None
        try:
            update_branding(
                realm, theme=text("theme"), primary_colour=text("primary_colour"),
                secondary_colour=text("secondary_colour"), watermark=optional_text("watermark"),
                logo=logo, logo_mime=upload.mimetype if logo is not None else None,
                remove_logo=bool(request.form.get("remove_logo")),
            )
            return navigate(url_for("console.branding", saved=1))
        except Invalid as exc:
            errors, status = field_messages(exc), 422
    return render(
        "console/branding.html", values=values, errors=errors, themes=KNOWN_THEMES,
        saved=request.args.get("saved"),
    ), status


@bp.route("/branding/preview", methods=["POST"])
@staff_required("manage_realm")
def branding_preview():
    """Live preview fragment: an invoice header in the colours being edited."""
    values = request.form.to_dict()
    return render("console/_branding_preview.html", values=values)


from . import api_keys as _api_keys  # noqa: E402,F401 - registers the API key pages on bp
from . import audit as _audit  # noqa: E402,F401 - registers the audit log pages on bp
from . import billing as _billing  # noqa: E402,F401 - registers the billing pages on bp
from . import collections as _collections  # noqa: E402,F401 - registers the collections pages on bp
from . import documents as _documents  # noqa: E402,F401 - registers the invoice design and print pages on bp
from . import enforcement as _enforcement  # noqa: E402,F401 - registers the quota enforcement pages on bp
from . import payments as _payments  # noqa: E402,F401 - registers the payment pages on bp
from . import plans as _plans  # noqa: E402,F401 - registers the plan pages on bp
from . import provisioning as _provisioning  # noqa: E402,F401 - registers the provisioning pages on bp
from . import reports as _reports  # noqa: E402,F401 - registers the reports pages on bp
from . import subscriptions as _subscriptions  # noqa: E402,F401 - registers the subscription pages on bp
from . import taxes as _taxes  # noqa: E402,F401 - registers the tax and discount pages on bp
from . import usage as _usage  # noqa: E402,F401 - registers the usage pages on bp
from . import vouchers as _vouchers  # noqa: E402,F401 - registers the voucher pages on bp
