"""Console: invoice design with live preview, the print queue, invoice PDF downloads."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.models import Invoice
from app.models.document import DocumentSettings
from tenants import realm_context

from .conftest import bill
from .test_pdf import pdf_text


def _client(realm_client, realm):
    client = realm_client(realm)
    client.login_staff(f"owner@{realm.slug}.example")
    return client


def test_design_page_saves_switches_and_previews_live(db, realm_a, realm_client):
    client = _client(realm_client, realm_a)
    page = client.get("/console/invoice-design")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'hx-post="/console/invoice-design/preview"' in html and "<iframe" in html
    # live preview of unsaved values: a fragment pointing at a PDF of the sample invoice
    fragment = client.post("/console/invoice-design/preview", {
        "show_usage_chart": "1", "message_enabled": "1", "message_text": "Summer deal: 50% off",
    }, htmx=True)
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    src = re.search(r'<iframe class="pdf-preview" src="([^"]+)"', fragment.get_data(as_text=True)).group(1)
    pdf = client.get(src.replace("&amp;", "&"))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.headers["X-Frame-Options"] == "SAMEORIGIN"
    text = pdf_text(pdf.get_data())
    assert "Summer deal: 50% off" in text and "25.00" in text and "Sample Customer" in text
    with realm_context(realm_a.id):
        assert db.session.scalar(select(DocumentSettings)) is None  # previews write nothing
    saved = client.post("/console/invoice-design", {
        "automatic_delivery": "1", "einvoicing": "1", "message_enabled": "1", "message_text": "Hi",
        "message_valid_from": "2026-01-01", "message_valid_until": "2026-12-31",
    })
    assert saved.status_code == 303
    with realm_context(realm_a.id):
        settings = db.session.scalar(select(DocumentSettings))
        assert (settings.einvoicing, settings.message_text, settings.show_usage_chart) == (True, "Hi", False)


def test_design_errors_are_shown_and_nothing_saved(db, realm_a, realm_client):
    client = _client(realm_client, realm_a)
    response = client.post("/console/invoice-design", {
        "message_enabled": "1", "message_valid_from": "2026-05-01", "message_valid_until": "2026-04-01"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The end must not be before the start." in html and "This field is required." in html
    with realm_context(realm_a.id):
        assert db.session.scalar(select(DocumentSettings)) is None


def test_print_queue_lists_and_marks_printed(db, realm_a, realm_client, jb_subscriber):
    realm_a.email_invoices = False
    db.session.commit()
    bill(db, realm_a)
    client = _client(realm_client, realm_a)
    html = client.get("/console/invoices/print").get_data(as_text=True)
    assert "INV-000001" in html
    with realm_context(realm_a.id):
        invoice_id = db.session.scalar(select(Invoice.id))
    pdf = client.get(f"/console/invoices/{invoice_id}/pdf")
    assert pdf.mimetype == "application/pdf" and "25.00" in pdf_text(pdf.get_data())
    assert client.post("/console/invoices/print", {"invoice_id": str(invoice_id)}).status_code == 303
    assert "INV-000001" not in client.get("/console/invoices/print").get_data(as_text=True)


def test_other_realms_invoice_pdf_is_a_404(db, realm_a, realm_b, realm_client, jb_subscriber):
    bill(db, realm_a)
    with realm_context(realm_a.id):
        invoice_id = db.session.scalar(select(Invoice.id))
    client = _client(realm_client, realm_b)
    assert client.get(f"/console/invoices/{invoice_id}/pdf").status_code == 404
    assert client.get(f"/console/invoices/{invoice_id}/facturx.xml").status_code == 404


def test_mail_settings_page_stores_the_password_encrypted_and_sends_a_test(
        db, app, realm_a, realm_client, smtps_server):
    client = _client(realm_client, realm_a)
    assert client.get("/console/mail-settings").status_code == 200
    bad = client.post("/console/mail-settings", {"smtp_host": "localhost", "smtp_port": "99999",
                                                  "smtp_security": "starttls"})
    assert bad.status_code == 422
    saved = client.post("/console/mail-settings", {
        "smtp_host": "localhost", "smtp_port": str(smtps_server.port), "smtp_security": "starttls",
        "smtp_user": "mailer", "smtp_password": "mail-secret", "mail_from": "Alpha <billing@alpha.example>"})
    assert saved.status_code == 303
    page = client.get("/console/mail-settings").get_data(as_text=True)
    assert "mail-secret" not in page and "leave empty to keep it" in page
    with realm_context(realm_a.id):
        stored = db.session.scalar(select(DocumentSettings))
        assert stored.smtp_password_enc and "mail-secret" not in stored.smtp_password_enc
    smtps_server.clear()
    saved_ca = app.config.get("MAIL_CA_FILE")
    app.config["MAIL_CA_FILE"] = smtps_server.ca_file
    try:
        assert client.post("/console/mail-settings/test").status_code == 303
    finally:
        app.config["MAIL_CA_FILE"] = saved_ca
    [msg] = smtps_server.messages
    assert msg.rcpt_tos == ["owner@alpha.example"] and msg.mail_from == "billing@alpha.example"
