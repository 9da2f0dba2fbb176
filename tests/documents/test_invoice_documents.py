"""Invoice PDFs: the jBilling walk-through e-mailed through a real SMTP server, stored once,
automatic delivery switch and the print list, per-theme templates, Factur-X."""

from __future__ import annotations

import hashlib
import io

from pypdf import PdfReader
from sqlalchemy import func, select

from app.models import Invoice
from app.models.document import Document, MailMessage
from app.services.documents.invoices import invoice_document, invoices_awaiting_print, mark_printed
from tenants import realm_context

from .conftest import bill
from .test_pdf import pdf_text


def _invoice(db, realm):
    with realm_context(realm.id):
        return db.session.scalar(select(Invoice))


def test_jbilling_invoice_is_emailed_with_its_pdf(db, realm_a, jb_subscriber, mail_to_smtp_server):
    bill(db, realm_a)
    [msg] = mail_to_smtp_server.messages
    assert msg.rcpt_tos == ["jb@customer.example"]
    assert "INV-000001" in msg["Subject"] and "Alpha Net" in msg["Subject"]
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "INV-000001.pdf"
    pdf = attachment.get_content()
    text = pdf_text(pdf)
    assert "25.00" in text and "Jay Bee" in text and "INV-000001" in text
    assert "band 1 (all minute): 100 minute x 0.05 = 5.00" in text
    with realm_context(realm_a.id):
        document = db.session.scalar(select(Document))
        invoice = db.session.scalar(select(Invoice))
        # the mail carries exactly the stored document, whose hash is recorded on the invoice
        assert document.content == pdf and document.sha256 == hashlib.sha256(pdf).hexdigest()
        assert invoice.pdf_sha256 == document.sha256


def test_stored_once_and_never_rerendered(db, realm_a, jb_subscriber):
    bill(db, realm_a)
    invoice = _invoice(db, realm_a)
    with realm_context(realm_a.id):
        first = invoice_document(invoice.id)
        sha, content = first.sha256, first.content
        realm_a.primary_colour = "#aa0000"  # a later branding change does not touch issued PDFs
        db.session.commit()
        again = invoice_document(invoice.id)
        assert (again.id, again.sha256, again.content) == (first.id, sha, content)
        assert db.session.scalar(select(func.count()).select_from(Document)) == 1


def test_automatic_delivery_off_means_print_and_post(db, realm_a, jb_subscriber, mail_to_smtp_server):
    realm_a.email_invoices = False
    db.session.commit()
    bill(db, realm_a)
    assert mail_to_smtp_server.messages == []
    assert db.session.scalar(select(func.count()).select_from(MailMessage).where(
        MailMessage.dedupe_key.like("%-invoice-%"))) == 0
    with realm_context(realm_a.id):
        [(invoice, document)] = invoices_awaiting_print()
        assert invoice.number == "INV-000001" and document is not None
        assert mark_printed([invoice.id]) == 1
        db.session.commit()
        assert invoices_awaiting_print() == []
        assert mark_printed([invoice.id]) == 0


def test_each_realm_renders_in_its_theme(db, realm_b, create_account, jb_subscriber):
    from datetime import date

    from app.models import Subscription
    from app.services.plans import save_plan, spec_from_mapping

    from .conftest import DIALUP

    account_id = create_account(realm_b, "night", email=None, name="Night Owl").id
    with realm_context(realm_b.id):
        plan = save_plan(spec_from_mapping(DIALUP, source="test"), effective_from=date(2026, 1, 1))
        db.session.add(Subscription(account_id=account_id, plan_version_id=plan.latest_version.id,
                                    status="active", starts_on=date(2026, 10, 1)))
        db.session.commit()
    bill(db, realm_b)
    with realm_context(realm_b.id):
        text = pdf_text(invoice_document(_invoice(db, realm_b).id).content)
    assert "BRAVO NET" in text and "20.00" in text  # midnight's header, default's body


def test_pdf_is_a_real_pdf(db, realm_a, jb_subscriber):
    bill(db, realm_a)
    with realm_context(realm_a.id):
        content = invoice_document(_invoice(db, realm_a).id).content
    assert len(PdfReader(io.BytesIO(content)).pages) == 1
