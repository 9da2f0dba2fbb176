"""Realm console: invoice design (with a live PDF preview), print queue, invoice PDFs."""

from __future__ import annotations

from datetime import date

from flask import Response, abort, g, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from app.models.document import DocumentSettings
from app.services.documents.einvoice import invoice_xml
from app.services.documents.invoices import (
    invoice_filename,
    invoice_pdf_bytes,
    invoices_awaiting_print,
    mark_printed,
    preview_invoice_pdf,
)
from app.services.documents.settings import peek_document_settings, update_invoice_design
from app.services.errors import Invalid, NotAllowed, NotFound

from ..access import staff_required
from ..errors import ERROR_TEXT
from ..htmx import add_vary, navigate
from ..rendering import render
from .routes import bp

EXTRA_ERRORS = {"before_start": _l("The end must not be before the start."),
                "not_a_date": _l("Enter a date like 2026-12-31.")}
SWITCHES = ("show_usage_chart", "message_enabled", "einvoicing", "automatic_delivery")


def _date(form: MultiDict, name: str, errors: dict) -> date | None:
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.setdefault(name, []).append("not_a_date")
        return None


def _design_from(form: MultiDict) -> tuple[dict, dict]:
    errors: dict[str, list[str]] = {}
    values = {
        "show_usage_chart": form.get("show_usage_chart") == "1",
        "message_enabled": form.get("message_enabled") == "1",
        "message_text": (form.get("message_text") or "").strip() or None,
        "message_valid_from": _date(form, "message_valid_from", errors),
        "message_valid_until": _date(form, "message_valid_until", errors),
        "einvoicing": form.get("einvoicing") == "1",
        "automatic_delivery": form.get("automatic_delivery") == "1",
    }
    return values, errors


