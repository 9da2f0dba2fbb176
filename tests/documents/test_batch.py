"""Batch rendering: many invoices in one pass, cut into one PDF each, same text as singles."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.models import Invoice, Subscription
from app.models.document import Document
from app.services.documents.invoices import render_invoice_pdf, render_invoices
from app.services.plans import save_plan, spec_from_mapping
from tenants import realm_context

from .conftest import DIALUP, bill
from .test_pdf import pdf_text


def test_batch_render_matches_single_renders(db, realm_a, create_account, app):
    ids = [create_account(realm_a, f"b{i}", name=f"Batch Person {i}").id for i in range(4)]
    with realm_context(realm_a.id):
        plan = save_plan(spec_from_mapping(DIALUP, source="test"), effective_from=date(2026, 1, 1))
        for account_id in ids:
            db.session.add(Subscription(account_id=account_id, plan_version_id=plan.latest_version.id,
                                        status="active", starts_on=date(2026, 10, 1)))
        db.session.commit()
    bill(db, realm_a)  # renders through the documents job (the batch path)
    with realm_context(realm_a.id):
        invoices = db.session.scalars(select(Invoice).order_by(Invoice.id)).all()
        documents = {d.invoice_id: d for d in db.session.scalars(select(Document))}
        assert sorted(documents) == [i.id for i in invoices]
        for invoice in invoices:
            text = pdf_text(documents[invoice.id].content)
            assert invoice.account.name in text and invoice.number in text and "20.00" in text
            others = [i.number for i in invoices if i.id != invoice.id]
            assert not any(number in text for number in others)
            assert text == pdf_text(render_invoice_pdf(invoice, realm=realm_a))
        assert render_invoices([i.id for i in invoices]) == 0  # stored once, nothing re-rendered
