"""Richer invoices: Factur-X (EN 16931) validated against the schema, the usage chart and
the realm's message block with validity dates."""

from __future__ import annotations

import io
from datetime import date

import pytest
from facturx import get_facturx_xml_from_pdf, xml_check_xsd
from lxml import etree
from pypdf import PdfReader
from sqlalchemy import select

from app.models import Invoice
from app.services.documents.einvoice import NS, invoice_xml
from app.services.documents.invoices import invoice_document, usage_by_day
from app.services.documents.settings import update_invoice_design
from app.services.errors import Invalid, NotAllowed
from tenants import realm_context

from .conftest import bill
from .test_pdf import pdf_text


def _design(realm, **changes):
    values = dict(show_usage_chart=False, message_enabled=False, message_text=None, message_valid_from=None,
                  message_valid_until=None, einvoicing=False, automatic_delivery=True)
    values.update(changes)
    with realm_context(realm.id):
        return update_invoice_design(**values)


def test_facturx_xml_is_embedded_and_validates(db, realm_a, jb_subscriber):
    realm_a.seller_tax_id = "DE123456789"
    _design(realm_a, einvoicing=True)
    db.session.commit()
    bill(db, realm_a)
    with realm_context(realm_a.id):
        invoice = db.session.scalar(select(Invoice))
        pdf = invoice_document(invoice.id).content
        alone = invoice_xml(invoice.id)
    filename, xml = get_facturx_xml_from_pdf(io.BytesIO(pdf), check_xsd=False)
    assert filename == "factur-x.xml"
    assert xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
    assert xml_check_xsd(alone, flavor="factur-x", level="en16931") is True
    tree = etree.fromstring(xml)
    path = ("rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/"
            "ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:GrandTotalAmount")
    assert tree.findtext(path, namespaces=NS) == "25.00"
    assert tree.findtext("rsm:ExchangedDocument/ram:ID", namespaces=NS) == "INV-000001"
    lines = tree.findall("rsm:SupplyChainTradeTransaction/ram:IncludedSupplyChainTradeLineItem", NS)
    assert len(lines) == 2
    assert "25.00" in pdf_text(pdf)  # still the same readable invoice


def test_xml_of_a_draft_is_refused(db, realm_a, jb_subscriber):
    from app.models import Account

    with realm_context(realm_a.id):
        account = db.session.scalar(select(Account))
        draft = Invoice(account_id=account.id, currency="USD", status="draft")
        db.session.add(draft)
        db.session.flush()
        with pytest.raises(NotAllowed):
            invoice_xml(draft.id)


def test_usage_chart_and_message_block(db, realm_a, jb_subscriber):
    _design(realm_a, show_usage_chart=True, message_enabled=True, message_text="Fibre is coming to your street!",
            message_valid_from=date(2026, 10, 1), message_valid_until=date(2026, 12, 31))
    db.session.commit()
    bill(db, realm_a)
    with realm_context(realm_a.id):
        invoice = db.session.scalar(select(Invoice))
        series = usage_by_day(invoice, realm_a.timezone)
        pdf = invoice_document(invoice.id).content
    days = dict(series["minute"])
    assert len(days) == 31 and days[date(2026, 10, 5)] == 60 and days[date(2026, 10, 20)] == 40
    assert sum(days.values()) == 100
    text = pdf_text(pdf)
    assert "Fibre is coming to your street!" in text and "Your usage this period" in text
    images = [img for page in PdfReader(io.BytesIO(pdf)).pages for img in page.images]
    assert images  # the chart is a picture drawn on the server


def test_message_outside_its_dates_is_not_printed(db, realm_a, jb_subscriber):
    _design(realm_a, message_enabled=True, message_text="Old offer", message_valid_from=date(2025, 1, 1),
            message_valid_until=date(2025, 12, 31))
    db.session.commit()
    bill(db, realm_a)
    with realm_context(realm_a.id):
        text = pdf_text(invoice_document(db.session.scalar(select(Invoice.id))).content)
    assert "Old offer" not in text and "Your usage this period" not in text


def test_bad_design_is_refused_whole(db, realm_a):
    with pytest.raises(Invalid) as info:
        _design(realm_a, message_enabled=True, message_text="", message_valid_from=date(2026, 2, 1),
                message_valid_until=date(2026, 1, 1), einvoicing=True)
    assert info.value.errors == {"message_valid_until": ["before_start"], "message_text": ["required"]}
    db.session.rollback()
    from app.models.document import DocumentSettings

    with realm_context(realm_a.id):
        assert db.session.scalar(select(DocumentSettings)) is None