def _messages(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    return {field: [str(EXTRA_ERRORS.get(code) or ERROR_TEXT.get(code, code)) for code in codes]
            for field, codes in errors.items()}


def _form_values(settings: DocumentSettings) -> dict:
    return {
        "show_usage_chart": settings.show_usage_chart, "message_enabled": settings.message_enabled,
        "message_text": settings.message_text or "",
        "message_valid_from": settings.message_valid_from.isoformat() if settings.message_valid_from else "",
        "message_valid_until": settings.message_valid_until.isoformat() if settings.message_valid_until else "",
        "einvoicing": settings.einvoicing, "automatic_delivery": g.realm.email_invoices,
    }


def _preview_query(form: MultiDict) -> dict:
    query = {k: "1" for k in SWITCHES if form.get(k) == "1"}
    for name in ("message_text", "message_valid_from", "message_valid_until"):
        if form.get(name):
            query[name] = form.get(name)[:2000]
    return query


@bp.route("/invoice-design", methods=["GET", "POST"])
@staff_required("manage_realm")
def invoice_design():
    settings = peek_document_settings()
    values, errors, status = _form_values(settings), {}, 200
    if request.method == "POST":
        design, errors = _design_from(request.form)
        upload = request.files.get("message_image")
        image = (upload.read(), upload.mimetype) if upload and upload.filename else None
        if not errors:
            try:
                update_invoice_design(**design, message_image=image,
                                      remove_image=bool(request.form.get("remove_image")))
                return navigate(url_for("console.invoice_design", saved=1))
            except Invalid as exc:
                errors = exc.errors
        values = {**request.form.to_dict(), **{k: request.form.get(k) == "1" for k in SWITCHES}}
        status = 422
    preview_url = url_for("console.invoice_design_pdf", **_preview_query(MultiDict(
        {k: ("1" if v is True else v) for k, v in values.items() if v not in (False, None)})))
    return render("console/invoice_design.html", values=values, errors=_messages(errors),
                  settings=settings, preview_url=preview_url, saved=request.args.get("saved")), status


@bp.route("/invoice-design/preview", methods=["POST"])
@staff_required("manage_realm")
def invoice_design_preview():
    """The live preview fragment for the form's current (unsaved) values."""
    design, errors = _design_from(request.form)
    preview_url = url_for("console.invoice_design_pdf", **_preview_query(request.form))
    return add_vary(Response(render("console/_invoice_design_preview.html", preview_url=preview_url,
                                    values=design, errors=_messages(errors))))


@bp.route("/invoice-design/preview.pdf")
@staff_required("manage_realm")
def invoice_design_pdf():
    design, errors = _design_from(request.args)
    if errors:
        abort(400)
    stored = peek_document_settings()
    settings = DocumentSettings(
        show_usage_chart=design["show_usage_chart"], message_enabled=design["message_enabled"],
        message_text=design["message_text"], message_valid_from=design["message_valid_from"],
        message_valid_until=design["message_valid_until"], einvoicing=design["einvoicing"],
        message_image=stored.message_image, message_image_mime=stored.message_image_mime)
    return _pdf_response(preview_invoice_pdf(settings), "preview.pdf", frame=True)


def _pdf_response(content: bytes, filename: str, *, frame: bool = False) -> Response:
    response = Response(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    if frame:
        # Shown inside the console's preview frame (same origin only); nothing else may frame it.
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        response.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'self'"
    return response


@bp.route("/invoices/<int:invoice_id>/pdf")
@staff_required()
def invoice_pdf(invoice_id: int):
    from app.services.billing.queries import get_invoice

    invoice = get_invoice(invoice_id)
    return _pdf_response(invoice_pdf_bytes(invoice.id), invoice_filename(invoice))


@bp.route("/invoices/<int:invoice_id>/facturx.xml")
@staff_required()
def invoice_facturx(invoice_id: int):
    try:
        xml = invoice_xml(invoice_id)
    except NotAllowed:
        abort(409)
    except NotFound:
        abort(404)
    response = Response(xml, mimetype="application/xml")
    response.headers["Content-Disposition"] = f'attachment; filename="invoice-{invoice_id}-factur-x.xml"'
    return response


@bp.route("/invoices/print", methods=["GET", "POST"])
@staff_required("finance")
def print_queue():
    """Invoices to print and post; staff tick the ones printed."""
    if request.method == "POST":
        ids = [int(v) for v in request.form.getlist("invoice_id") if v.isdigit()]
        count = mark_printed(ids) if ids else 0
        return navigate(url_for("console.print_queue", printed=count))
    return render("console/print_queue.html", rows=invoices_awaiting_print(),
                  printed=request.args.get("printed"))


# ------------------------------------------------------------------ outgoing mail
def _mail_values(settings: DocumentSettings) -> dict:
    return {"smtp_host": settings.smtp_host or "", "smtp_port": settings.smtp_port or "",
            "smtp_security": settings.smtp_security or "starttls", "smtp_user": settings.smtp_user or "",
            "mail_from": settings.mail_from or ""}


@bp.route("/mail-settings", methods=["GET", "POST"])
@staff_required("manage_realm")
def mail_settings():
    """The realm's own SMTP server (empty host: the platform's); the password is never shown."""
    from app.services.mail import set_smtp_settings

    settings = peek_document_settings()
    values, errors, status = _mail_values(settings), {}, 200
    if request.method == "POST":
        values = request.form.to_dict()
        port_text = (request.form.get("smtp_port") or "").strip()
        port = int(port_text) if port_text.isdigit() else None
        if port_text and port is None:
            errors = {"smtp_port": ["invalid"]}
        else:
            try:
                set_smtp_settings(host=request.form.get("smtp_host"), port=port,
                                  security=request.form.get("smtp_security", "starttls"),
                                  user=request.form.get("smtp_user"),
                                  password=request.form.get("smtp_password") or None,
                                  mail_from=request.form.get("mail_from"),
                                  keep_password=not request.form.get("remove_password"))
                return navigate(url_for("console.mail_settings", saved=1))
            except Invalid as exc:
                errors = exc.errors
        status = 422
    security_options = [("starttls", _l("STARTTLS")), ("ssl", _l("TLS (implicit)")), ("none", _l("None (local relay only)"))]
    return render("console/mail_settings.html", values=values, errors=_messages(errors),
                  has_password=bool(settings.smtp_password_enc), security_options=security_options,
                  saved=request.args.get("saved"), sent=request.args.get("sent")), status


@bp.route("/mail-settings/test", methods=["POST"])
@staff_required("manage_realm")
def mail_settings_test():
    """Send a test message to the signed-in staff member (delivered after this request)."""
    from flask_babel import gettext as _
    from flask_login import current_user

    from app.services.mail import send_mail

    send_mail(to=current_user.email, subject=_("Test message from %(realm)s", realm=g.realm.name),
              text=_("This is a test of the outgoing mail settings of %(realm)s.", realm=g.realm.name),
              realm=g.realm.id)
    return navigate(url_for("console.mail_settings", sent=1))
