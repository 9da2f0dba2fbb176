"""Provider console: the realms (VISPs) of this installation."""

from __future__ import annotations

from flask import Blueprint, request, url_for

from app.services.errors import Invalid
from app.services.realms import KNOWN_THEMES, SUPPORTED_CURRENCIES, create_realm, list_realms

from ..access import provider_required
from ..errors import field_messages
from ..forms import optional_text, text
from ..htmx import navigate
from ..rendering import render

bp = Blueprint("provider", __name__, url_prefix="/provider")


def _form_page(values, errors, status):
    return render(
        "provider/realm_form.html", fragment="provider/_realm_form.html",
        values=values, errors=errors, realms=list_realms(), themes=KNOWN_THEMES,
        currencies=SUPPORTED_CURRENCIES,
    ), status


@bp.route("/")
@provider_required
def realms():
    return render("provider/realms.html", realms=list_realms())


@bp.route("/realms/new", methods=["GET", "POST"])
@provider_required
def new_realm():
    if request.method == "GET":
        return _form_page({"currency": "USD", "locale": "en", "timezone": "UTC"}, {}, 200)
    values = request.form.to_dict()
    try:
        create_realm(
            slug=text("slug"), name=text("name"), parent_slug=optional_text("parent"),
            currency=text("currency"), locale=text("locale"), timezone=text("timezone"),
            domains=text("domains").replace(",", " ").split(), theme=text("theme") or "default",
            owner={"email": text("owner_email"), "name": text("owner_name"),
                   "password": request.form.get("owner_password", "")},
        )
    except Invalid as exc:
        return _form_page(values, field_messages(exc), 422)
    return navigate(url_for("provider.realms"))


from . import reports as _reports  # noqa: E402,F401 - registers the cross-realm reports on bp
from . import wholesale as _wholesale  # noqa: E402,F401 - registers the wholesale pages on bp