def _taxed_invoice(db, realm, account_id, tax_line=None, **fields):
    from datetime import UTC, datetime
    from decimal import Decimal as D

    from app.models import InvoiceLine

    with realm_context(realm.id):
        invoice = Invoice(account_id=account_id, kind=fields.pop("kind", "invoice"), status="finalized",
                          number=fields.pop("number"),
                          currency="EUR", issue_date=date(2026, 11, 1), due_date=date(2026, 11, 15),
                          period_start=date(2026, 10, 1), period_end=date(2026, 11, 1),
                          finalized_at=datetime.now(UTC), seller_tax_id="DE123456789", **fields)
        invoice.lines = [
            InvoiceLine(position=1, kind="fee", description="Monthly fee", quantity=D(1), unit_price=D("20.00"),
                        amount=D("20.00")),
            InvoiceLine(position=2, kind="usage", description="band 1 (all minute): 100 minute x 0.05 = 5.00",
                        quantity=D(100), unit="minute", unit_price=D("0.05"), amount=D("5.00")),
        ]
        if tax_line is not None:
            invoice.lines.append(InvoiceLine(position=3, kind="tax", description="VAT 19% of 25.00",
                                             amount=tax_line))
        if invoice.kind == "credit_note":
            for line in invoice.lines:
                line.amount = -line.amount
        db.session.add(invoice)
        db.session.commit()
        return invoice.id


def test_taxes_and_reverse_charge_on_pdf_and_xml(db, realm_a, create_account):
    from decimal import Decimal as D

    account_id = create_account(realm_a, "taxed", name="Taxed GmbH").id
    net_id = _taxed_invoice(db, realm_a, account_id, number="T-1", subtotal=D("25.00"), tax_rate=D("19"),
                            tax_total=D("4.75"), total=D("29.75"), tax_line=D("4.75"))
    note_id = _taxed_invoice(db, realm_a, account_id, number="CN-1", kind="credit_note", subtotal=D("-25.00"),
                             tax_rate=D("19"), tax_total=D("-4.75"), total=D("-29.75"), tax_line=D("4.75"))
    gross_id = _taxed_invoice(db, realm_a, account_id, number="T-2", subtotal=D("25.00"), tax_rate=D("19"),
                              tax_total=D("3.99"), total=D("25.00"), prices_include_tax=True)
    rc_id = _taxed_invoice(db, realm_a, account_id, number="T-3", subtotal=D("25.00"), tax_total=D(0),
                           total=D("25.00"), reverse_charge=True)
    with realm_context(realm_a.id):
        text = pdf_text(invoice_document(net_id).content)
        assert "Tax (19 %)" in text and "4.75 EUR" in text and "29.75 EUR" in text
        assert "VAT 19% of 25.00" not in text  # the tax line is the tax row under the subtotal
        assert "Credit note CN-1" in pdf_text(invoice_document(note_id).content)
        assert "Prices include 3.99 EUR tax." in pdf_text(invoice_document(gross_id).content)
        assert "Reverse charge" in pdf_text(invoice_document(rc_id).content)
        cases = ((net_id, "29.75", "S"), (gross_id, "25.00", "S"), (rc_id, "25.00", "AE"), (note_id, "29.75", "S"))
        for invoice_id, grand, category in cases:
            xml = invoice_xml(invoice_id)
            assert xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
            tree = etree.fromstring(xml)
            settlement = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/"
            assert tree.findtext(settlement + "ram:SpecifiedTradeSettlementHeaderMonetarySummation/"
                                 "ram:GrandTotalAmount", namespaces=NS) == grand
            assert tree.findtext(settlement + "ram:ApplicableTradeTax/ram:CategoryCode", namespaces=NS) == category
            line_totals = [D(t.text) for t in tree.iterfind(
                ".//ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount", NS)]
            basis = D(tree.findtext(settlement + "ram:ApplicableTradeTax/ram:BasisAmount", namespaces=NS))
            assert sum(line_totals) == basis  # lines sum exactly to the net total
            assert len(line_totals) == 2 and all(t > 0 for t in line_totals)
